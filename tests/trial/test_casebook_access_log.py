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


def test_lists_and_refused_requests_log_nothing(client, registration_a, outsider, coordinator):
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
