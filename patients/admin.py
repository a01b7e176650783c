from django.contrib import admin

from patients.models import Patient
from trial.admin import ReadOnlyAdmin


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    list_display = ["subject_id", "site", "created_at"]
    list_filter = ["site"]
    search_fields = ["subject_id"]
