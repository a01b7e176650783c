"""A cohort of N patients with complete casebooks, for benchmarks that need the size of a whole study.

Building 5,000 patients through the one save path would take hours, so the cohort is made in two steps:

1. Four template patients are built through the one save path (the tests' builders, as users' saves; the
   per-save data-quality re-check is paused, as the demo loader pauses it), all on the test builders' calendar
   (eligible 2020-03-12, day 0 2020-06-15):
   - CB: alive in remission, five years: two blinatumomab cycles with daily CRS and ICANS, ten adverse events,
     daily counts to day +130, weekly acute GVHD, chronic GVHD, chimerism and immune reconstitution, CMV, EBV and
     adenovirus loads on the protocol's schedule and BK virus in urine, infections, a donor lymphocyte infusion,
     follow-up every 3 months to 60 months; still on study;
   - RD: one cycle, relapsed on day +200 (monitoring stops), died of the relapse on day +420, off study that day;
   - LF: two cycles, monitoring to month 24 with the 18-month chimerism recorded as not done, lost to
     follow-up after 24 months (off study);
   - CF: the lighter casebook of the test builders (one CRS day, one adverse event), CMV loads only, the
     60-month follow-up completed (off study).
   As of `AS_OF` none of them has a visit overdue.
2. The templates are cloned set-based, round robin, to make up N: a new patient row with the site's next subject
   ID, then for each CRF model (trial.crf.crf_models()) one `INSERT ... SELECT` that copies the templates' rows
   with the clone's patient id and no date shifted. Rows get ids computed from their template row (so that a
   foreign key between CRFs, e.g. a graft pointing at a donor, is remapped to the clone's row); other foreign keys
   (users, the site, the CTCAE dictionary) are kept. The clones' registration initials are three letters taken
   from their subject number (the templates' have two), so the duplicate-registration rule (same site, date of
   birth, sex and initials) never matches two clones.

The clones stand for data entered earlier: they have no audit rows of their own (the CRF guard refuses bulk
writes precisely because they leave none), so the nightly audit-trail check would report them, and tables that
are not CRFs (queries, access log) start empty for them. On PostgreSQL a role that may (a superuser, as the
benchmarks' DATABASE_URL) skips the row-by-row checks of the copies' deferred foreign keys, which would otherwise
take most of the time (5,000 clones: ~30 s instead of ~150 s); the keys the clone computes are checked set-based
instead. The tables are ANALYZEd after cloning, as a database that grew over months would be.

    from bench.cohort import AS_OF, complete_cohort
    ids = complete_cohort(5000, site, user)   # in a scratch study (bench.scratch)

Run alone, it builds a cohort in a scratch database and prints how long that takes:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/trial .venv/bin/python bench/cohort.py 5000
"""

import os
import string
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

import django  # noqa: E402

django.setup()

from django.core.management.color import no_style  # noqa: E402
from django.db import DatabaseError, connection, models, transaction  # noqa: E402

from patients.models import Patient, Registration, SubjectNumber  # noqa: E402
from patients.services import format_subject_id, register_patient  # noqa: E402
from tests import enrollment as build  # noqa: E402
from tests import transplant_forms as tx  # noqa: E402
from tests import treatment_forms as treatment  # noqa: E402
from transplant.models import ViralLoad  # noqa: E402
from treatment.models import CtcaeTerm  # noqa: E402
from trial.crf import Crf, crf_models, save_crf  # noqa: E402
from trial.models import MissedVisit  # noqa: E402
from trial.quality.hooks import checks_paused  # noqa: E402
from trial.visits import expected_visits  # noqa: E402

# A day after every template's last record (the 60-month follow-up is due 2025-06-15 ± 30 days): judged as of
# this day, no template has a visit overdue.
AS_OF = date(2025, 9, 1)
LETTERS = string.ascii_uppercase
MAX_CLONE_NUMBER = len(LETTERS) ** 3  # three-letter initials from the subject number


