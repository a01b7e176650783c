"""Benchmark: the full API save against a bare ORM save with its history rows, under the same transactions.

Measures, per save:
  create      POST /api/v1/forms/registration/ (token auth, site scoping, validation, duplicate check,
              derivation, subject-ID allocation, audit) against a bare ORM create of the patient row and the
              form row with their history rows;
  correction  PATCH /api/v1/forms/registration/<id>/ (version check, reason, derivation, audit) against a
              bare ORM save of the form with its history row;
  and, for information, save_crf() corrections without HTTP.

Both sides write each record in one transaction: the API in the one its request opens for the writes
(register_patient() and save_crf() are atomic), the bare side in a transaction.atomic() per record. Both
sides are warmed up first (not counted), then R rounds alternate which side goes first; every figure is
printed as the median over the rounds with its min-max and the per-round values, and the ratio API/bare is
computed per round. Target: the API costs at most 3x the bare save.

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/save.py 300 --rounds 5
"""

import argparse
import os
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from knox.models import AuthToken  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.scratch import scratch_study  # noqa: E402
from patients.models import Patient, Registration  # noqa: E402
from trial.crf import save_crf  # noqa: E402

URL = "/api/v1/forms/registration/"
REGISTRATION_DATE = date(2020, 3, 9)
# The API side's children are born on or after this day, the bare side's before it: the registration API
# holds a child with the same site, date of birth, sex and initials as a possible duplicate, and the bare
# rows must never be such a match for a later API create.
API_BORN = date(2012, 5, 3)
BARE_BORN = date(2010, 5, 3)
LETTERS = 26 ** 3


