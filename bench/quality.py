"""Benchmark: a full-study run of the data-quality engine (every registered rule) on 500 and 5,000 patients.

For each size it builds a cohort of complete casebooks (bench.cohort: templates through the save path, cloned
set-based; enrollment, treatment, transplant and follow-up to 60 months, a death, going off study), plants a
small known number of errors on 1 % of the patients the way a legacy import leaves them (a column written
directly: a follow-up dated after the day of the run, or a value outside its soft range but inside its hard
range), then times `trial.quality.engine.check_patients(ids, today=AS_OF)`, AS_OF being a day after the data:

- run 1 opens the queries: wall time, this process's CPU time (the rest is the database's work), patients/s,
  findings, queries opened, SQL statements (counted with an execute_wrapper) and rows written;
- runs 2.. change no data and must write nothing: R rounds (median, min-max), statements and rows written;
- one more unchanged run under tracemalloc for the peak of Python memory (not timed: tracing slows Python), and
  the process's max RSS;
- queries opened per rule, whether each planted error was found (and by which rule), and, for the largest size,
  where the time goes: each rule's time and statements over the whole cohort (run alone, chunk by chunk), the
  rest being the engine's locking and syncing of queries.

A warm-up first builds the templates and checks a small clean cohort twice (uncounted); its findings are those
of clean casebooks (expected: visits recorded as not done and genuine soft ranges only). The benchmark names no
rule: it runs whatever the apps have registered. Targets: >= 200 patients/s for the full rule set on 2 cores; SQL
statements per patient constant from 500 to 5,000 patients; a re-run with no data change writes nothing. Both
sizes take about 20 minutes on 2 busy cores (the database is created, the templates built once, each run of the
5,000 patients repeated six times).

Runs in a scratch test database it creates and drops (PostgreSQL is the target; SQLite works too):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/quality.py --sizes 500 5000
    (--rounds R, default 3; --warmup N, default 20 patients; --profile: cProfile of one unchanged run)
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import resource
import statistics
import sys
import textwrap
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, models  # noqa: E402

from bench.cohort import AS_OF, complete_cohort  # noqa: E402
from bench.scratch import scratch_study  # noqa: E402
from patients.models import FollowUp  # noqa: E402
from trial.crf import crf_models  # noqa: E402
from trial.quality.engine import check_patients, scope_for  # noqa: E402
from trial.quality.models import Query  # noqa: E402
from trial.quality.registry import rules  # noqa: E402
from trial.ranges import fields_with_soft_range  # noqa: E402

TARGET_PATIENTS_PER_S = 200
PLANTED_SHARE = 0.01
WRITES = ("INSERT", "UPDATE", "DELETE")


class Statements:
    """An execute_wrapper that counts SQL statements, the writing ones and the rows they wrote."""

    def __init__(self) -> None:
        self.total = self.writes = self.rows_written = 0
        self.written: Counter[str] = Counter()

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        self.total += 1
        verb = sql.lstrip()[:6].upper()
        if verb in WRITES:
            self.writes += 1
            rows = max(context["cursor"].rowcount, 0)
            self.rows_written += rows
            if rows:
                self.written[f"{verb} {_table(sql, verb)}"] += rows
        return result


def _table(sql: str, verb: str) -> str:
    words = sql.replace('"', "").split()
    after = {"INSERT": "INTO", "DELETE": "FROM", "UPDATE": "UPDATE"}[verb]
    upper = [w.upper() for w in words]
    return words[upper.index(after) + 1] if after in upper and upper.index(after) + 1 < len(words) else "?"


@dataclass
class Run:
    wall: float
    cpu: float
    tally: object  # trial.quality.engine.Tally: patients, findings, opened, closed, changed
    statements: Statements


def run_engine(ids: list[int]) -> Run:
    """One full run of the engine over `ids`, its SQL counted."""
    counted = Statements()
    with connection.execute_wrapper(counted):
        wall, cpu = time.perf_counter(), time.process_time()
        tally = check_patients(ids, today=AS_OF)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Run(wall, cpu, tally, counted)


@dataclass
class Planted:
    patient_id: int
    form: str
    record_id: int
    field: str
    kind: str
    what: str
    found_by: list[str] = field(default_factory=list)


def plant(ids: list[int], seed: int = 7) -> list[Planted]:
    """Errors on 1 % of the patients (at least one), written straight into the column as a legacy import would:
    every other one a follow-up contact dated after the run's day, the others a value outside its soft range."""
    chosen = sorted(random.Random(seed).sample(ids, max(1, round(len(ids) * PLANTED_SHARE))))
    planted = []
    for k, patient_id in enumerate(chosen):
        found = (_future_contact(patient_id) if k % 2 == 0 else None) or _outside_soft_range(patient_id)
        if found is not None:
            planted.append(found)
    return planted