def complete_cohort(n: int, site, user, *, log: Callable[[str], None] = print) -> list[int]:
    """N patients of `site` with complete casebooks; returns their ids.

    The first call for a site builds the four templates through the save path (they are among the N) and clones
    them for the rest; a later call in the same database finds the templates and returns N new clones.
    """
    if n < 1:
        raise ValueError("a cohort has at least one patient")
    templates = _find_templates(site)
    built: list[int] = []
    if templates is None:
        start = time.perf_counter()
        templates = built = _build_templates(site, user)
        records = sum(_records(model, templates) for model in crf_models())
        log(f"  cohort: {len(templates)} template patients, {records} records, built through save_crf in "
            f"{time.perf_counter() - start:.1f} s")
        if n <= len(built):
            return built[:n]
    start = time.perf_counter()
    clones, rows = clone(templates, n - len(built), site, user)
    log(f"  cohort: {len(clones)} clones of the templates, {rows:,} CRF rows copied in "
        f"{time.perf_counter() - start:.1f} s ({connection.vendor})")
    return built + clones


# --- the templates, through the one save path --------------------------------------------------------------

# initials, sex, date of birth: two-letter initials, which no clone has
TEMPLATES = {
    "alive_in_remission": ("CB", "F", date(2012, 5, 3)),
    "relapsed_and_died": ("RD", "M", date(2009, 11, 20)),
    "lost_at_two_years": ("LF", "F", date(2015, 2, 14)),
    "completed_five_years": ("CF", "M", date(2010, 8, 30)),
}
RELAPSE_DAY, DEATH_DAY = 200, 420


def _find_templates(site) -> list[int] | None:
    found = {}
    for name, (initials, sex, born) in TEMPLATES.items():
        ids = list(Registration._base_manager.filter(site=site, initials=initials, sex=sex, date_of_birth=born)
                   .order_by("patient_id").values_list("patient_id", flat=True)[:1])
        if not ids:
            return None
        found[name] = ids[0]
    return list(found.values())


def _build_templates(site, user) -> list[int]:
    builders = {"alive_in_remission": _alive_in_remission, "relapsed_and_died": _relapsed_and_died,
                "lost_at_two_years": _lost_at_two_years, "completed_five_years": _completed_five_years}
    ids = []
    with checks_paused():  # the benchmarks run the data-quality engine themselves
        for name, (initials, sex, born) in TEMPLATES.items():
            registration = register_patient(user=user, site=site, confirm_not_duplicate=True, data={
                "initials": initials, "sex": sex, "date_of_birth": born, "registration_date": date(2020, 3, 9)})
            patient = registration.patient
            build.enroll(user, patient)
            builders[name](user, patient)
            ids.append(patient.pk)
    return ids


def _targets(patient, form: str) -> list[date]:
    """The target dates of a form's expected visits (the protocol's schedule, trial.visits)."""
    return [e.target for e in expected_visits([patient.pk])[patient.pk] if e.form == form]


def _cycle(user, patient, number: int, *, crs_days: tuple[int, ...] = (1, 2)) -> None:
    """A cycle with its 28 days of CRS and ICANS assessments (ICANS baseline on day 1), response and intrathecal."""
    cycle = treatment.cycle(user, patient, number)
    for day in range(28):
        when = cycle.start_date + timedelta(days=day)
        treatment.crs(user, patient, when, grade=1 if day in crs_days else 0)
        treatment.icans(user, patient, when, **({"baseline": "Y"} if day == 0 else {}))
    if number == 1:
        treatment.response(user, patient)
        treatment.intrathecal(user, patient)
    else:
        treatment.response(user, patient, cycle_number=2, assessment_date=date(2020, 5, 29))
        treatment.intrathecal(user, patient, cycle_number=2, administration_date=date(2020, 6, 10))


def _adverse_events(user, patient, count: int) -> None:
    terms = (CtcaeTerm.objects.exclude(grade_2="").exclude(term__endswith="Other, specify").order_by("meddra_code")
             .values_list("meddra_code", flat=True)[:count])
    for k, term in enumerate(terms):
        onset = date(2020, 3, 21) + timedelta(days=k * 2)
        treatment.adverse_event(user, patient, term=term, grade=2, onset_date=onset,
                                resolution_date=onset + timedelta(days=3))


def _transplant(user, patient, *, count_days: int) -> None:
    tx.donor(user, patient)
    tx.graft(user, patient)
    tx.procedure(user, patient)
    tx.series(user, patient, tx.engrafting_counts(count_days))


