"""The visit schedule applied to the study's data: which visit each record belongs to, and each patient's calendar.

The pure rules (what is expected when, windows, states) are in `trial.schedule`. Domain apps declare, in their
`schedule` module, their events (`VisitDef`), how each of their forms gets its visit key (`FormVisit`), and where
the anchor and stop dates are recorded (`AnchorSource`, `StopSource`); this module reads those declarations
through the app registry (no domain app is imported) and gathers the dates for one patient or a whole site in a
fixed number of queries, whatever the number of patients or records.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.db import connection, models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from trial import reads
from trial.schedule import (
    Anchor,
    Expected,
    State,
    Stop,
    VisitDef,
    VisitState,
    expand,
    visit_states,
)

UNSCHEDULED = "UNS"
_STOPS_THAT_CLOSE_THE_CASEBOOK = (Stop.DEATH, Stop.OFF_STUDY)


@dataclass(frozen=True)
class FormVisit:
    """How a record of `form` gets its visit key, and which of its dates says when it was done."""

    form: str  # "app_label.ModelName"
    key: str = ""  # "SCR", or a template with {n} ("C{n}-IT"); "" = the expected visit whose window holds the date
    date_field: str = ""  # the record's date, e.g. "administration_date"; "" = the form has none of its own
    index_field: str | None = None  # the field that gives {n} (a cycle number)
    key_field: str | None = None  # the key is typed on the record itself (a visit recorded as not done)
    unscheduled: str = UNSCHEDULED  # the key while {n} is unknown, or when no expected visit matches the date


@dataclass(frozen=True)
class AnchorSource:
    """Where an anchor date is recorded: `form`.`date_field` (per `index_field`, e.g. cycle number)."""

    anchor: Anchor
    form: str
    date_field: str
    index_field: str | None = None
    when: Mapping[str, object] = field(default_factory=dict)  # only records matching these values


@dataclass(frozen=True)
class StopSource:
    """Where a stop (death, withdrawal, screen failure, off-study, ...) is recorded."""

    stop: Stop
    form: str
    date_field: str
    when: Mapping[str, object] = field(default_factory=dict)


@dataclass
class StudySchedule:
    events: list[VisitDef] = field(default_factory=list)
    forms: dict[str, FormVisit] = field(default_factory=dict)
    anchors: list[AnchorSource] = field(default_factory=list)
    stops: list[StopSource] = field(default_factory=list)


_SCHEDULE = StudySchedule()


def contribute(*, events: Iterable[VisitDef] = (), forms: Iterable[FormVisit] = (),
               anchors: Iterable[AnchorSource] = (), stops: Iterable[StopSource] = ()) -> None:
    """Called once by each app's `schedule` module: its part of the study schedule."""
    for event in events:
        if event not in _SCHEDULE.events:
            _SCHEDULE.events.append(event)
    for rule in forms:
        _SCHEDULE.forms[rule.form] = rule
    _SCHEDULE.anchors.extend(a for a in anchors if a not in _SCHEDULE.anchors)
    _SCHEDULE.stops.extend(s for s in stops if s not in _SCHEDULE.stops)


def study_schedule() -> StudySchedule:
    return _SCHEDULE


def form_rule(label: str) -> FormVisit | None:
    return _SCHEDULE.forms.get(label)


def anchor_reads(label: str) -> dict[str, tuple[str, ...]]:
    """For a form whose visit key is matched by date against expected visits: the forms recording the anchors of its
    events, with the fields read ({"transplant.TransplantProcedure": ("transplant_date",)}); {} for other forms."""
    rule = _SCHEDULE.forms.get(label)
    if rule is None or rule.key or rule.key_field or not rule.date_field:
        return {}
    anchors = {event.anchor for event in _SCHEDULE.events if event.form == label}
    found: dict[str, tuple[str, ...]] = {}
    for source in _SCHEDULE.anchors:
        if source.anchor in anchors:
            fields = (source.date_field, *([source.index_field] if source.index_field else []), *source.when)
            found[source.form] = tuple(dict.fromkeys((*found.get(source.form, ()), *fields)))
    return found


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def visit_for(record) -> str:
    """The visit key of a record, from its form's rule (stable: the same data always give the same key)."""
    rule = _SCHEDULE.forms.get(record._meta.label)
    if rule is None:
        return ""
    if rule.key_field:
        return getattr(record, rule.key_field) or rule.unscheduled
    if rule.key:
        if rule.index_field is None:
            return rule.key
        index = getattr(record, rule.index_field)
        return rule.key.format(n=index) if index is not None else rule.unscheduled
    return _matched_key(record, rule)


def _matched_key(record, rule: FormVisit) -> str:
    """For repeated visits (weekly, monthly): the expected visit of this form whose window holds the record's date,
    the nearest target first; records outside every window are unscheduled."""
    day = getattr(record, rule.date_field)
    if day is None:
        return rule.unscheduled
    expected = [e for e in expected_visits([record.patient_id]).get(record.patient_id, []) if e.form == rule.form]
    inside = [e for e in expected if e.window_start <= day <= e.window_end]
    if not inside:
        return rule.unscheduled
    return min(inside, key=lambda e: (abs((e.target - day).days), e.target)).key


