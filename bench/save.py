"""Benchmark: the full API save against a bare ORM save with its history row.

Prints, for N records, the rate of (a) POST /api/v1/forms/registration/ (token auth, site scoping,
validation, derivation, subject-ID allocation, audit) and (b) a bare ORM create of the same patient
and form (simple-history still writes the history rows); then the same for corrections (PATCH with
version and reason vs a bare save). Target: the API costs at most 3x the bare save.

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/save.py 300
"""

import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.scratch import scratch_study  # noqa: E402
from patients.models import Patient, Registration  # noqa: E402
from trial.crf import save_crf  # noqa: E402

DATA = {"initials": "ABC", "sex": "F", "date_of_birth": date(2012, 5, 3), "registration_date": date(2020, 3, 9)}


def timed(label: str, n: int, work) -> float:
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {n / elapsed:8.1f} saves/s   ({elapsed * 1000 / n:6.2f} ms each)")
    return elapsed


def main(n: int) -> None:
    with scratch_study() as (site, (user,)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        payload = {**DATA, "date_of_birth": "2012-05-03", "registration_date": "2020-03-09"}

        print(f"{connection.vendor}, {n} records")

        def api_create():
            for i in range(n):  # distinct initials: the same child twice would be held as a possible duplicate
                initials = "A" + chr(65 + i % 26) + chr(65 + (i // 26) % 26)
                response = client.post("/api/v1/forms/registration/", {**payload, "initials": initials}, format="json")
                assert response.status_code == 201, response.content

        def bare_create():
            for i in range(n):
                patient = Patient.objects.create(site=site, subject_id=f"B-{i:05d}", created_by=user)
                Registration(patient=patient, site=site, version=1, created_by=user, updated_by=user, **DATA).save()

        api_c = timed("API create (register patient + form)", n, api_create)
        bare_c = timed("bare ORM create + history rows", n, bare_create)

        api_ids = list(Registration.objects.filter(patient__subject_id__startswith="MX09").values_list("pk", flat=True))
        bare_rows = list(Registration.objects.filter(patient__subject_id__startswith="B-"))

        def api_update():
            for pk in api_ids:
                response = client.patch(f"/api/v1/forms/registration/{pk}/", {"initials": "XYZ", "version": 1},
                                        format="json")
                assert response.status_code == 200, response.content

        def bare_update():
            for row in bare_rows:
                row.initials, row.version = "XYZ", row.version + 1
                row._change_reason = "bench"
                row.save()

        def engine_update():
            for row in Registration.objects.filter(pk__in=api_ids):
                save_crf(row, user=user, data={"initials": "QRS"}, expected_version=row.version)

        api_u = timed("API correction (version check, audit)", n, api_update)
        engine_u = timed("save_crf() correction, no HTTP", n, engine_update)
        bare_u = timed("bare ORM save + history row", n, bare_update)
        api_root = timed("API root GET (auth + request handling only)", n,
                         lambda: [client.get("/api/v1/") for _ in range(n)])
        print(f"  ratio API/bare: create {api_c / bare_c:.2f}x, correction {api_u / bare_u:.2f}x (target <= 3x)")
        print(f"  ratio save_crf/bare: correction {engine_u / bare_u:.2f}x; "
              f"request handling alone is {api_root / bare_u:.2f}x a bare save")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
