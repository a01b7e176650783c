from django.utils.translation import gettext_lazy as _

from trial.apps import StudyAppConfig


class TreatmentConfig(StudyAppConfig):
    name = "treatment"
    label = "treatment"
    verbose_name = _("Treatment")
    # What this app adds to the engine's registries (trial.apps.StudyAppConfig), imported at start-up.
    contributes = ("forms", "summary", "api", "demo", "schedule", "quality", "notify")