def _patient_filter(patients) -> dict:
    """A filter on patient_id from a list of ids or a patient queryset (kept as a subquery)."""
    if isinstance(patients, models.QuerySet):
        return {"patient_id__in": patients.values("pk")}
    return {"patient_id__in": list(patients)}


def _anchors(patients) -> dict[int, dict[Anchor, dict[int | None, date]]]:
    found: dict[int, dict[Anchor, dict[int | None, date]]] = defaultdict(lambda: defaultdict(dict))
    for source in _SCHEDULE.anchors:
        fields = ["patient_id", source.date_field] + ([source.index_field] if source.index_field else [])
        rows = (_model(source.form)._base_manager.filter(**_patient_filter(patients), **source.when)
                .exclude(**{f"{source.date_field}__isnull": True}).values_list(*fields))
        for patient_id, day, *index in rows:
            found[patient_id][source.anchor][index[0] if index else None] = day
    return found


def data_cutoff() -> date | None:
    """The study's data cut-off date in force (trial.models.DataCutoff), or None when none is set."""
    from trial.models import DataCutoff

    return DataCutoff.current()


@reads.shared("trial.DataCutoff")
def _cutoff_for(patient_id: int | None) -> date | None:
    return data_cutoff()


def _closing_stops(patient_id: int | None) -> dict[Stop, date]:
    if patient_id is None:
        return {}
    return _stops([patient_id], kinds=_STOPS_THAT_CLOSE_THE_CASEBOOK).get(patient_id, {})


def _stops(patients, cutoff: date | None = None, kinds: Iterable[Stop] | None = None) -> dict[int, dict[Stop, date]]:
    found: dict[int, dict[Stop, date]] = defaultdict(dict)
    for source in _SCHEDULE.stops:
        if kinds is not None and source.stop not in kinds:
            continue
        rows = (_model(source.form)._base_manager.filter(**_patient_filter(patients), **source.when)
                .exclude(**{f"{source.date_field}__isnull": True}).values_list("patient_id", source.date_field))
        for patient_id, day in rows:
            earlier = found[patient_id].get(source.stop)
            found[patient_id][source.stop] = min(day, earlier) if earlier else day
    if cutoff is not None:
        for patient_id in _patient_ids(patients):
            found[patient_id][Stop.CUTOFF] = cutoff
    return found


def _patient_ids(patients) -> list[int]:
    if isinstance(patients, models.QuerySet):
        return list(patients.values_list("pk", flat=True))
    return list(patients)


def expected_visits(patients) -> dict[int, list[Expected]]:
    """Each patient's expected visits from the recorded anchor dates (one query per anchor source)."""
    anchors = _anchors(patients)
    return {patient_id: expand(_SCHEDULE.events, found) for patient_id, found in anchors.items()}


def _done(patients) -> dict[int, dict[tuple[str, str], date]]:
    """When each scheduled (visit, form) was done: one query per scheduled form."""
    done: dict[int, dict[tuple[str, str], date | None]] = defaultdict(dict)
    for label in sorted({event.form for event in _SCHEDULE.events}):
        rule = _SCHEDULE.forms[label]  # every scheduled form has its rule (system check trial.E008)
        records = _model(label)._base_manager.filter(**_patient_filter(patients))
        if not rule.date_field:  # a form with no date of its own (e.g. history): done once recorded
            for patient_id, key in records.values_list("patient_id", "visit"):
                done[patient_id][(key, label)] = None
            continue
        # the earliest date of each (patient, visit), grouped by the database: one row per visit, not per record
        rows = (records.exclude(**{f"{rule.date_field}__isnull": True}).order_by().values("patient_id", "visit")
                .annotate(first=models.Min(rule.date_field)).values_list("patient_id", "visit", "first"))
        for patient_id, key, day in rows:
            done[patient_id][(key, label)] = day
    return done


def _missed(patients) -> dict[int, dict[tuple[str, str], str]]:
    from trial.models import MissedVisit

    missed: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    rows = MissedVisit._base_manager.filter(**_patient_filter(patients)).values_list(
        "patient_id", "visit_key", "form", "not_done_reason")
    for patient_id, key, form, reason in rows:
        missed[patient_id][(key, form)] = reason
    return missed


def schedules(patients, *, as_of: date | None = None) -> dict[int, list[VisitState]]:
    """The calendar of each patient (ids or a patient queryset): a fixed number of queries for any number."""
    as_of = as_of or timezone.localdate()
    expected = expected_visits(patients)
    done, missed, stops = _done(patients), _missed(patients), _stops(patients, data_cutoff())
    return {patient_id: visit_states(visits, done=done.get(patient_id, {}), missed=missed.get(patient_id, {}),
                                     stops=stops.get(patient_id, {}), as_of=as_of)
            for patient_id, visits in expected.items()}


def patient_schedule(patient, *, as_of: date | None = None) -> list[VisitState]:
    return schedules([patient.pk], as_of=as_of).get(patient.pk, [])


@dataclass(frozen=True)
class OverdueVisit:
    patient: models.Model
    visit: VisitState


