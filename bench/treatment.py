"""Benchmark: what a CRS day costs to save as a patient's assessments accumulate, and the treatment pages.

A CRS day is graded knowing the day before, so a save re-derives (and re-validates) the patient's other
CRS days in date order. Prints
  - the time of adding day k and of correcting day 1 for a patient with 7, 14 and 28 assessed days;
  - series re-derivation for 7, 28 and 56 recorded days: time (median and min-max over repetitions, after a
    warm-up) and SQL statements of (a) a correction of day 1 that re-grades every later day and (b) a
    correction of the last day; the ratio (a)/(b) (target <= 5x), the rows re-derived (from the audit rows
    added) and the statements per re-derived row, ((a) - (b)) / (days - 1) (target <= 3);
  - the queries of the patient page with 1 and with 30 adverse events;
  - time and queries of the patient page with its treatment summary, the adverse-event form and the list of open queries
    with rule flags, for N treated patients.

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/treatment.py 50 --repeat 7
"""

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
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
from treatment.models import CrsAssessment, CtcaeTerm  # noqa: E402
from trial.crf import save_crf  # noqa: E402
from trial.quality.engine import check_patients  # noqa: E402

CYCLE_START = date(2020, 3, 20)
SERIES_DAYS = (7, 28, 56)
# A cycle-1 infusion interrupted for 14 days in all: 28 days infused from 2020-03-20 to 2020-04-30, so the
# cycle's assessments run to 2020-05-14 (its end plus the 14 treatment-free days): 56 days, all in one cycle,
# so that a change on day 1 reaches each of them (a CRS day is graded against the day before in its cycle).
INTERRUPTED_END = CYCLE_START + timedelta(days=41)
# Day 1: 38.6 °C (grade 1) or 37.0 °C (grade 0). Later days: afebrile under antipyretics, with hypotension
# responding to fluids: grade 2 while the episode opened on day 1 lasts (the fever is masked), grade 0
# otherwise. So each correction of day 1 re-grades every later day, 2 <-> 0.
FEVER, NO_FEVER = Decimal("38.6"), Decimal("37.0")
LATER_DAY = {"max_temperature_c": NO_FEVER, "antipyretics": "Y", "hypotension": "fluids"}


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


def _spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):7.1f} ms (min-max {min(ms):.1f}-{max(ms):.1f})"


def _counts(values: list[int]) -> str:
    return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _series(user, site, days: int):
    """An enrolled patient in cycle 1 (interrupted infusion, see INTERRUPTED_END) with `days` CRS days."""
    patient = _enrolled(user, site, "R", days)
    treatment.debulking(user, patient)
    treatment.cycle(user, patient, 1, end_date=INTERRUPTED_END)
    treatment.crs(user, patient, CYCLE_START, max_temperature_c=FEVER)
    for d in range(1, days):
        treatment.crs(user, patient, CYCLE_START + timedelta(days=d), **LATER_DAY)
    return patient


def _correct(record: CrsAssessment, user, patient) -> tuple[float, int, int]:
    """Toggle the day's maximum temperature (38.6 <-> 37.0 °C): seconds, SQL statements, audit rows added."""
    record.refresh_from_db()  # untimed: the caller's form, as a user would have opened it
    temperature = NO_FEVER if record.max_temperature_c == FEVER else FEVER
    before = CrsAssessment.history.filter(patient_id=patient.pk).count()
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += len(params) if many else 1  # a batch sent with executemany is one statement per row
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.perf_counter()
        save_crf(record, user=user, data={"max_temperature_c": temperature}, reason="bench",
                 expected_version=record.version)
        elapsed = time.perf_counter() - start
    return elapsed, statements, CrsAssessment.history.filter(patient_id=patient.pk).count() - before