def _future_contact(patient_id: int) -> Planted | None:
    pk = (FollowUp._base_manager.filter(patient_id=patient_id).order_by("-contact_date", "-pk")
          .values_list("pk", flat=True).first())
    if pk is None:
        return None
    when = AS_OF + timedelta(days=45)
    # scratch database only: a planted error stands for data an import left, written without the save path on purpose
    FollowUp._base_manager.filter(pk=pk).update(contact_date=when)
    return Planted(patient_id, FollowUp._meta.label, pk, "contact_date", "dated after the run's day",
                   f"contact date {when} (after the run's day)")


def _outside_soft_range(patient_id: int) -> Planted | None:
    """The first soft-ranged field (casebook order) of a record the patient has, set half-way between the soft and
    the hard maximum."""
    for model in crf_models():
        fields = [(f, limits) for f, limits in fields_with_soft_range(model) if limits.hard[1] > limits.soft[1]]
        if not fields:
            continue
        pk = model._base_manager.filter(patient_id=patient_id).order_by("pk").values_list("pk", flat=True).first()
        if pk is None:
            continue
        column, limits = fields[0]
        value = (Decimal(str(limits.soft[1])) + Decimal(str(limits.hard[1]))) / 2
        value = value.quantize(Decimal(1).scaleb(-column.decimal_places)) if isinstance(
            column, models.DecimalField) else int(value)
        # scratch database only: as an import would leave it, not through the save path (on purpose)
        model._base_manager.filter(pk=pk).update(**{column.name: value})
        return Planted(patient_id, model._meta.label, pk, column.name, "outside the soft range",
                       f"{column.name} {value} (soft range {limits.soft_text()})")
    return None


def _found(planted: list[Planted]) -> None:
    for error in planted:
        error.found_by = sorted(set(Query._base_manager.filter(
            patient_id=error.patient_id, form=error.form, record_id=error.record_id, field=error.field)
            .values_list("rule", flat=True)))


def _queries_by_rule(ids: list[int]) -> str:
    counts = (Query._base_manager.filter(patient_id__in=ids).exclude(rule="").values_list("rule")
              .annotate(n=models.Count("pk")).order_by("-n", "rule"))
    return ", ".join(f"{rule} {n:,}" for rule, n in counts) or "none"


def _records(ids: list[int]) -> int:
    return sum(model._base_manager.filter(patient_id__in=ids).count() for model in crf_models())


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s (min-max {min(values):.2f}-{max(values):.2f})"


def _load() -> str:
    return ", ".join(f"{n:.1f}" for n in os.getloadavg())


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _traced_peak_mib(ids: list[int]) -> float:
    tracemalloc.start()
    try:
        check_patients(ids, today=AS_OF)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _chunk_size() -> int:
    return settings.QUALITY_CHUNK_SIZE


