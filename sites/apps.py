from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesConfig(AppConfig):
    name = "sites"
    label = "sites"
    verbose_name = _("Sites and people")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        pre_delete.connect(refuse_user_deletion, sender=get_user_model(), dispatch_uid="sites_keep_users")


class UserDeletionRefused(RuntimeError):
    """People are deactivated, never deleted: the audit trail names them."""


def refuse_user_deletion(sender, instance, **kwargs) -> None:
    raise UserDeletionRefused(
        f"User {instance.get_username()!r} cannot be deleted; deactivate the account instead "
        "(the audit trail must keep naming who did what)."
    )