def identity(i: int, born: date) -> tuple[str, date]:
    """Distinct 3-letter initials for the i-th child of a side, then the next birth date once they run out.

    Corrections toggle the initials to their first two letters and back, so a corrected child never takes
    the 3-letter initials a later create uses.
    """
    return (chr(65 + i % 26) + chr(65 + (i // 26) % 26) + chr(65 + (i // 676) % 26),
            born + timedelta(days=i // LETTERS))


def toggled(initials: str, full: str) -> str:
    return full[:2] if initials == full else full


class Side:
    """One way of writing the records: keeps the rows it created so that it can correct them."""

    def __init__(self) -> None:
        self.created = 0
        self.rows: list[dict] = []  # {"pk", "full", "initials", "version"} of the latest batch


class Api(Side):
    def __init__(self, client: APIClient) -> None:
        super().__init__()
        self.client = client

    def create(self, n: int) -> None:
        batch = []
        for _ in range(n):
            initials, born = identity(self.created, API_BORN)
            self.created += 1
            response = self.client.post(URL, {"initials": initials, "sex": "F", "date_of_birth": born.isoformat(),
                                              "registration_date": REGISTRATION_DATE.isoformat()}, format="json")
            assert response.status_code == 201, response.content
            body = response.json()
            batch.append({"pk": body["id"], "full": initials, "initials": initials, "version": body["version"]})
        self.rows = batch

    def correct(self) -> None:
        for row in self.rows:
            initials = toggled(row["initials"], row["full"])
            # A draft needs no reason; the reason is sent anyway, as the bare side stores one too.
            response = self.client.patch(f"{URL}{row['pk']}/", {"initials": initials, "version": row["version"],
                                                                 "reason": "bench"}, format="json")
            assert response.status_code == 200, response.content
            row["initials"], row["version"] = initials, response.json()["version"]


class Engine(Side):
    """save_crf() corrections of the API side's rows, without HTTP (for information)."""

    def __init__(self, api: Api, user) -> None:
        super().__init__()
        self.api, self.user = api, user
        self.records: list[Registration] = []

    def load(self) -> None:
        """Read the API side's latest rows (untimed): save_crf is handed a form instance, as the views do."""
        by_pk = Registration.objects.in_bulk([row["pk"] for row in self.api.rows])
        self.records = [by_pk[row["pk"]] for row in self.api.rows]

    def correct(self) -> None:
        for row, record in zip(self.api.rows, self.records, strict=True):
            initials = toggled(row["initials"], row["full"])
            save_crf(record, user=self.user, data={"initials": initials}, reason="bench",
                     expected_version=row["version"])
            row["initials"], row["version"] = initials, record.version


class Bare(Side):
    def __init__(self, site, user) -> None:
        super().__init__()
        self.site, self.user = site, user
        self.records: list[tuple[Registration, str]] = []  # the latest batch, with its 3-letter initials

    def create(self, n: int) -> None:
        batch = []
        for _ in range(n):
            initials, born = identity(self.created, BARE_BORN)
            with transaction.atomic():  # one transaction per record, like one API request
                patient = Patient(site=self.site, subject_id=f"B-{self.created:06d}", created_by=self.user)
                patient._history_user = self.user
                patient.save()
                registration = Registration(patient=patient, site=self.site, version=1, created_by=self.user,
                                            updated_by=self.user, initials=initials, sex="F", date_of_birth=born,
                                            registration_date=REGISTRATION_DATE)
                registration._history_user = self.user
                registration.save()
            self.created += 1
            batch.append((registration, initials))
        self.records = batch

    def correct(self) -> None:
        for row, full in self.records:
            with transaction.atomic():  # the save and its history row, one transaction
                row.initials, row.version = toggled(row.initials, full), row.version + 1
                row._history_user = self.user
                row._change_reason = "bench"
                row.save()


def timed(work: Callable[[], None], n: int) -> float:
    """Seconds per save of one batch of n saves."""
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) / n


def spread(values: list[float], unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
    scaled = [v * scale for v in values]
    rounds = " ".join(f"{v:.{digits}f}" for v in scaled)
    return (f"{statistics.median(scaled):7.{digits}f}{unit}  (min-max {min(scaled):.{digits}f}-"
            f"{max(scaled):.{digits}f}{unit}; rounds: {rounds})")


def main(n: int, rounds: int, warmup: int) -> None:
    with scratch_study() as (site, (user,)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
        api, bare = Api(client), Bare(site, user)
        engine = Engine(api, user)

        # Warm-up, not counted: first requests, URL resolution, serializer and query compilation, caches.
        for side in (api, bare):
            side.create(warmup)
            side.correct()
        engine.load()
        engine.correct()

        times: dict[str, list[float]] = {key: [] for key in
                                         ("api_create", "bare_create", "api_correct", "bare_correct", "engine")}
        for r in range(rounds):
            first, second = (api, bare) if r % 2 == 0 else (bare, api)
            for side in (first, second):
                times[f"{'api' if side is api else 'bare'}_create"].append(timed(lambda s=side: s.create(n), n))
            for side in (first, second):
                times[f"{'api' if side is api else 'bare'}_correct"].append(timed(side.correct, n))
            engine.load()
            times["engine"].append(timed(engine.correct, n))

        print(f"{connection.vendor}: {n} records per side per round, {rounds} rounds after a warm-up of "
              f"{warmup} creates and {warmup} corrections per side (not counted)")
        print(f"  each record's writes are one transaction on both sides; the API side goes first in rounds "
              f"{', '.join(str(r + 1) for r in range(0, rounds, 2))},\n  the bare side in rounds "
              f"{', '.join(str(r + 1) for r in range(1, rounds, 2))}; save_crf() runs last in each round")
        print("  ms per save, median over rounds:")
        for key, label in (("api_create", "API create (POST, patient + form)"),
                           ("bare_create", "bare ORM create + history rows"),
                           ("api_correct", "API correction (PATCH, version, reason)"),
                           ("bare_correct", "bare ORM save + history row"),
                           ("engine", "save_crf() correction, no HTTP (info)")):
            print(f"    {label:<42}{spread(times[key], ' ms', 1000)}")
        print("  ratio API/bare, per round (target <= 3x):")
        for what in ("create", "correct"):
            ratios = [a / b for a, b in zip(times[f"api_{what}"], times[f"bare_{what}"], strict=True)]
            print(f"    {'create' if what == 'create' else 'correction':<42}{spread(ratios, 'x')}")
        ratios = [e / b for e, b in zip(times["engine"], times["bare_correct"], strict=True)]
        print(f"    {'save_crf()/bare correction (info)':<42}{spread(ratios, 'x')}")
        print(textwrap.fill(
            "What this leaves out: network latency and TLS between a browser or API client and the server; "
            "gunicorn workers, the reverse proxy and request queueing; concurrent users and the lock waits they "
            "cause; connection setup (the test client keeps one connection open throughout, where a server with "
            "DATABASE_CONN_MAX_AGE=0 opens one per request). A single "
            "client process runs the server code in its own interpreter, on the same machine as the database "
            "and beside whatever else that machine is running; the tables hold only the rows written here.",
            width=110))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=200, help="records per side per round (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each side first in turn (default 5, >= 3)")
    parser.add_argument("--warmup", type=int, default=30, help="uncounted creates and corrections per side (30)")
    options = parser.parse_args()
    if options.rounds < 3:
        parser.error("--rounds must be at least 3")
    main(options.n, options.rounds, options.warmup)
