from django.utils.translation import gettext_lazy as _

from trial.apps import StudyAppConfig


class PatientsConfig(StudyAppConfig):
    name = "patients"
    label = "patients"
    verbose_name = _("Patients and enrollment")
    # What this app adds to the engine's registries (trial.apps.StudyAppConfig), imported at start-up.
    contributes = ("entry", "forms", "api", "demo", "schedule", "quality")
