"""Scorecard M1: concurrent coordinators correcting overlapping forms through the API.

N threads (each its own database connection and API token) spend D seconds correcting the forms of
three shared patients: baseline (a unique marker in "comorbidities", sometimes the performance score,
which re-derives eligibility), diagnosis (marker in "front-line protocol") and consent (marker in the
version). Each write sends the version it read, as a browser would. Prints the status counts and checks
that every acknowledged write (200) is in the audit trail at the version the server answered, with the
value written, and that no two audit rows of a record share a version: 0 lost updates, 0 server errors,
conflicts answered 409.

Needs PostgreSQL (SQLite serializes all writers):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/concurrency.py 20 60
"""

import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.scratch import scratch_study  # noqa: E402
from patients.models import Baseline, Consent, DiagnosisHistory  # noqa: E402
from patients.services import register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402

FORMS = [("baseline", Baseline, "comorbidities"), ("diagnosishistory", DiagnosisHistory, "frontline_protocol"),
         ("consent", Consent, "consent_version")]


def main(workers: int, seconds: float) -> None:
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 409s are expected here, not news
    if connection.vendor != "postgresql":
        sys.exit("M1 needs PostgreSQL: set DATABASE_URL=postgres://...")
    with scratch_study(coordinators=workers) as (site, users):
        patients = []
        for i in range(3):
            reg = register_patient(user=users[0], site=site, data={
                "initials": f"C{chr(65 + i)}", "sex": "F", "date_of_birth": date(2012, 5, 3),
                "registration_date": date(2020, 3, 9)})
            build.enroll(users[0], reg.patient)
            patients.append(reg.patient)
        tokens = [AuthToken.objects.create(u)[1] for u in users]
        connection.close()

        acknowledged: list[tuple[str, int, int, str]] = []  # (form, pk, version, value written)
        statuses: Counter = Counter()
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def coordinator(index: int) -> None:
            rng = random.Random(index)  # noqa: S311 - workload, not security
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[index]}")
            writes = 0
            try:
                while time.monotonic() < stop_at:
                    slug, model, field = rng.choice(FORMS)
                    patient = rng.choice(patients)
                    listing = client.get(f"/api/v1/forms/{slug}/", {"patient": patient.subject_id}).json()
                    current = listing["results"][0]
                    writes += 1
                    marker = f"w{index}-{writes}"
                    body = {field: marker, "version": current["version"], "reason": "M1 bench"}
                    if slug == "baseline" and rng.random() < 0.3:
                        body["performance_score"] = rng.choice([80, 90, 100])  # re-derives eligibility
                    response = client.patch(f"/api/v1/forms/{slug}/{current['id']}/", body, format="json")
                    with lock:
                        statuses[response.status_code] += 1
                        if response.status_code == 200:
                            acknowledged.append((slug, current["id"], response.json()["version"], marker))
            finally:
                connection.close()

        threads = [threading.Thread(target=coordinator, args=(i,)) for i in range(workers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started

        lost = 0
        for slug, model, field in FORMS:
            for record in model.objects.all():
                rows = list(record.history.values_list("version", field))
                versions = [v for v, _ in rows]
                assert len(versions) == len(set(versions)), f"{slug} {record.pk}: two audit rows share a version"
                at_version = dict(rows)
                for s, pk, version, value in acknowledged:
                    if s == slug and pk == record.pk and at_version.get(version) != value:
                        lost += 1
        total = sum(statuses.values())
        print(f"{connection.vendor}: {workers} coordinators for {elapsed:.0f} s, {total} corrections "
              f"({total / elapsed:.1f}/s) on 3 patients × 3 forms")
        print(f"  status counts: {dict(sorted(statuses.items()))}")
        print(f"  acknowledged writes missing from the audit trail (lost updates): {lost}")
        print(f"  server errors (5xx): {sum(c for s, c in statuses.items() if s >= 500)}; "
              f"conflicts answered 409: {statuses[409]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, float(sys.argv[2]) if len(sys.argv) > 2 else 60)