def _monitoring(user, patient, *, until_day: int, viruses: tuple[str, ...] = ("cmv", "ebv", "adv"),
                months: tuple[int, ...] = (3, 6, 12, 18)) -> None:
    """Weekly acute GVHD, chronic GVHD, chimerism and immune reconstitution and viral loads, up to `until_day`."""
    for day in range(7, min(99, until_day), 7):
        tx.acute_gvhd(user, patient, day, **({"skin_stage": 1} if day in (21, 28) else {}))
    for day in (100, 183, 365, 548, 730):
        if day < until_day:
            tx.chronic_gvhd(user, patient, day)
    for month, day in ((3, 92), (6, 183), (12, 365), (18, 548)):
        if day < until_day and month in months:
            tx.chimerism(user, patient, month, day)
        if day < until_day:
            tx.immune(user, patient, month, day)
    for when in _targets(patient, "transplant.ViralLoad"):
        day = (when - tx.DAY0).days
        if day < until_day:
            for virus in viruses:
                tx.viral_load(user, patient, day, virus=virus, load=4200 if virus == "cmv" and 28 <= day <= 49
                              else None)


def _follow_up(user, patient, *, until: date, **changes) -> date:
    """Follow-up contacts on their target dates up to `until`; returns the last one's date."""
    last = None
    for when in _targets(patient, "patients.FollowUp"):
        if when <= until:
            tx.follow_up(user, patient, when, **changes)
            last = when
    return last


def bk_infections_and_dli(user, patient) -> None:
    """BK virus in urine weekly to day +98, ten infections to day +410 and a DLI at day +380 (bench/casebook.py too)."""
    for day in range(7, 99, 7):
        save_crf(ViralLoad(patient=patient), user=user, complete=True, data={
            "sample_date": tx.on_day(day), "virus": "bk", "specimen": "urine", "preemptive_treatment": "N",
            "result": "not_detected"})
    for day in (5, 12, 26, 40, 61, 88, 130, 200, 320, 410):
        tx.infection(user, patient, day, pathogen="Klebsiella pneumoniae" if day % 2 else "Escherichia coli")
    tx.dli(user, patient, 380)


def _alive_in_remission(user, patient) -> None:
    treatment.debulking(user, patient)
    _cycle(user, patient, 1)
    _cycle(user, patient, 2)
    _adverse_events(user, patient, 10)
    _transplant(user, patient, count_days=130)
    _monitoring(user, patient, until_day=10_000)
    bk_infections_and_dli(user, patient)
    _follow_up(user, patient, until=AS_OF)


def _relapsed_and_died(user, patient) -> None:
    treatment.debulking(user, patient)
    _cycle(user, patient, 1, crs_days=(1,))
    _adverse_events(user, patient, 3)
    _transplant(user, patient, count_days=30)
    _monitoring(user, patient, until_day=RELAPSE_DAY, viruses=("cmv", "ebv"))
    tx.infection(user, patient, 40)
    _follow_up(user, patient, until=tx.on_day(RELAPSE_DAY - 1))
    tx.relapse_after(user, patient, RELAPSE_DAY)
    _follow_up_after(user, patient, after=tx.on_day(RELAPSE_DAY), until=tx.on_day(DEATH_DAY - 1),
                     disease_status="relapsed")
    treatment.death(user, patient, tx.on_day(DEATH_DAY), cause="relapse")
    tx.off_study(user, patient, tx.on_day(DEATH_DAY), reason="death")


def _follow_up_after(user, patient, *, after: date, until: date, **changes) -> None:
    for when in _targets(patient, "patients.FollowUp"):
        if after < when <= until:
            tx.follow_up(user, patient, when, **changes)


def _lost_at_two_years(user, patient) -> None:
    treatment.debulking(user, patient)
    _cycle(user, patient, 1)
    _cycle(user, patient, 2, crs_days=())
    _adverse_events(user, patient, 2)
    _transplant(user, patient, count_days=45)
    _monitoring(user, patient, until_day=731, viruses=("cmv", "ebv"), months=(3, 6, 12))
    save_crf(MissedVisit(patient=patient), user=user, complete=True, data={
        "visit_key": "M18", "form": "transplant.Chimerism", "not_done_reason": "No sample: the family travelled"})
    last = _follow_up(user, patient, until=tx.on_day(731))
    tx.off_study(user, patient, last + timedelta(days=16), reason="lost")


def _completed_five_years(user, patient) -> None:
    treatment.treat(user, patient)
    treatment.cycle(user, patient, 2)
    treatment.response(user, patient, cycle_number=2, assessment_date=date(2020, 5, 29))
    treatment.intrathecal(user, patient, cycle_number=2, administration_date=date(2020, 6, 10))
    _transplant(user, patient, count_days=30)
    _monitoring(user, patient, until_day=10_000, viruses=("cmv",))
    tx.infection(user, patient, 12)
    last = _follow_up(user, patient, until=AS_OF)
    tx.off_study(user, patient, last + timedelta(days=5), reason="completed")


