"""Run the data-quality rules and keep exactly one query per finding.

Patients are checked in chunks. Each chunk is one transaction: its patients' rows are locked (the save path locks
them too, so a concurrent save waits or is waited for), every rule runs once for the whole chunk, and the queries are
synchronised with what was found:

- a new finding opens a query (and notifies the site's coordinators);
- a finding that persists keeps its one open query (its text follows the values found);
- a finding that disappeared closes its query automatically, with a note;
- a query a person closed is not re-opened while the finding stays the same (same values).

A run killed half-way leaves whole chunks done or not done; run again, it completes, and a chunk that was done
writes nothing the second time.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from trial.patients import patient_model
from trial.quality.models import PendingCheck, QualityRun, Query, QueryAction, QueryEvent, QueryStatus, RunStatus
from trial.quality.registry import Hit, Rule, Scope, rules


@dataclass
class Tally:
    patients: int = 0
    findings: int = 0
    opened: int = 0
    closed: int = 0
    changed: int = 0
    new_queries: list[Query] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.patients += other.patients
        self.findings += other.findings
        self.opened += other.opened
        self.closed += other.closed
        self.changed += other.changed
        self.new_queries += other.new_queries


def findings(scope: Scope, only: Iterable[Rule] | None = None) -> dict[str, tuple[Rule, Hit]]:
    """Every finding of the rules (all of them by default) for the scope's patients, by key."""
    found: dict[str, tuple[Rule, Hit]] = {}
    for checked in only if only is not None else rules():
        for hit in checked.check(scope):
            found.setdefault(checked.key(hit), (checked, hit))
    return found


def scope_for(patient_ids: Iterable[int], today: date | None = None) -> Scope:
    from trial.models import DataCutoff

    return Scope(tuple(patient_ids), today or timezone.localdate(), DataCutoff.current())


def study_patient_ids(site_id: int | None = None) -> list[int]:
    patients = patient_model()._base_manager.order_by("pk")
    if site_id is not None:
        patients = patients.filter(site_id=site_id)
    return list(patients.values_list("pk", flat=True))


def check_patients(patient_ids: list[int], *, today: date | None = None, run: QualityRun | None = None) -> Tally:
    """Check `patient_ids` chunk by chunk (each chunk one transaction) and return what was done."""
    tally = Tally()
    for chunk in _chunks(sorted(set(patient_ids)), settings.QUALITY_CHUNK_SIZE):
        with transaction.atomic():
            _lock_patients(chunk)
            scope = scope_for(chunk, today)
            found = findings(scope)
            done = sync(chunk, found)
            pending = PendingCheck.objects.filter(patient_id__in=chunk)
            if pending.exists():  # a run with nothing to do writes nothing
                pending.delete()
        tally.add(done)
        if run is not None:
            run.patients_done += len(chunk)
            run.findings += done.findings
            run.opened += done.opened
            run.closed += done.closed
            QualityRun.objects.filter(pk=run.pk).update(  # operational record, not study data
                patients_done=run.patients_done, findings=run.findings, opened=run.opened, closed=run.closed)
    return tally


def execute(run: QualityRun) -> QualityRun:
    """Carry out a queued run (again from its start if a worker died in it: finished chunks write nothing)."""
    run.status, run.started_at, run.attempts = RunStatus.RUNNING, timezone.now(), run.attempts + 1
    run.patients_done, run.findings, run.error = 0, 0, ""
    ids = [run.patient_id] if run.patient_id else study_patient_ids(run.site_id)
    run.patients_total = len(ids)
    run.save()
    try:
        check_patients(ids, run=run)
    except Exception as error:
        run.status, run.error, run.finished_at = RunStatus.FAILED, f"{type(error).__name__}: {error}", timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status, run.finished_at = RunStatus.DONE, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


