from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    label = "patients"
    verbose_name = _("Patients and enrollment")

    def ready(self) -> None:
        # Entry checks and form overrides register themselves with the CRF engine on import.
        from patients import entry, forms  # noqa: F401
