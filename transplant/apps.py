from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TransplantConfig(AppConfig):
    name = "transplant"
    label = "transplant"
    verbose_name = _("Transplant")