def sync(patient_ids: list[int], found: dict[str, tuple[Rule, Hit]]) -> Tally:
    """Make the rule queries of `patient_ids` match `found` (see the module's docstring). Writes only changes."""
    now = timezone.now()
    tally = Tally(patients=len(patient_ids), findings=len(found))
    latest: dict[str, Query] = {}
    for query in (Query.objects.filter(patient_id__in=patient_ids).exclude(rule="")
                  .only("pk", "key", "status", "fingerprint", "closed_by_id", "text_es", "text_en", "rule")
                  .order_by("pk")):
        latest[query.key] = query
    opened, changed, closed, events = [], [], [], []
    for key, (checked, hit) in found.items():
        query, fingerprint = latest.get(key), checked.fingerprint(hit)
        if query is not None and query.status != QueryStatus.CLOSED:
            if query.fingerprint != fingerprint:
                texts = checked.messages(hit)
                query.fingerprint, query.text_es, query.text_en = fingerprint, texts["es-mx"], texts["en"]
                query.updated_at = now
                changed.append(query)
                events.append(QueryEvent(query=query, action=QueryAction.UPDATED, at=now, text=_both(texts)))
            continue
        if query is not None and query.closed_by_id is not None and query.fingerprint == fingerprint:
            continue  # a person closed it, and nothing about the finding changed
        opened.append((checked, hit, fingerprint))
    for key, query in latest.items():
        if query.status != QueryStatus.CLOSED and key not in found:
            query.status, query.closed_at, query.closed_by_id, query.updated_at = QueryStatus.CLOSED, now, None, now
            closed.append(query)
            events.append(QueryEvent(query=query, action=QueryAction.AUTO_CLOSED, at=now, text=_auto_close_note()))
    if changed:
        _bulk_update(changed, ["fingerprint", "text_es", "text_en", "updated_at"], reason="finding changed")
    if closed:
        _bulk_update(closed, ["status", "closed_at", "closed_by", "updated_at"], reason="finding resolved")
    created = _open(opened, now) if opened else []
    events += [QueryEvent(query=query, action=QueryAction.OPENED, at=now) for query in created]
    if events:
        QueryEvent.objects.bulk_create(events)  # the queries' threads: append-only audit rows themselves
    if created:
        from trial.quality.notify import notify_new_queries

        notify_new_queries(created)
    tally.opened, tally.closed, tally.changed, tally.new_queries = len(created), len(closed), len(changed), created
    return tally


def _open(opened: list[tuple[Rule, Hit, str]], now) -> list[Query]:
    sites = dict(patient_model()._base_manager.filter(pk__in={hit.patient_id for _r, hit, _f in opened})
                 .values_list("pk", "site_id"))
    visits = _visits_of([(checked.form_of(hit), hit.record_id) for checked, hit, _f in opened if hit.record_id])
    queries = []
    for checked, hit, fingerprint in opened:
        texts = checked.messages(hit)
        form = checked.form_of(hit)
        queries.append(Query(
            site_id=sites[hit.patient_id], patient_id=hit.patient_id, form=form, record_id=hit.record_id,
            field=checked.field_of(hit), visit=hit.visit or visits.get((form, hit.record_id), ""), rule=checked.code,
            severity=checked.severity, key=checked.key(hit), fingerprint=fingerprint, text_es=texts["es-mx"],
            text_en=texts["en"], status=QueryStatus.OPEN, opened_at=now, updated_at=now))
    Query.objects.bulk_create(queries)  # not CRF data; audited: their history rows are written next
    Query.history.bulk_history_create(queries, default_change_reason="opened by its data-quality rule",
                                      default_date=now)
    return queries


def _bulk_update(queries: list[Query], fields: list[str], *, reason: str) -> None:
    Query.objects.bulk_update(queries, fields)
    Query.history.bulk_history_create(queries, update=True, default_change_reason=reason)


def _visits_of(records: list[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """The visit key of each (form, record id), one query per form."""
    from django.apps import apps

    by_form: dict[str, set[int]] = {}
    for form, record_id in records:
        by_form.setdefault(form, set()).add(record_id)
    found = {}
    for form, ids in by_form.items():
        model = apps.get_model(form)
        if not any(f.name == "visit" for f in model._meta.concrete_fields):
            continue
        for pk, visit in model._base_manager.filter(pk__in=ids).values_list("pk", "visit"):
            found[(form, pk)] = visit
    return found


def _both(texts: dict[str, str]) -> str:
    return texts["es-mx"] if texts["es-mx"] == texts["en"] else f"{texts['es-mx']} / {texts['en']}"


def _auto_close_note() -> str:
    with translation.override("es-mx"):
        spanish = _("Closed automatically: the data no longer show this finding.")
    with translation.override("en"):
        english = _("Closed automatically: the data no longer show this finding.")
    return f"{spanish} / {english}"


def _lock_patients(patient_ids: list[int]) -> None:
    """Lock the patients' rows (in id order: no deadlock with another run) as the save path does."""
    if connection.features.has_select_for_update:
        list(patient_model()._base_manager.select_for_update().filter(pk__in=patient_ids).order_by("pk")
             .values_list("pk", flat=True))


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
