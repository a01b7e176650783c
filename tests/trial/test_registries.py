"""Apps declare what they contribute to the engine's registries in one place, and a missing module is loud.

Every domain app config is a `trial.apps.StudyAppConfig` whose `contributes` names its modules (entry checks,
page forms, API, patient-page panels, demo steps, schedule...). They are imported once at start-up; a declared
module that does not exist stops start-up and is reported by system check trial.E007.
"""

import sys
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from trial.apps import StudyAppConfig, contribution_modules, import_contributions
from trial.checks import check_contribution_modules, check_contributions

DOMAIN_APPS = ["patients", "treatment", "transplant"]


@pytest.mark.parametrize("label", DOMAIN_APPS)
def test_every_domain_app_declares_its_contributions(label):
    config = apps.get_app_config(label)
    assert isinstance(config, StudyAppConfig)
    assert type(config).default is True  # Django picked the app's own config, not the base class
    assert all(name in sys.modules for name in contribution_modules(config))


def test_the_base_class_is_never_an_apps_config_by_itself():
    assert StudyAppConfig.default is False


def test_the_declared_contributions_pass_the_check():
    assert check_contributions() == []


def test_registries_are_filled_at_start_up_without_urls_or_demo_loading():
    from patients.models import Baseline, Registration
    from trial.api import CrfViewSet, viewset_for
    from trial.demo import demo_steps
    from trial.forms import CrfForm, form_class_for, generic_form_class

    form = form_class_for(Baseline)
    assert issubclass(form, CrfForm) and form.__module__ == "patients.forms"
    assert form is not generic_form_class(Baseline)
    assert viewset_for(Registration).__module__ == "patients.api" and issubclass(viewset_for(Registration), CrfViewSet)
    assert {"enrolled", "treated"} <= {name for name, _step in demo_steps()}


@pytest.fixture
def fake_app(tmp_path, monkeypatch):
    """A package `fakeapp` with a contribution module that imports something missing and one never imported."""
    package = tmp_path / "fakeapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "broken.py").write_text("import fakeapp_no_such_dependency  # noqa: F401\n")
    (package / "present.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda *contributes: SimpleNamespace(name="fakeapp", label="fakeapp", contributes=contributes)
    for name in [name for name in sys.modules if name == "fakeapp" or name.startswith("fakeapp.")]:
        del sys.modules[name]


def test_a_declared_module_that_does_not_exist_is_reported(fake_app):
    errors = check_contribution_modules([fake_app("missing")])
    assert [e.id for e in errors] == ["trial.E007"]
    assert "'fakeapp.missing', which does not exist" in errors[0].msg


def test_a_declared_module_that_does_not_exist_stops_start_up(fake_app):
    with pytest.raises(ImproperlyConfigured, match=r"fakeapp\.missing.*trial\.E007"):
        import_contributions(fake_app("missing"))


def test_an_import_error_inside_a_declared_module_is_not_swallowed(fake_app):
    with pytest.raises(ModuleNotFoundError) as failed:
        import_contributions(fake_app("present", "broken"))
    assert failed.value.name == "fakeapp_no_such_dependency"


def test_a_declared_module_not_imported_at_start_up_is_reported(fake_app):
    errors = check_contribution_modules([fake_app("present")])
    assert [e.id for e in errors] == ["trial.E007"]
    assert "was not imported at start-up" in errors[0].msg


def test_a_missing_module_on_a_real_app_is_reported(monkeypatch):
    config = apps.get_app_config("treatment")
    monkeypatch.setattr(config, "contributes", (*config.contributes, "no_such_module"))
    errors = check_contributions()
    assert [(e.id, e.obj) for e in errors] == [("trial.E007", config)]
    assert "treatment.no_such_module" in errors[0].msg
