from django.contrib import admin

from sites.models import Membership, Site


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "is_active", "last_subject_number"]
    readonly_fields = ["last_subject_number"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "site", "role", "is_active"]
    list_filter = ["role", "site", "is_active"]
    autocomplete_fields = ["user"]