def series_rederivation(user, site, repeat: int, warmup: int) -> None:
    """(a) correct day 1 (re-grades every later day) against (b) correct the last day, for 7, 28, 56 days."""
    print(f"  series re-derivation, median over {repeat} corrections of each kind after {warmup} uncounted "
          f"(a then b in turn);\n  each correction of day 1 re-grades every later day (2 <-> 0):")
    for days in SERIES_DAYS:
        patient = _series(user, site, days)
        rows = CrsAssessment.objects.filter(patient=patient).order_by("assessment_date")
        first, last = rows.first(), rows.last()
        assert first.crs_grade == 1 and last.crs_grade == 2 and last.cycle_number == 1, (first, last)
        results: dict[str, list[tuple[float, int, int]]] = {"a": [], "b": []}
        for i in range(warmup + repeat):
            a, b = _correct(first, user, patient), _correct(last, user, patient)
            if i >= warmup:
                results["a"].append(a)
                results["b"].append(b)
        (a_time, a_sql, a_rows), (b_time, b_sql, b_rows) = (list(zip(*results[k], strict=True)) for k in "ab")
        # The corrected record writes one audit row itself; the others are the rows re-derived.
        a_rederived, b_rederived = [r - 1 for r in a_rows], [r - 1 for r in b_rows]
        ratios = [x / y for x, y in zip(a_time, b_time, strict=True)]
        per_row = (statistics.median(a_sql) - statistics.median(b_sql)) / (days - 1)
        print(f"    {days:>2} days (a) correct day 1:    {_spread(a_time)}, {_counts(a_sql)} statements, "
              f"{_counts(a_rederived)} rows re-derived")
        print(f"    {days:>2} days (b) correct last day: {_spread(b_time)}, {_counts(b_sql)} statements, "
              f"{_counts(b_rederived)} rows re-derived")
        print(f"    {days:>2} days ratio (a)/(b) {statistics.median(a_time) / statistics.median(b_time):5.1f}x "
              f"(per pair min-max {min(ratios):.1f}-{max(ratios):.1f}x; target <= 5x); "
              f"statements per re-derived row {per_row:.2f} (target <= 3)")


def _page_queries(client: Client, url: str, repeat: int = 5) -> tuple[int, float]:
    """Statements of one GET (counted by a wrapper: the test client's request_started clears queries_log)."""
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return len(queries), statistics.median(times)


def adverse_event_page(user, site, client: Client) -> None:
    """Queries of one patient's page with 1 adverse event, then with 30: does each event add a query?"""
    patient = _enrolled(user, site, "E", 0)
    treatment.treat(user, patient)  # one adverse event
    url = f"/patients/{patient.subject_id}/"
    one, one_time = _page_queries(client, url)
    terms = list(CtcaeTerm.objects.exclude(grade_3="").exclude(term__endswith="Other, specify")
                 .exclude(meddra_code=treatment.AE["term"]).order_by("meddra_code")
                 .values_list("meddra_code", flat=True)[:29])
    for k, term in enumerate(terms):
        treatment.adverse_event(user, patient, term=term, onset_date=CYCLE_START + timedelta(days=k % 20),
                                resolution_date=CYCLE_START + timedelta(days=k % 20 + 3))
    thirty, thirty_time = _page_queries(client, url)
    print(f"  patient page, 1 adverse event: {one} queries ({one_time * 1000:.1f} ms); 30 adverse events: "
          f"{thirty} queries ({thirty_time * 1000:.1f} ms); {(thirty - one) / 29:.2f} queries per added event")


def main(n: int, repeat: int, warmup: int) -> None:
    with scratch_study() as (site, (user,)):
        print(f"{connection.vendor}:")
        crs_days(user, site)
        series_rederivation(user, site, repeat, warmup)
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
        client.force_login(user)  # the site's coordinator
        adverse_event_page(user, site, client)
        page(client, f"/patients/{patients[0].subject_id}/", "patient page with the treatment summary")
        page(client, f"/patients/{patients[0].subject_id}/forms/adverseevent/new/", "new adverse event (837 terms)")
        check_patients([p.pk for p in patients])  # the data-quality run opens the queries the list shows
        page(client, "/quality/queries/?status=open", f"open queries ({n} treated patients, first page)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=50, help="treated patients for the pages (default 50)")
    parser.add_argument("--repeat", type=int, default=7, help="counted corrections of each kind (default 7, >= 5)")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted corrections of each kind first (2)")
    options = parser.parse_args()
    if options.repeat < 5:
        parser.error("--repeat must be at least 5")
    main(options.n, options.repeat, options.warmup)
