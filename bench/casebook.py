"""Benchmark: the patient page and the patient's journey for a casebook of five years of follow-up (~500 records).

Builds one patient through the one save path (tests' builders, as users' saves): enrollment; debulking and two
blinatumomab cycles with daily CRS and ICANS, adverse events, responses and intrathecal therapy; donor, graft and
day 0 (2020-06-15); daily counts to day +130; weekly acute GVHD to day +98 (grade II once); chronic GVHD at day
+100 and 6, 12, 18 and 24 months; chimerism and immune reconstitution at 3, 6, 12 and 18 months (complete
chimerism lost at 12); CMV, EBV and adenovirus loads on the protocol's schedule (weekly to day +180, every two
weeks to +365, monthly to month 24; a CMV reactivation), BK virus in urine weekly to day +98; infections, a donor
lymphocyte infusion and follow-up contacts every 3 months to 60 months. The patient is alive and on study, so the
schedule runs to today.

Then, with the Django test client in-process (the site's coordinator logged in), it times the patient page (the
casebook, the schedule, the treatment and transplant panels) and the journey page: a warm-up of uncounted
requests, then R rounds, each page first in turn. It prints the median and min-max server time in ms (wall clock,
and the process's CPU time, which includes SQLite's work and is less disturbed by other processes on a busy
machine), the SQL statements of one request and the machine's load average. Target: <= 300 ms each. With
--profile it also prints where one request's time goes (the project's most expensive calls, cumulative).

Runs in a scratch test database it creates and drops (set DATABASE_URL for PostgreSQL):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/casebook.py --rounds 9
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import translation  # noqa: E402

from bench.cohort import bk_infections_and_dli  # noqa: E402
from bench.scratch import scratch_study  # noqa: E402
from patients.services import register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402
from tests import transplant_forms as tx  # noqa: E402
from tests import treatment_forms as treatment  # noqa: E402
from treatment.models import CtcaeTerm  # noqa: E402
from trial.crf import crf_models  # noqa: E402
from trial.visits import expected_visits  # noqa: E402

TARGET_MS = 300


def _treatment(user, patient) -> None:
    treatment.debulking(user, patient)
    for number in (1, 2):
        cycle = treatment.cycle(user, patient, number)
        for day in range(28):
            when = cycle.start_date + timedelta(days=day)
            treatment.crs(user, patient, when, grade=1 if day in (1, 2) else 0)
            treatment.icans(user, patient, when, **({"baseline": "Y"} if day == 0 else {}))
        response = {"cycle_number": 2, "assessment_date": date(2020, 5, 29)} if number == 2 else {}
        treatment.response(user, patient, **response)
        treatment.intrathecal(user, patient, **({"cycle_number": 2, "administration_date": date(2020, 6, 10)}
                                                if number == 2 else {}))
    terms = (CtcaeTerm.objects.exclude(grade_2="").exclude(term__endswith="Other, specify").order_by("meddra_code")
             .values_list("meddra_code", flat=True)[:10])
    for k, term in enumerate(terms):
        onset = date(2020, 3, 21) + timedelta(days=k * 2)
        treatment.adverse_event(user, patient, term=term, grade=2, onset_date=onset,
                                resolution_date=onset + timedelta(days=3))


def _targets(patient, form: str) -> list[date]:
    """The target dates of a form's expected visits (the protocol's schedule, trial.visits)."""
    return [e.target for e in expected_visits([patient.pk])[patient.pk] if e.form == form]


def five_years(user, site):
    """One patient with five years of follow-up; returns it with the number of records per form."""
    registration = register_patient(user=user, site=site, confirm_not_duplicate=True, data={
        "initials": "CBK", "sex": "F", "date_of_birth": date(2012, 5, 3), "registration_date": date(2020, 3, 9)})
    patient = registration.patient
    build.enroll(user, patient)
    _treatment(user, patient)
    tx.donor(user, patient)
    tx.graft(user, patient)
    tx.procedure(user, patient)
    tx.counts(user, patient, tx.engrafting_counts(130))
    for day in range(7, 99, 7):
        tx.acute_gvhd(user, patient, day, **({"skin_stage": 2, "upper_gi_stage": 1} if day == 35 else
                                            {"skin_stage": 1} if day in (21, 28, 42) else {}))
    for day in (100, 183, 365, 548, 730):
        tx.chronic_gvhd(user, patient, day, **({"mouth_score": 1} if day >= 183 else {}))
    for months, day in ((3, 92), (6, 183), (12, 365), (18, 548)):
        tx.chimerism(user, patient, months, day, **({"whole_blood": "91.0", "cd3": "88.0"} if months == 12 else {}))
        tx.immune(user, patient, months, day)
    for when in _targets(patient, "transplant.ViralLoad"):
        day = (when - tx.DAY0).days
        tx.viral_load(user, patient, day, load=4200 if 28 <= day <= 49 else None)
        tx.viral_load(user, patient, day, virus="ebv")
        tx.viral_load(user, patient, day, virus="adv")
    bk_infections_and_dli(user, patient)
    for when in _targets(patient, "patients.FollowUp"):
        tx.follow_up(user, patient, when)
    with translation.override("en"):
        counts = {str(model._meta.verbose_name_plural): model.objects.filter(patient=patient).count()
                  for model in crf_models()}
    return patient, {name: n for name, n in counts.items() if n}


def _statements(client: Client, url: str) -> int:
    """SQL statements of one GET (counted by a wrapper: the test client's request_started clears queries_log)."""
    seen = 0

    def count(execute, sql, params, many, context):
        nonlocal seen
        seen += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    return seen


def _spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):6.1f} ms (min-max {min(ms):.1f}-{max(ms):.1f})"