def overdue_visits(patients: models.QuerySet, *, as_of: date | None = None) -> list[OverdueVisit]:
    """Overdue visits across `patients` (already scoped to the user), oldest window first."""
    by_id = {p.pk: p for p in patients.select_related("site")}
    found = [OverdueVisit(by_id[patient_id], state)
             for patient_id, states in schedules(patients, as_of=as_of).items() if patient_id in by_id
             for state in states if state.state == State.OVERDUE]
    return sorted(found, key=lambda o: (o.visit.window_end, o.patient.subject_id, o.visit.key))


# ---- Dates that the stops bound -------------------------------------------------------------------------------
def _shared_closing_stops(patient_id: int | None) -> dict[Stop, date]:
    """The patient's death and off-study dates, read once per re-derivation or series pass (trial.reads)."""
    labels = tuple(source.form for source in _SCHEDULE.stops if source.stop in _STOPS_THAT_CLOSE_THE_CASEBOOK)
    return reads.shared(*labels)(_closing_stops)(patient_id)


def record_date(record) -> tuple[str, date] | None:
    """The record's own date (its form's schedule date field) as (field name, date), or None."""
    rule = _SCHEDULE.forms.get(record._meta.label)
    if rule is None or not rule.date_field:
        return None
    day = getattr(record, rule.date_field)
    return (rule.date_field, day) if day is not None else None


def stop_date_errors(record) -> dict[str, str]:
    """D14 and the data cut-off: no record is dated after the patient's death or off-study date (the death and
    off-study forms themselves excepted), nor after the study's data cut-off. Recorded data stay correctable."""
    dated = record_date(record)
    if dated is None:
        return {}
    name, day = dated
    label = capfirst(record._meta.get_field(name).verbose_name)
    cutoff = _cutoff_for(record.patient_id)
    if cutoff is not None and day > cutoff:
        return {name: _("%(field)s: %(date)s is after the study's data cut-off date (%(cutoff)s); nothing after it "
                        "is recorded.") % {"field": label, "date": day.isoformat(), "cutoff": cutoff.isoformat()}}
    closing = {source.form for source in _SCHEDULE.stops if source.stop in _STOPS_THAT_CLOSE_THE_CASEBOOK}
    if record._meta.label in closing:
        return {}
    stops = _shared_closing_stops(record.patient_id)
    for stop, what in ((Stop.DEATH, _("the patient's death")), (Stop.OFF_STUDY, _("the patient went off study"))):
        if stop in stops and day > stops[stop]:
            return {name: _("%(field)s: %(date)s is after %(what)s (%(stop)s); no record is dated later. Correct the "
                            "date, or the date on that form.") % {
                "field": label, "date": day.isoformat(), "what": what, "stop": stops[stop].isoformat()}}
    return {}


def latest_recorded_date(patient_id: int, *, exclude: frozenset[str] = frozenset()) -> tuple[date, str] | None:
    """The patient's latest record date over every scheduled form's date field (one query), with the form's name."""
    selects, params = [], []
    quote = connection.ops.quote_name
    for label, rule in sorted(_SCHEDULE.forms.items()):
        if not rule.date_field or label in exclude:
            continue
        model = _model(label)
        table, column = quote(model._meta.db_table), quote(model._meta.get_field(rule.date_field).column)
        patient = quote(model._meta.get_field("patient").column)
        # identifiers from model metadata, quoted; the patient id is a bound parameter
        selects.append(f"SELECT MAX({column}), %s FROM {table} WHERE {patient} = %s")  # noqa: S608
        params += [label, patient_id]
    if not selects:
        return None
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects), params)
        rows = [(models.DateField().to_python(day), label) for day, label in cursor.fetchall() if day is not None]
    return max(rows) if rows else None


def form_label(form: str) -> str:
    """The form's name as people read it ("Intrathecal therapy")."""
    try:
        return str(_model(form)._meta.verbose_name)
    except (LookupError, ValueError):  # not an "app_label.ModelName" of this study
        return form


def form_slug(form: str) -> str:
    try:
        return _model(form)._meta.model_name
    except (LookupError, ValueError):
        return ""


# A visit recorded as not done carries the key of the visit it stands for.
contribute(forms=[FormVisit("trial.MissedVisit", key_field="visit_key")])


# ---- For the data-quality rules (trial.quality.generic) --------------------------------------------------------
def dated_forms() -> list[tuple[str, str]]:
    """(form label, date field) of every scheduled form that records a date of its own."""
    return sorted((label, rule.date_field) for label, rule in _SCHEDULE.forms.items() if rule.date_field)


def closing_stop_forms() -> set[str]:
    """The forms that close a casebook (death, off-study): records dated after them are errors, not they."""
    return {source.form for source in _SCHEDULE.stops if source.stop in _STOPS_THAT_CLOSE_THE_CASEBOOK}


def closing_stops(patients) -> dict[int, dict[Stop, date]]:
    """Each patient's death and off-study dates (one query per stop form)."""
    return _stops(patients, kinds=_STOPS_THAT_CLOSE_THE_CASEBOOK)
