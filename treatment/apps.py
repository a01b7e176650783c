from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TreatmentConfig(AppConfig):
    name = "treatment"
    label = "treatment"
    verbose_name = _("Treatment")

    def ready(self) -> None:
        # The patient-page panel and the form overrides register themselves on import.
        from treatment import forms, summary  # noqa: F401
