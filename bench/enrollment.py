"""Benchmark: what cross-form derivation and the enrollment pages cost.

Prints (a) the time of a save with no dependent forms (Debulking correction) against a Baseline
correction, which re-derives Eligibility, and a Relapse entry, which re-derives the other relapses,
Diagnosis and Eligibility, each with its audit rows; (b) queries and time of the patient page of a
fully enrolled patient; (c) queries and time of the screening log for N enrolled patients.

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/enrollment.py 200
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

from bench.scratch import scratch_study  # noqa: E402
from patients.models import Baseline, Relapse  # noqa: E402
from patients.services import register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402
from treatment.models import Debulking  # noqa: E402
from trial.crf import save_crf  # noqa: E402
from trial.quality.engine import check_patients  # noqa: E402


def per_call(label: str, n: int, work) -> None:
    start = time.perf_counter()
    for i in range(n):
        work(i)
    elapsed = time.perf_counter() - start
    print(f"  {label:<58} {elapsed * 1000 / n:7.2f} ms each")


def page(client: Client, url: str, label: str, repeat: int = 5) -> None:
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    start = time.perf_counter()
    for _ in range(repeat):
        client.get(url)
    elapsed = (time.perf_counter() - start) / repeat
    print(f"  {label:<58} {elapsed * 1000:7.1f} ms, {len(queries)} queries")


def main(n: int) -> None:
    with scratch_study() as (site, (user,)):
        patients = []
        start = time.perf_counter()
        for i in range(n):
            reg = register_patient(user=user, site=site, data={
                "initials": "B" + chr(65 + i % 26) + chr(65 + (i // 26) % 26), "sex": "F",
                "date_of_birth": date(2012, 5, 3), "registration_date": date(2020, 3, 9)})
            build.enroll(user, reg.patient)
            patients.append(reg.patient)
        print(f"{connection.vendor}: enrolled {n} patients (registration, consent, diagnosis, 2 relapses, "
              f"baseline, eligibility) in {time.perf_counter() - start:.1f} s")

        debulking = [save_crf(Debulking(patient=p), user=user, data={
            "start_date": date(2020, 3, 13), "anthracycline": "N", "asparaginase": "N", "vincristine": "Y",
            "corticosteroid": "Y"}) for p in patients]
        baselines = list(Baseline.objects.filter(patient__in=patients).order_by("pk"))
        per_call("correction with no dependent form (debulking)", n, lambda i: save_crf(
            debulking[i], user=user, data={"end_date": date(2020, 3, 17)}, expected_version=debulking[i].version))
        per_call("correction re-deriving eligibility (baseline)", n, lambda i: save_crf(
            baselines[i], user=user, data={"performance_score": 100}, reason="bench",
            expected_version=baselines[i].version))
        per_call("new relapse re-deriving relapses, diagnosis, eligibility", n, lambda i: save_crf(
            Relapse(patient=patients[i]), user=user, data={"relapse_date": date(2020, 1, 5) - timedelta(days=i % 20),
                                                            "relapse_site": "isolated_bm"}))
        client = Client()
        client.force_login(user)
        page(client, f"/patients/{patients[0].subject_id}/", "patient page (enrolled, with treatment section)")
        page(client, "/patients/screening-log/", f"screening log ({n} patients)")
        page(client, "/patients/", "patient list (50 per page)")
        check_patients([p.pk for p in patients])  # the data-quality run opens the queries the list shows
        page(client, "/quality/queries/?status=open", "open queries (first page)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