# --- the clones, set-based -----------------------------------------------------------------------------------

def _records(model: type[models.Model], patient_ids: list[int]) -> int:
    return model._base_manager.filter(patient_id__in=patient_ids).count()


def clone(templates: list[int], n: int, site, user) -> tuple[list[int], int]:
    """N clones of `templates` (round robin) at `site`, in one transaction; returns their ids and the CRF rows
    copied. No audit rows: see the module's docstring."""
    if n <= 0:
        return [], 0
    targets = [model for model in crf_models() if _records(model, templates)]
    for model in targets:
        _check_clonable(model)
    q = connection.ops.quote_name
    with transaction.atomic():
        counter, _created = SubjectNumber.objects.select_for_update().get_or_create(site=site)
        first = counter.last_number + 1
        if first + n > MAX_CLONE_NUMBER:
            raise ValueError(f"at most {MAX_CLONE_NUMBER - 1} subject numbers per site (three-letter initials)")
        # scratch database only: reserve the clones' subject numbers in one step (a counter, not CRF data)
        SubjectNumber.objects.filter(pk=counter.pk).update(last_number=counter.last_number + n)
        patients = [Patient(site=site, created_by=user, subject_id=format_subject_id(site.code, first + k))
                    for k in range(n)]
        # The patient guard refuses bulk creation (no audit row): the clones stand for patients registered earlier.
        models.QuerySet.bulk_create(Patient._base_manager.all(), patients, batch_size=1000)
        with connection.cursor() as cursor:
            _skip_row_checks(cursor)
            cursor.execute("CREATE TEMPORARY TABLE bench_clone (seq integer NOT NULL, template_id integer NOT NULL, "
                           "patient_id integer NOT NULL, initials varchar(3) NOT NULL)")
            cursor.executemany("INSERT INTO bench_clone (seq, template_id, patient_id, initials) "
                               "VALUES (%s, %s, %s, %s)",
                               [(k, templates[k % len(templates)], patient.pk, _initials(first + k))
                                for k, patient in enumerate(patients)])
            # Each model's rows get ids past its largest: the template row ranked r (by id) becomes, in clone k,
            # first + k * (template rows) + r, so a foreign key to it is computed the same way.
            blocks = {}
            for model in targets:
                cursor.execute(f"SELECT COALESCE(MAX({q(model._meta.pk.column)}), 0) "  # noqa: S608 - metadata
                               f"FROM {q(model._meta.db_table)}")
                blocks[model] = (cursor.fetchone()[0], _records(model, templates))
            rows = 0
            for model in targets:
                cursor.execute(_copy_sql(model, blocks, templates))
                per_template = dict(model._base_manager.filter(patient_id__in=templates).values_list("patient_id")
                                    .annotate(n=models.Count("pk")).order_by())
                expected = sum(per_template.get(templates[k % len(templates)], 0) for k in range(n))
                if cursor.rowcount != expected:
                    raise AssertionError(f"{model._meta.label}: {cursor.rowcount} rows copied, {expected} expected")
                rows += cursor.rowcount
            for model in targets:
                _check_remapped(cursor, model, blocks)
            for sql in connection.ops.sequence_reset_sql(no_style(), targets):
                cursor.execute(sql)
            cursor.execute("DROP TABLE bench_clone")
    with connection.cursor() as cursor:  # planner statistics, as a database that grew over months has them
        for model in [Patient, *targets]:
            cursor.execute(f"ANALYZE {q(model._meta.db_table)}")
    return [patient.pk for patient in patients], rows


