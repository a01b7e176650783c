from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SitesConfig(AppConfig):
    name = "sites"
    label = "sites"
    verbose_name = _("Sites and people")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model, user_logged_in
        from django.contrib.auth.models import update_last_login
        from django.db.models.signals import pre_delete

        pre_delete.connect(refuse_user_deletion, sender=get_user_model(), dispatch_uid="sites_keep_users")
        # Logging in stamps last_login; that is not a change to the account, so it leaves no account history row.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(stamp_last_login, dispatch_uid="sites_stamp_last_login")


class UserDeletionRefused(RuntimeError):
    """People are deactivated, never deleted: the audit trail names them."""


def refuse_user_deletion(sender, instance, **kwargs) -> None:
    raise UserDeletionRefused(
        f"User {instance.get_username()!r} cannot be deleted; deactivate the account instead "
        "(the audit trail must keep naming who did what)."
    )


def stamp_last_login(sender, user, **kwargs) -> None:
    """Django's update_last_login, without an account-history row (last_login is not in that history)."""
    from django.utils import timezone

    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving
