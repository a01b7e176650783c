from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from sites.models import Membership, Site


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "city", "is_active"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "site", "role", "is_active"]
    list_filter = ["role", "site", "is_active"]
    autocomplete_fields = ["user"]


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class PersonAdmin(SimpleHistoryAdmin, UserAdmin):
    """People are deactivated (clear "active"), never deleted: the audit trail names them."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
