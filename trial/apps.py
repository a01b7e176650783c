from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TrialConfig(AppConfig):
    name = "trial"
    label = "trial"
    verbose_name = _("Study")

    def ready(self) -> None:
        from trial.audit import install_append_only_triggers
        from trial.checks import check_crfs_are_site_scoped

        checks.register(check_crfs_are_site_scoped, checks.Tags.security)
        post_migrate.connect(install_append_only_triggers, sender=self, dispatch_uid="trial_append_only_audit")