def _profile(client: Client, url: str, label: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"/work/main/(trial|patients|treatment|transplant)/", 12)
    print(f"  --- {label}: the project's most expensive calls (cumulative) ---")
    print("\n".join(line for line in out.getvalue().splitlines()[-16:] if line.strip()))


def main(rounds: int, warmup: int, profile: bool) -> None:
    with scratch_study() as (site, (user,)):
        start = time.perf_counter()
        patient, counts = five_years(user, site)
        total = sum(counts.values())
        print(f"{connection.vendor}: one patient, {total} records over five years, built through save_crf in "
              f"{time.perf_counter() - start:.1f} s")
        print(textwrap.fill("  " + ", ".join(f"{name} {n}" for name, n in counts.items()), width=116,
                            subsequent_indent="  "))
        client = Client()
        client.force_login(user)  # the site's coordinator
        pages = {"patient page": f"/patients/{patient.subject_id}/",
                 "journey": f"/patients/{patient.subject_id}/journey/"}
        for url in pages.values():
            for _ in range(warmup):
                client.get(url)
        times: dict[str, list[float]] = {name: [] for name in pages}
        cpu: dict[str, list[float]] = {name: [] for name in pages}
        for r in range(rounds):
            order = list(pages.items()) if r % 2 == 0 else list(reversed(pages.items()))
            for name, url in order:
                begin, begin_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times[name].append(time.perf_counter() - begin)
                cpu[name].append(time.process_time() - begin_cpu)
                assert response.status_code == 200, (url, response.status_code)
        load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
        print(f"  server time per request, median over {rounds} rounds after {warmup} uncounted requests per page "
              f"(each page first in turn); target <= {TARGET_MS} ms; load average {load} on {os.cpu_count()} CPUs:")
        for name, url in pages.items():
            verdict = "ok" if statistics.median(times[name]) * 1000 <= TARGET_MS else "OVER TARGET"
            print(f"    {name:<13} wall {_spread(times[name])}; CPU {_spread(cpu[name])}; "
                  f"{_statements(client, url)} SQL statements, {len(client.get(url).content) // 1024} KiB  [{verdict}]")
        if profile:
            for name, url in pages.items():
                _profile(client, url, name)
        print(textwrap.fill(
            "What this leaves out: the browser (network, TLS, parsing and painting the HTML, the stylesheet); "
            "gunicorn workers, the reverse proxy and request queueing; other users' requests and the lock waits "
            "they cause; connection setup (the test client keeps one connection open, where a server with "
            "DATABASE_CONN_MAX_AGE=0 opens one per request); a cold cache of the database or the operating system "
            "(the warm-up reads everything first). The tables hold this one patient and nothing else; one process "
            "runs the server code on the same machine as the database, beside whatever else the machine runs.",
            width=116))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="counted requests per page (default 9, >= 5)")
    parser.add_argument("--warmup", type=int, default=3, help="uncounted requests per page first (default 3)")
    parser.add_argument("--profile", action="store_true", help="also print where one request's time goes")
    options = parser.parse_args()
    if options.rounds < 5:
        parser.error("--rounds must be at least 5")
    main(options.rounds, options.warmup, options.profile)
