"""Opening a casebook is logged (RELIABILITY §7); the log only grows."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from trial.models import CasebookAccess

pytestmark = pytest.mark.django_db


def test_opening_the_patient_page_and_a_form_is_logged(client, registration_a, coordinator):
    client.force_login(coordinator)
    subject = registration_a.patient.subject_id
    client.get(reverse("patients:detail", args=[subject]))
    client.get(reverse("casebook:form", args=[subject, "registration", registration_a.pk]))
    assert list(CasebookAccess.objects.order_by("pk").values_list("user__username", "patient__subject_id", "path")) == [
        ("coord.a", subject, f"/patients/{subject}/"),
        ("coord.a", subject, f"/patients/{subject}/forms/registration/{registration_a.pk}/"),
    ]


def test_reading_through_the_api_is_logged(api_client, registration_a, coordinator):
    client = api_client(coordinator)
    client.get(reverse("patient-detail", args=[registration_a.patient.subject_id]))
    client.get(reverse("crf-registration-detail", args=[registration_a.pk]))
    assert CasebookAccess.objects.filter(user=coordinator, patient=registration_a.patient).count() == 2


def test_reading_a_records_audit_trail_and_api_lists_is_logged_once_per_request(api_client, register, coordinator,
                                                                                  site_a):
    first, second = register(coordinator, site_a), register(coordinator, site_a)
    client = api_client(coordinator)
    client.get(reverse("crf-registration-history", args=[first.pk]))
    client.get(reverse("crf-registration-list"), {"status": "draft"})
    client.get(reverse("patient-list"))
    client.get(reverse("screening-log-list"))
    assert list(CasebookAccess.objects.order_by("pk").values_list("patient__subject_id", "path")) == [
        (first.patient.subject_id, f"/api/v1/forms/registration/{first.pk}/history/"),
        (None, "/api/v1/forms/registration/?status=draft"),  # two records listed, one row
        (None, "/api/v1/patients/"),
        (None, "/api/v1/screening-log/"),
    ]
    assert second.patient_id  # listed, not logged apart


def test_the_patient_list_page_and_refused_requests_log_nothing(client, registration_a, outsider, coordinator):
    client.force_login(outsider)
    assert client.get(reverse("patients:detail", args=[registration_a.patient.subject_id])).status_code == 404
    client.force_login(coordinator)
    client.get(reverse("patients:list"))
    assert not CasebookAccess.objects.exists()


@pytest.mark.postgres
def test_the_access_log_cannot_be_rewritten(client, registration_a, coordinator):
    client.force_login(coordinator)
    client.get(reverse("patients:detail", args=[registration_a.patient.subject_id]))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CasebookAccess._meta.db_table}")
    assert CasebookAccess.objects.count() == 1