def _skip_row_checks(cursor) -> bool:
    """Skip PostgreSQL's row-by-row foreign-key checks for this transaction, when the database role may.

    Django's foreign keys are deferred: PostgreSQL checks each inserted row's keys at commit, some four checks per
    copied row, most of the time of a large clone. The copies' keys are those of checked rows (the site, the users,
    the CTCAE term), the new patients', or computed (a CRF's row: `_check_remapped` checks them set-based), so
    the clone skips them as `pg_restore --disable-triggers` does (a superuser's session_replication_role)."""
    if connection.vendor != "postgresql":
        return False
    try:
        with transaction.atomic():  # a savepoint: a role that may not leaves the transaction usable
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _check_remapped(cursor, model: type[Crf], blocks: dict) -> None:
    """Every remapped key of the clones points at a row of the same clone."""
    q = connection.ops.quote_name
    patient = q(model._meta.get_field("patient").column)
    for field in model._meta.concrete_fields:
        if not (field.is_relation and field.related_model in blocks):
            continue
        related = field.related_model._meta
        cursor.execute(
            f"SELECT COUNT(*) FROM {q(model._meta.db_table)} o "  # noqa: S608 - identifiers from model metadata
            f"JOIN bench_clone c ON c.patient_id = o.{patient} LEFT JOIN {q(related.db_table)} r "
            f"ON r.{q(related.pk.column)} = o.{q(field.column)} WHERE o.{q(field.column)} IS NOT NULL AND "
            f"(r.{q(related.pk.column)} IS NULL OR r.{q(related.get_field('patient').column)} <> o.{patient})")
        wrong = cursor.fetchone()[0]
        if wrong:
            raise AssertionError(f"{model._meta.label}.{field.name}: {wrong} clones point outside their casebook")


def _initials(number: int) -> str:
    return LETTERS[number // 676 % 26] + LETTERS[number // 26 % 26] + LETTERS[number % 26]


def _check_clonable(model: type[Crf]) -> None:
    """A unique key without the patient, or a many-to-many table, would need more than a copy with a new patient."""
    meta = model._meta
    unique = [(f.name,) for f in meta.concrete_fields if f.unique and not f.primary_key]
    unique += [tuple(c.fields) for c in meta.constraints if isinstance(c, models.UniqueConstraint)]
    unique += [tuple(fields) for fields in meta.unique_together]
    for fields in unique:
        if "patient" not in fields:
            raise NotImplementedError(f"bench.cohort cannot clone {meta.label}: unique {fields} without the patient")
    if meta.local_many_to_many:
        raise NotImplementedError(f"bench.cohort cannot clone {meta.label}: many-to-many fields")


def _copy_sql(model: type[Crf], blocks: dict, templates: list[int]) -> str:
    q = connection.ops.quote_name
    meta = model._meta
    pk = q(meta.pk.column)
    patient = q(meta.get_field("patient").column)
    in_templates = f"IN ({', '.join(str(int(t)) for t in templates)})"
    first, size = blocks[model]
    columns, values, joins = [pk], [f"{first} + c.seq * {size} + o.bench_rank"], []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        column = q(field.column)
        columns.append(column)
        if field.name == "patient":
            values.append("c.patient_id")
        elif model is Registration and field.name == "initials":
            values.append("c.initials")
        elif field.is_relation and field.related_model in blocks:  # a CRF's row: the clone's copy of it
            related = field.related_model
            alias = f"r{len(joins)}"
            related_first, related_size = blocks[related]
            related_pk = q(related._meta.pk.column)
            ranked = (f"SELECT {related_pk} AS id, ROW_NUMBER() OVER (ORDER BY {related_pk}) AS bench_rank "  # noqa: S608
                      f"FROM {q(related._meta.db_table)} WHERE {q(related._meta.get_field('patient').column)} "
                      f"{in_templates}")
            joins.append(f"LEFT JOIN ({ranked}) {alias} ON {alias}.id = o.{column}")
            values.append(f"CASE WHEN o.{column} IS NULL THEN NULL "
                          f"ELSE {related_first} + c.seq * {related_size} + {alias}.bench_rank END")
        else:
            values.append(f"o.{column}")
    table = q(meta.db_table)
    return (f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} "  # noqa: S608 - metadata
            f"FROM (SELECT t.*, ROW_NUMBER() OVER (ORDER BY t.{pk}) AS bench_rank FROM {table} t "
            f"WHERE t.{patient} {in_templates}) o JOIN bench_clone c ON c.template_id = o.{patient} "
            + " ".join(joins))


if __name__ == "__main__":
    import argparse

    from bench.scratch import scratch_study

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, nargs="?", default=500, help="patients (default 500)")
    options = parser.parse_args()
    with scratch_study() as (site, (user,)):
        ids = complete_cohort(options.n, site, user)
        total = sum(_records(model, ids) for model in crf_models())
        print(f"{connection.vendor}: {len(ids)} patients, {total:,} CRF records ({total / len(ids):.0f} per patient)")
