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


def test_a_correction_holds_the_patient_first_and_reads_the_record_as_the_writer_it_waited_for_left_it(
        coordinator, registration_a):
    """locked_record locks the patient row, then the record's, in one statement: while it waits for a record that
    another transaction holds, the patient is already its own (no one can start a write to this patient), and it
    then reads the record as that transaction committed it."""
    from django.db import OperationalError, transaction

    from patients.models import Registration
    from trial.crf import locked_record

    record, patient_id = registration_a, registration_a.patient_id
    holding, release, done = threading.Event(), threading.Event(), threading.Event()
    seen: dict = {}

    def writer() -> None:  # holds the record row only, then changes it
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id FROM patients_registration WHERE id = %s FOR UPDATE", [record.pk])
                holding.set()
                release.wait(30)
                cursor.execute("UPDATE patients_registration SET initials = 'XYZ' WHERE id = %s", [record.pk])
        finally:
            connection.close()

    def corrector() -> None:
        try:
            holding.wait(30)
            with transaction.atomic():
                seen["initials"] = locked_record(Registration, record.pk, user=coordinator).initials
        finally:
            done.set()
            connection.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=corrector)]
    for t in threads:
        t.start()
    holding.wait(30)
    with connection.cursor() as cursor:  # until the corrector is waiting for a row lock (polled, no sleep)
        for _ in range(10_000):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
            if cursor.fetchone()[0] or done.is_set():
                break
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT id FROM patients_patient WHERE id = %s FOR UPDATE NOWAIT", [patient_id])
        patient_free = True
    except OperationalError:
        patient_free = False
    release.set()
    for t in threads:
        t.join(timeout=60)
    assert not patient_free, "the corrector waits for the record without holding the patient"
    assert seen == {"initials": "XYZ"}
