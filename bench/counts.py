"""Benchmark: 31 days of blood counts saved as one series (the grid and the API) against the same 31 days saved one
form at a time, and the correction of one day of a saved series.

Both sides save the same days through the one save path (trial.crf.save_crf: lock, validation, audit record per
day) in one transaction per side per round; the series defers the transplant's engraftment derivation to the end
(trial.crf.one_rederivation), the one-by-one side re-derives it after every day, as 31 separate page saves would.
Each round builds two fresh transplanted patients (outside the timing), then times both sides, alternating which
goes first; after an uncounted warm-up round it prints the median and min-max over rounds, the SQL statements of
one run, and how many times the transplant was re-derived. What it leaves out: HTTP (the page's form parsing and
rendering, the API's serializers), other users, and a database that holds more than these patients.

    .venv/bin/python bench/counts.py --rounds 7
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/counts.py --rounds 7
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.scratch import scratch_study  # noqa: E402
from patients.services import register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402
from tests import transplant_forms as tx  # noqa: E402
from tests import treatment_forms as treatment  # noqa: E402
from transplant.models import DailyCount, TransplantProcedure  # noqa: E402
from transplant.series import CountEntry, save_counts  # noqa: E402
from trial.crf import RECOMPUTED_REASON, save_crf  # noqa: E402


def _transplanted(user, site, n: int):
    registration = register_patient(user=user, site=site, confirm_not_duplicate=True, data={
        "initials": "B" + chr(65 + n % 26) + chr(65 + n // 26 % 26), "sex": "F",
        "date_of_birth": tx.DAY0.replace(year=2012),
        "registration_date": tx.DAY0.replace(month=3, day=9)})
    patient = registration.patient
    build.enroll(user, patient)
    treatment.debulking(user, patient)
    treatment.cycle(user, patient, 1)
    treatment.response(user, patient)
    tx.procedure(user, patient)
    return patient


def _entries():
    fields = ("anc_per_ul", "platelets_10e9_l", "platelet_transfusion", "red_cell_transfusion")
    return [CountEntry(row["count_date"], {k: row[k] for k in fields}) for row in tx.engrafting_counts()]


def as_series(user, patient) -> None:
    save_counts(patient, _entries(), user=user)


def one_by_one(user, patient) -> None:
    with transaction.atomic():
        for entry in _entries():
            save_crf(DailyCount(patient=patient), user=user, data={"count_date": entry.count_date, **entry.values},
                     complete=True)


def _timed(fn, user, patient) -> tuple[float, int]:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        fn(user, patient)
        elapsed = (time.perf_counter() - start) * 1000
    return elapsed, len(queries)


def _recomputed(patient) -> int:
    return TransplantProcedure.history.filter(patient=patient, history_change_reason=RECOMPUTED_REASON).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with scratch_study() as (site, [user]):
        times = {"series": [], "one by one": []}
        statements, recomputations = {}, {}
        sides = {"series": as_series, "one by one": one_by_one}
        n = 0
        for round_number in range(args.rounds + 1):
            order = list(sides) if round_number % 2 == 0 else list(sides)[::-1]
            for name in order:
                n += 1
                patient = _transplanted(user, site, n)
                elapsed, count = _timed(sides[name], user, patient)
                if round_number:  # round 0 warms up
                    times[name].append(elapsed)
                statements[name], recomputations[name] = count, _recomputed(patient)
        correction = []
        patient = _transplanted(user, site, n + 1)
        as_series(user, patient)
        for k in range(args.rounds):
            record = DailyCount.objects.get(patient=patient, count_date=tx.on_day(16))
            start = time.perf_counter()
            with transaction.atomic():
                save_crf(record, user=user, data={"anc_per_ul": 400 + k}, reason="Lab report re-read")
            correction.append((time.perf_counter() - start) * 1000)
        engrafted = TransplantProcedure.objects.get(patient=patient).neutrophil_engraftment_day
        print(f"{connection.vendor}: 31 days of counts (day 0 to +30), {args.rounds} rounds after a warm-up, sides "
              f"alternating; one transaction per side")
        for name, values in times.items():
            print(f"  {name:<11} {statistics.median(values):8.1f} ms (min-max {min(values):.1f}-{max(values):.1f}); "
                  f"{statements[name]} SQL statements; transplant re-derived {recomputations[name]}×")
        ratio = statistics.median(times["one by one"]) / statistics.median(times["series"])
        print(f"  one by one / series: {ratio:.2f}×")
        print(f"  correcting day +16 of a saved series (re-derives the engraftment once, now day +{engrafted}): "
              f"{statistics.median(correction):.1f} ms (min-max {min(correction):.1f}-{max(correction):.1f})")


if __name__ == "__main__":
    main()
