"""Rules that hold for every form, found through the engine's registries (no form is named here).

QC-001 soft ranges, QC-002 typed values that the engine's derivation contradicts, QC-003/004/005 dates after the
data cut-off, after the patient's death or off-study date, or in the future; SCH-001/002/003 the schedule: overdue
visits, gaps in a series, and visits recorded as not done (the site confirms).
"""

from collections import defaultdict
from collections.abc import Iterator

from django.db import models
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from trial import audit, visits
from trial.crf import crf_models
from trial.quality.registry import Hit, Scope, Severity, rule
from trial.ranges import fields_with_soft_range
from trial.schedule import State, Stop


def _display(model: type[models.Model], name: str, value: object):
    """A value as people read it, in the language the message is rendered in (choice labels translate)."""
    return lazy(lambda: audit.display_value(model, name, value), str)()


@rule("QC-001", severity=Severity.CONFIRM, title=_("Value outside its expected range"),
      message=_("%(field)s: %(value)s is outside the expected range %(expected)s. Confirm it against the source "
                "document, or correct it."))
def soft_ranges(scope: Scope) -> Iterator[Hit]:
    for model in crf_models():
        fields = fields_with_soft_range(model)
        if not fields:
            continue
        outside = models.Q()
        for field, limits in fields:
            outside |= models.Q(**{f"{field.name}__lt": limits.soft[0]}) | models.Q(
                **{f"{field.name}__gt": limits.soft[1]})
        names = [field.name for field, _limits in fields]
        for row in scope.records(model).filter(outside).values("pk", "patient_id", *names):
            for field, limits in fields:
                if limits.outside_soft(row[field.name]):
                    yield Hit(row["patient_id"], row["pk"], form=model._meta.label, field=field.name,
                              params={"value": _with_unit(row[field.name], limits.unit),
                                      "expected": limits.soft_text()})


def _with_unit(value, unit: str) -> str:
    from trial.ranges import format_number

    return f"{format_number(value)} {unit}".strip()


@rule("QC-002", title=_("Typed value contradicts the computed one"),
      message=_("%(field)s: recorded %(reported)s, but the findings recorded on the form give %(derived)s. Correct "
                "the findings or the recorded value, or explain the disagreement."))
def reported_contradicts_derived(scope: Scope) -> Iterator[Hit]:
    for model in crf_models():
        if not model.crf_reported:
            continue
        for record in scope.records(model).filter(model.review_filter()).only(
                "pk", "patient_id", *model.crf_reported, *model.crf_reported.values()):
            for reported, derived in record.disagreements():
                yield Hit(record.patient_id, record.pk, form=model._meta.label, field=reported,
                          params={"reported": _display(model, reported, getattr(record, reported)),
                                  "derived": _display(model, derived, getattr(record, derived))})


@rule("QC-003", title=_("Date after the data cut-off"),
      message=_("%(field)s: %(date)s is after the study's data cut-off date (%(cutoff)s)."))
def after_cutoff(scope: Scope) -> Iterator[Hit]:
    if scope.cutoff is None:
        return
    for label, name in visits.dated_forms():
        for pk, patient_id, day in scope.records(label).filter(**{f"{name}__gt": scope.cutoff}).values_list(
                "pk", "patient_id", name):
            yield Hit(patient_id, pk, form=label, field=name, params={"date": day, "cutoff": scope.cutoff})


@rule("QC-004", title=_("Date after death or going off study"),
      message=_("%(field)s: %(date)s is after %(what)s (%(stop)s). Correct this date or the date on that form."))
def after_closing_stop(scope: Scope) -> Iterator[Hit]:
    """The patients' death and off-study dates first (one query per stop form); then, per form, only the records of
    those patients dated after their own earliest stop come back (one filter per distinct stop date)."""
    stops = visits.closing_stops(scope.patient_ids)
    earliest = {pid: min(found.items(), key=lambda item: item[1]) for pid, found in stops.items() if found}
    if not earliest:
        return
    by_day: dict = defaultdict(list)
    for patient_id, (_stop, day) in earliest.items():
        by_day[day].append(patient_id)
    closing = visits.closing_stop_forms()
    what = {Stop.DEATH: _("the patient's death"), Stop.OFF_STUDY: _("the patient went off study")}
    for label, name in visits.dated_forms():
        if label in closing:
            continue
        after = models.Q(pk__in=[])
        for day, patient_ids in by_day.items():
            after |= models.Q(patient_id__in=patient_ids, **{f"{name}__gt": day})
        for pk, patient_id, day in scope.records(label).filter(after).values_list("pk", "patient_id", name):
            stop, stop_day = earliest[patient_id]
            yield Hit(patient_id, pk, form=label, field=name,
                      params={"date": day, "what": what[stop], "stop": stop_day})


