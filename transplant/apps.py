from django.utils.translation import gettext_lazy as _

from trial.apps import StudyAppConfig


class TransplantConfig(StudyAppConfig):
    name = "transplant"
    label = "transplant"
    verbose_name = _("Transplant")
    # What this app adds to the engine's registries (trial.apps.StudyAppConfig), imported at start-up.
    contributes = ("entry", "summary", "api", "demo", "schedule", "quality")
