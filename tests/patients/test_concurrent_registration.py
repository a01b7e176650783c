"""Two coordinators registering at the same moment get different, consecutive subject IDs."""

import threading
from datetime import date

import pytest
from django.db import connection

from patients.models import Patient
from patients.services import register_patient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_registrations_get_unique_consecutive_ids(coordinator, investigator, site_a):
    workers = 8
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    users = [coordinator, investigator] * (workers // 2)

    def register(user) -> None:
        try:
            barrier.wait()
            register_patient(user=user, site=site_a, data={
                "initials": "CC", "sex": "M", "date_of_birth": date(2014, 1, 1),
                "registration_date": date(2020, 1, 1)})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    ids = sorted(Patient.objects.values_list("subject_id", flat=True))
    assert ids == [f"MX01-{n:03d}" for n in range(1, workers + 1)]