def _per_rule(ids: list[int]) -> None:
    """Each rule alone over the cohort, chunk by chunk as the engine runs it (no locking, no sync)."""
    chunk = _chunk_size()
    ids = sorted(ids)
    scopes = [scope_for(ids[start:start + chunk], AS_OF) for start in range(0, len(ids), chunk)]
    timings = []
    for checked in rules():
        counted = Statements()
        with connection.execute_wrapper(counted):
            start = time.perf_counter()
            hits = sum(1 for scope in scopes for _hit in checked.check(scope))
            elapsed = time.perf_counter() - start
        timings.append((elapsed, checked.code, counted.total, hits))
    total = sum(t[0] for t in timings)
    print(f"  where the time goes, {len(ids):,} patients: the {len(timings)} rules alone take {total:.2f} s "
          f"(the rest of a run is locking the patients and syncing the queries); slowest first:")
    for elapsed, code, statements, hits in sorted(timings, reverse=True)[:12]:
        print(f"    {code:<10} {elapsed:6.2f} s  {statements:5} statements ({statements / len(scopes):.0f} per chunk "
              f"of {chunk})  {hits:6,} findings")


def _profile(ids: list[int]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    check_patients(ids, today=AS_OF)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(
        r"/work/main/(trial|patients|treatment|transplant)/", 20)
    print(f"  --- one unchanged run of {len(ids):,} patients: the project's most expensive calls (cumulative) ---")
    print("\n".join(line for line in out.getvalue().splitlines()[-24:] if line.strip()))


def measure(n: int, site, user, rounds: int) -> dict:
    print(f"\nN = {n:,} (load average {_load()})")
    ids = complete_cohort(n, site, user, log=print)
    records = _records(ids)
    planted = plant(ids)
    print(f"  {records:,} CRF records ({records / n:.0f} per patient); planted {len(planted)} error(s) on "
          f"{len(planted)} patient(s) ({PLANTED_SHARE:.0%}): "
          + ", ".join(f"{what} {k}" for what, k in Counter(p.kind for p in planted).items()))
    first = run_engine(ids)
    unchanged = [run_engine(ids) for _ in range(rounds)]
    writes = sum(r.statements.writes for r in unchanged)
    written = sum(r.statements.rows_written for r in unchanged)
    changed = sum(r.tally.opened + r.tally.closed + r.tally.changed for r in unchanged)
    rate = n / statistics.median([r.wall for r in unchanged])
    per_patient = statistics.median([r.statements.total for r in unchanged]) / n
    print(f"  run 1 (opens the queries): {first.wall:.2f} s wall, {first.cpu:.2f} s CPU in this process; "
          f"{n / first.wall:,.0f} patients/s; {first.tally.findings:,} findings, {first.tally.opened:,} queries "
          f"opened; {first.statements.total:,} SQL statements ({first.statements.total / n:.2f} per patient), "
          f"{first.statements.rows_written:,} rows written")
    verdict = "ok" if rate >= TARGET_PATIENTS_PER_S else "UNDER TARGET"
    label = "run 2" if rounds == 1 else f"runs 2-{rounds + 1}"
    print(f"  {label} (no data change): wall {_spread([r.wall for r in unchanged])}, CPU in this "
          f"process {_spread([r.cpu for r in unchanged])}; {rate:,.0f} patients/s (target >= "
          f"{TARGET_PATIENTS_PER_S}) [{verdict}]; this process's CPU alone allows "
          f"{n / statistics.median([r.cpu for r in unchanged]):,.0f} patients/s")
    verdict = "ok" if written == 0 and changed == 0 else "WROTE ROWS"
    print(f"    {per_patient:.2f} SQL statements per patient; {writes} writing statements, {written} rows written "
          f"over the {rounds} runs, {changed} queries opened, closed or changed (target: nothing) [{verdict}]"
          + (f" {dict(sum((r.statements.written for r in unchanged), Counter()))}" if written else ""))
    print(f"  memory: tracemalloc peak of one unchanged run {_traced_peak_mib(ids):.1f} MiB; max RSS of the "
          f"process so far {_max_rss_mib():.0f} MiB")
    print(f"  queries of the cohort by rule: {_queries_by_rule(ids)}")
    _found(planted)
    found = [p for p in planted if p.found_by]
    rules_found = Counter(code for p in found for code in p.found_by)
    print(f"  planted errors found: {len(found)} of {len(planted)} (" + (", ".join(
        f"{code} {k}" for code, k in rules_found.most_common()) or "no rule") + ")")
    for error in [p for p in planted if not p.found_by][:3]:
        print(f"    not found: {error.form} {error.record_id}: {error.what}")
    return {"ids": ids, "rate": rate, "per_patient": per_patient, "first_per_patient": first.statements.total / n,
            "written": written}


def main(sizes: list[int], rounds: int, warmup: int, profile: bool) -> None:
    print(f"{connection.vendor}: data-quality engine, full study run as of {AS_OF}; {len(rules())} rules "
          f"registered; {os.cpu_count()} CPUs, load average {_load()}")
    with scratch_study() as (site, (user,)):
        print(f"\nwarm-up: {warmup} clean patients (the templates and clones of them), checked twice, uncounted")
        warm = complete_cohort(warmup, site, user, log=print)
        clean = run_engine(warm)
        run_engine(warm)
        print(f"  clean casebooks: {clean.tally.findings} findings ({_queries_by_rule(warm)}); "
              f"{len(rules())} rules: {', '.join(r.code for r in rules())}")
        results = {n: measure(n, site, user, rounds) for n in sizes}
        largest = max(sizes)
        print()
        _per_rule(results[largest]["ids"])
        if profile:
            _profile(results[largest]["ids"])
        print(f"\nsummary ({connection.vendor}, {os.cpu_count()} CPUs, load average {_load()}):")
        for n, result in results.items():
            print(f"  {n:>6,} patients: {result['rate']:,.0f} patients/s (target >= {TARGET_PATIENTS_PER_S}); "
                  f"{result['per_patient']:.2f} statements per patient unchanged, {result['first_per_patient']:.2f} "
                  f"in run 1; {result['written']} rows written by the unchanged runs (target 0)")
        if len(results) > 1:
            values = [r["per_patient"] for r in results.values()]
            trend = ("constant" if max(values) <= min(values) * 1.1 else "GROWS" if values[-1] > values[0]
                     else f"falls: a fixed number per chunk of {_chunk_size()} patients, spread over fewer patients")
            print(f"  SQL statements per patient (unchanged runs) from {sizes[0]:,} to {sizes[-1]:,} patients: "
                  + " -> ".join(f"{v:.2f}" for v in values) + f" (target: constant) [{trend}]")
        print(textwrap.fill(
            "What this leaves out: the Celery worker and its broker (the run is called in-process, as the task "
            "does), the notification emails (the benchmark's coordinator has no address), concurrent saves that "
            "wait for the chunk's row locks, a cold cache of the database or the operating system, the re-check of "
            "one patient after each save, the query pages and the audit trail's own tables (clones have no audit "
            "rows). Every cloned patient follows one of four templates on one calendar, so the data are more "
            "regular than a real study's, and the findings are mostly those planted; the database runs on the "
            "same machine, beside whatever else the machine runs.", width=116))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000], help="cohort sizes (default 500 5000)")
    parser.add_argument("--rounds", type=int, default=3, help="unchanged runs per size (default 3)")
    parser.add_argument("--warmup", type=int, default=20, help="patients of the warm-up cohort (default 20)")
    parser.add_argument("--profile", action="store_true", help="cProfile one unchanged run of the largest size")
    options = parser.parse_args()
    if options.rounds < 1 or min(options.sizes) < 1:
        parser.error("--rounds and --sizes must be at least 1")
    main(options.sizes, options.rounds, options.warmup, options.profile)
