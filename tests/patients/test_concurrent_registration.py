"""Coordinators registering at the same moment get different, consecutive subject IDs, and the duplicate
check cannot be raced past (PostgreSQL: real concurrent transactions)."""

import string
import threading
from datetime import date

import pytest
from django.db import connection

from patients.models import Patient
from patients.services import PossibleDuplicate, register_patient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 8


def _race(users, site, data_for) -> list[BaseException]:
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def register(index: int, user) -> None:
        try:
            barrier.wait()
            register_patient(user=user, site=site, data=data_for(index))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


def _child(initials: str) -> dict:
    return {"initials": initials, "sex": "M", "date_of_birth": date(2014, 1, 1), "registration_date": date(2020, 1, 1)}


def test_concurrent_registrations_get_unique_consecutive_ids(coordinator, investigator, site_a):
    users = [coordinator, investigator] * (WORKERS // 2)
    errors = _race(users, site_a, lambda i: _child("C" + string.ascii_uppercase[i]))
    assert errors == []
    ids = sorted(Patient.objects.values_list("subject_id", flat=True))
    assert ids == [f"MX01-{n:03d}" for n in range(1, WORKERS + 1)]


def test_the_same_child_registered_at_once_from_two_desks_is_caught(coordinator, investigator, site_a):
    errors = _race([coordinator, investigator] * (WORKERS // 2), site_a, lambda i: _child("CC"))
    assert len(errors) == WORKERS - 1 and all(isinstance(e, PossibleDuplicate) for e in errors)
    assert list(Patient.objects.values_list("subject_id", flat=True)) == ["MX01-001"]