@rule("QC-005", title=_("Date in the future"),
      message=_("%(field)s: %(date)s is in the future (today is %(today)s)."))
def in_the_future(scope: Scope) -> Iterator[Hit]:
    for label, name in visits.dated_forms():
        for pk, patient_id, day in scope.records(label).filter(**{f"{name}__gt": scope.today}).values_list(
                "pk", "patient_id", name):
            yield Hit(patient_id, pk, form=label, field=name, params={"date": day, "today": scope.today})


def _states(scope: Scope):
    """The patients' visit schedules, read once per scope for SCH-001 and SCH-002."""
    return scope.shared("schedules", lambda: visits.schedules(list(scope.patient_ids), as_of=scope.today))


@rule("SCH-001", title=_("Visits overdue"),
      message=_("%(form)s: nothing recorded for %(visits)s (overdue: %(count)s; the first was due by %(due)s). "
                "Enter the data, or record each visit as not done with the reason."))
def overdue_visits(scope: Scope) -> Iterator[Hit]:
    """One query per patient and form, listing its overdue visits (a daily series would otherwise flood the site)."""
    yield from _grouped(scope, gaps=False)


@rule("SCH-002", title=_("Gap in a series of visits"),
      message=_("%(form)s: nothing recorded for %(visits)s (missing: %(count)s; the first was due by %(due)s), "
                "though later visits of the series are recorded. Enter the data, or record each visit as not done "
                "with the reason."))
def gaps_in_series(scope: Scope) -> Iterator[Hit]:
    yield from _grouped(scope, gaps=True)


def _grouped(scope: Scope, *, gaps: bool) -> Iterator[Hit]:
    for patient_id, states in _states(scope).items():
        later_done = _later_done(states)
        by_form: dict[str, list] = defaultdict(list)
        for state in states:
            if state.state == State.OVERDUE and bool(later_done.get((state.form, state.key))) == gaps:
                by_form[state.form].append(state)
        for form, overdue in by_form.items():
            overdue.sort(key=lambda s: s.target)
            yield Hit(patient_id, form=form, params={
                "count": len(overdue), "visits": _keys(overdue), "due": overdue[0].window_end})


def _keys(states) -> str:
    keys = [state.key for state in states]
    return ", ".join(keys) if len(keys) <= 6 else f"{', '.join(keys[:3])} … {', '.join(keys[-2:])}"


def _later_done(states) -> dict[tuple[str, str], str]:
    """For each visit, the key of a later visit of the same form that is done (empty when none is)."""
    by_form: dict[str, list] = defaultdict(list)
    for state in states:
        by_form[state.form].append(state)
    found = {}
    for form, series in by_form.items():
        latest_done = ""
        for state in sorted(series, key=lambda s: s.target, reverse=True):
            found[(form, state.key)] = latest_done
            if state.state == State.DONE:
                latest_done = state.key
    return found


@rule("SCH-003", form="trial.MissedVisit", field="visit_key", severity=Severity.CONFIRM,
      title=_("Visit recorded as not done"),
      message=_("%(visit)s (%(what)s) is recorded as not done: %(reason)s. Confirm that it was not done."))
def missed_visits(scope: Scope) -> Iterator[Hit]:
    from trial.models import MissedVisit

    for pk, patient_id, key, form, reason in scope.records(MissedVisit).exclude(visit_key="").values_list(
            "pk", "patient_id", "visit_key", "form", "not_done_reason"):
        yield Hit(patient_id, pk, params={"visit": key, "what": lazy(visits.form_label, str)(form),
                                          "reason": reason.strip().rstrip(".")})
