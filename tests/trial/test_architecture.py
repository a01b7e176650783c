"""Rules modules stay pure; no code writes CRFs around the save path; CRF managers are scoped."""

import ast
import re
from pathlib import Path

import pytest
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from trial.checks import check_models_are_site_scoped
from trial.crf import crf_models

ROOT = Path(__file__).resolve().parents[2]
APPS = ["trial", "sites", "patients", "treatment", "transplant"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


RULES = sorted(ROOT.glob("*/rules.py"))


def test_there_are_rules_modules():
    assert RULES


@pytest.mark.parametrize("path", RULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_rules_import_no_django_and_no_project_code(path):
    forbidden = _imports(path) & {"django", "rest_framework", "celery", *APPS}
    assert not forbidden, f"{path.name} imports {forbidden}"


def _source_files():
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


OPERATIONAL = "# operational record, not study data"


def test_no_queryset_bulk_writes_in_application_code():
    """Study data changes only through the audited save path. Bookkeeping that is not study data (a run's progress,
    a notification marked read or emailed) says so on the line with OPERATIONAL."""
    pattern = re.compile(r"\.(update|bulk_update|bulk_create)\(\s*\*{0,2}[a-z_]*\s*=")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in _source_files()
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if pattern.search(line) and "update_fields" not in line and OPERATIONAL not in line]
    assert offenders == []


def test_trial_imports_no_domain_app():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "trial").rglob("*.py")
                 if "migrations" not in p.parts and _imports(p) & {"patients", "treatment", "transplant"}]
    assert offenders == []


def test_every_crf_passes_the_scoping_check():
    assert crf_models()
    assert check_models_are_site_scoped(crf_models()) == []


@isolate_apps("patients")
def test_the_check_catches_a_form_with_a_plain_manager_and_no_history():
    class Unscoped(models.Model):
        objects = models.Manager()

        class Meta:
            app_label = "patients"

    errors = check_models_are_site_scoped([Unscoped])
    assert [e.id for e in errors] == ["trial.E001", "trial.E003"]
    assert all(isinstance(e, checks.Error) for e in errors)


def test_the_check_catches_a_derivation_from_something_that_is_not_a_crf(monkeypatch):
    from patients.models import Eligibility

    monkeypatch.setattr(Eligibility, "crf_derived_from", ("patients.Baseline", "patients.Labs"))
    monkeypatch.setattr(Eligibility, "crf_reads", {})
    errors = check_models_are_site_scoped(crf_models())
    assert [(e.id, e.obj) for e in errors] == [("trial.E004", Eligibility)]


@pytest.mark.parametrize("reads", [
    {"patients.Relapse": ("relapse_date",)},  # a source it is not derived from
    {"patients.Registration": ("date_of_birth", "birth_date")},  # a field the source does not have
])
def test_the_check_catches_fields_read_from_a_source_it_does_not_have(monkeypatch, reads):
    from treatment.models import BlinatumomabCycle

    monkeypatch.setattr(BlinatumomabCycle, "crf_reads", reads)
    errors = check_models_are_site_scoped(crf_models())
    assert [(e.id, e.obj) for e in errors] == [("trial.E009", BlinatumomabCycle)]


def test_the_check_catches_a_form_that_does_not_say_its_phase(monkeypatch):
    from treatment.models import Debulking

    monkeypatch.delattr(Debulking, "crf_phase")
    errors = check_models_are_site_scoped(crf_models())
    assert [(e.id, e.obj) for e in errors] == [("trial.E005", Debulking)]
