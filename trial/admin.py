"""Administration: people and sites are managed here; study data is read-only (it changes only
through the casebook and the API, which keep the audit trail and the version)."""

from django.contrib import admin

from trial.crf import crf_models
from trial.models import AuditTrailCheck, CasebookAccess


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditTrailCheck)
class AuditTrailCheckAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "rows_checked", "passed"]


@admin.register(CasebookAccess)
class CasebookAccessAdmin(ReadOnlyAdmin):
    list_display = ["at", "user", "patient", "path"]
    list_filter = ["user"]
    search_fields = ["patient__subject_id", "user__username"]


for _model in crf_models():
    admin.site.register(_model, type(f"{_model.__name__}Admin", (ReadOnlyAdmin,), {
        "list_display": ["__str__", "site", "status", "version", "updated_at"],
        "list_filter": ["site", "status"],
    }))
