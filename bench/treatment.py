"""Benchmark: what a CRS day costs to save as a patient's assessments accumulate, and the treatment pages.

A CRS day is graded knowing the day before, so a save re-derives (and re-validates) the patient's other
CRS days in date order. Prints the time of adding day k and of correcting day 1 (which re-grades every
later day) for a patient with 7, 14 and 28 assessed days; then time and queries of the patient page with
its treatment summary and of Data review with rule flags, for N treated patients.

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/treatment.py 50
"""

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.enrollment import page  # noqa: E402
from bench.scratch import scratch_study  # noqa: E402
from patients.services import register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402
from tests import treatment_forms as treatment  # noqa: E402
from treatment.models import CrsAssessment  # noqa: E402
from trial.crf import save_crf  # noqa: E402

CYCLE_START = date(2020, 3, 20)


def _enrolled(user, site, letter: str, i: int):
    reg = register_patient(user=user, site=site, confirm_not_duplicate=True, data={
        "initials": letter + chr(65 + i % 26) + chr(65 + (i // 26) % 26), "sex": "M",
        "date_of_birth": date(2012, 5, 3), "registration_date": date(2020, 3, 9)})
    build.enroll(user, reg.patient)
    return reg.patient


def _patient(user, site, i: int):
    patient = _enrolled(user, site, "T", i)
    treatment.debulking(user, patient)
    treatment.cycle(user, patient, 1)
    return patient


def crs_days(user, site) -> None:
    for days in (7, 14, 28):
        patient = _patient(user, site, days)
        grades = [1, 2, 3, 2, 1, 0, 0] * 4
        for d in range(days - 1):
            treatment.crs(user, patient, CYCLE_START + timedelta(days=d), grade=grades[d])
        start = time.perf_counter()
        treatment.crs(user, patient, CYCLE_START + timedelta(days=days - 1), grade=1)
        added = time.perf_counter() - start
        first = CrsAssessment.objects.get(patient=patient, assessment_date=CYCLE_START)
        start = time.perf_counter()
        save_crf(first, user=user, data=treatment.CRS_GRADE[0], reason="bench", expected_version=first.version)
        corrected = time.perf_counter() - start
        print(f"  {days:>2} CRS days: add the last day {added * 1000:7.1f} ms; "
              f"correct day 1 (re-grades the rest) {corrected * 1000:7.1f} ms")


def main(n: int) -> None:
    with scratch_study() as (site, (user,)):
        print(f"{connection.vendor}:")
        crs_days(user, site)
        start = time.perf_counter()
        patients = []
        for i in range(n):
            patient = _enrolled(user, site, "P", i)
            treatment.treat(user, patient)
            treatment.cycle(user, patient, 2)
            patients.append(patient)
        print(f"  treated {n} patients (two cycles, CRS, ICANS, AE, response, intrathecal) in "
              f"{time.perf_counter() - start:.1f} s")
        client = Client()
        client.force_login(user)
        page(client, f"/patients/{patients[0].subject_id}/", "patient page with the treatment summary")
        page(client, f"/patients/{patients[0].subject_id}/forms/adverseevent/new/", "new adverse event (837 terms)")
        page(client, "/review/", f"data review ({n} treated patients)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
