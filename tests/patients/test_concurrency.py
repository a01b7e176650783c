"""Concurrent writers (PostgreSQL, real transactions): consecutive subject IDs, a duplicate check that cannot
be raced past, and corrections of one patient's forms that never deadlock."""

import string
import threading
from datetime import date

import pytest
from django.db import connection

from patients.models import DiagnosisHistory, Patient, Relapse
from patients.services import PossibleDuplicate, register_patient
from trial.crf import save_crf

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


def test_two_people_correcting_forms_of_one_patient_at_once_never_deadlock(coordinator, investigator,
                                                                           registration_a):
    """A relapse and the diagnosis re-derive each other; both saves lock the patient first (M1: no 5xx)."""
    from tests import enrollment as build

    patient = registration_a.patient
    build.enroll(coordinator, patient)
    relapse = Relapse.objects.filter(patient=patient).order_by("pk").first()
    diagnosis = DiagnosisHistory.objects.get(patient=patient)
    errors: list[BaseException] = []
    for round_ in range(10):
        jobs = [
            (coordinator, lambda r=round_: save_crf(Relapse.objects.get(pk=relapse.pk), user=coordinator,
                                                    reason="fix", data={"relapse_date": date(2017, 8, 2 + r % 2)})),
            (investigator, lambda r=round_: save_crf(DiagnosisHistory.objects.get(pk=diagnosis.pk), user=investigator,
                                                     reason="fix", data={"prior_chemotherapy_lines": 3 + r % 2})),
        ]
        errors += _run_jobs([job for _, job in jobs])
    assert errors == []
    assert DiagnosisHistory.objects.get(pk=diagnosis.pk).relapse_count == 2


def _run_jobs(jobs) -> list[BaseException]:
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def go(job) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors
