from importlib import import_module

from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TrialConfig(AppConfig):
    name = "trial"
    label = "trial"
    verbose_name = _("Study")

    def ready(self) -> None:
        from trial.audit import install_append_only_triggers
        from trial.checks import check_crf_field_names, check_crfs_are_site_scoped, check_crfs_have_visits

        checks.register(check_crfs_are_site_scoped, checks.Tags.security)
        checks.register(check_crf_field_names)
        checks.register(check_crfs_have_visits)
        post_migrate.connect(install_append_only_triggers, sender=self, dispatch_uid="trial_append_only_audit")
        import trial.quality.generic  # noqa: F401  the rules that hold for every form
        import trial.quality.hooks  # noqa: F401  a patient's re-check after each save
        import trial.visit_views  # noqa: F401  the visit calendar on the patient page (trial.panels)


class StudyAppConfig(AppConfig):
    """Base of a domain app's config: it declares the modules it contributes to the engine's registries.

    Each name in `contributes` is a module of the app that registers what it adds when it is imported:

        "entry"     entry checks (trial.crf.entry_check)
        "forms"     page forms (trial.forms.register_form)
        "api"       API viewsets and routes (trial.api.register_viewset, register_route)
        "summary"   patient-page panels (trial.panels.patient_panel)
        "demo"      demo steps (trial.demo.demo_step)
        "schedule"  visits, anchors and stops (trial.visits.contribute)
        "quality"   data-quality rules (trial.quality)
        "notify"    listeners of saved records that notify people (trial.events.on_record_saved)

    They are imported once, in ready(), in the order given; nothing else imports them for their side effects.
    A declared module that does not exist, or that fails to import, stops start-up (system check trial.E007
    reports the first case), so no registration can silently go missing (e.g. a form falling back to the
    generic page form). A subclass that overrides ready() calls super().ready().
    """

    default = False  # not an app's config by itself: Django picks the app's subclass (see __init_subclass__)
    contributes: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.default = vars(cls).get("default", True)

    def ready(self) -> None:
        import_contributions(self)


def contribution_modules(config: AppConfig) -> list[str]:
    """The dotted names of the modules `config` declares in `contributes` (none for a plain AppConfig)."""
    return [f"{config.name}.{module}" for module in getattr(config, "contributes", ())]


def import_contributions(config: AppConfig) -> None:
    """Import the app's declared contribution modules; any import error propagates (start-up fails)."""
    for name in contribution_modules(config):
        try:
            import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise  # the module exists but something it imports does not: the original error says what
            raise ImproperlyConfigured(
                f"{config.label}: declares the contribution module {name!r}, which does not exist (trial.E007). "
                "Create it or remove it from `contributes`.") from missing
