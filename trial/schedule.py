"""The visit schedule, pure: no Django, no I/O, no clock. Each function cites its rule in one line.

A `VisitDef` says what is expected and when, counted from an anchor date (registration, eligibility, a cycle's
start or end, the transplant's day 0); `expand` turns the definitions into one patient's concrete visits once
the anchor dates are known, and `visit_states` judges each one against what was recorded, the patient's stops
and a reference date that the caller supplies. Windows are D12; how long monitoring lasts and what stops it
are D14 (CLINICAL-RULES.md, CRF-SPEC "Events").
"""

import calendar
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class Anchor(StrEnum):
    """What a visit's target date is counted from."""

    REGISTRATION = "registration"
    ELIGIBILITY = "eligibility"  # date the patient was found eligible
    CYCLE_START = "cycle_start"  # indexed by cycle number
    CYCLE_END = "cycle_end"  # indexed by cycle number
    TRANSPLANT = "transplant"  # day 0 = graft infusion
    FOLLOW_UP = "follow_up"  # day 0 once transplanted, else the date found eligible (D14: follow-up to 60 months)


class Stop(StrEnum):
    """Events after which a visit is no longer expected."""

    DEATH = "death"
    OFF_STUDY = "off_study"
    WITHDRAWAL = "withdrawal"
    SCREEN_FAILURE = "screen_failure"
    CUTOFF = "cutoff"  # data cut-off date
    RELAPSE_AFTER_TRANSPLANT = "relapse_after_transplant"  # stops transplant monitoring only (D14)


# D14: nothing is expected after death, off-study (or withdrawal, screen failure) or the data cut-off...
ALWAYS_STOPS = frozenset({Stop.DEATH, Stop.OFF_STUDY, Stop.WITHDRAWAL, Stop.SCREEN_FAILURE, Stop.CUTOFF})
# ...and after a relapse post-transplant only follow-up stays expected.
MONITORING_STOPS = ALWAYS_STOPS | {Stop.RELAPSE_AFTER_TRANSPLANT}


class State(StrEnum):
    EXPECTED = "expected"  # not yet due (before its window opens)
    DUE = "due"  # inside its window, no record yet
    DONE = "done"  # a record exists
    MISSED = "missed"  # recorded as not done, with a reason
    OVERDUE = "overdue"  # its window closed with no record
    NOT_APPLICABLE = "not_applicable"  # a stop came before the window closed


class Timing(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


@dataclass(frozen=True)
class Point:
    """One occurrence of a visit, relative to its anchor: calendar months first, then days."""

    key: str  # final visit key ("W03", "M6", "FU04"), or "" to use the VisitDef key alone
    days: int = 0
    months: int = 0  # calendar months, clamped to the month end (see add_months)


@dataclass(frozen=True)
class VisitDef:
    """A scheduled visit: which form, counted from which anchor, at which points, with which window (D12)."""

    key: str  # visit key; for per-cycle visits a template with {n}: "C{n}", "C{n}-IT", "C{n}-RESP"
    label: str  # English label (callers translate), e.g. "Intrathecal therapy after cycle {n}"
    form: str  # the CRF's "app_label.ModelName", e.g. "treatment.IntrathecalTherapy"
    anchor: Anchor
    points: tuple[Point, ...] = (Point(""),)  # one occurrence at the anchor by default
    window: tuple[int, int] = (0, 0)  # days before / after the target date, e.g. (-7, 7); (0, 28)
    per_cycle: bool = False  # one occurrence per cycle number for which the anchor date is known
    stops: frozenset[Stop] = ALWAYS_STOPS

    def __post_init__(self) -> None:
        if self.window[0] > self.window[1]:
            raise ValueError(f"{self.key}: the window opens after it closes {self.window}")
        if not self.points:
            raise ValueError(f"{self.key}: a visit needs at least one point")


@dataclass(frozen=True)
class Expected:
    """A concrete expected visit for one patient."""

    key: str
    label: str
    form: str
    target: date
    window_start: date
    window_end: date
    stops: frozenset[Stop]


@dataclass(frozen=True)
class VisitState:
    """An expected visit judged against the records, the stops and the reference date."""

    key: str
    label: str
    form: str
    target: date
    window_start: date
    window_end: date
    state: State
    done_on: date | None = None  # date of the record, when done
    timing: Timing | None = None  # done before window_start / inside / after window_end
    reason: str = ""  # why missed (from the missed record), or which stop made it N/A ("death", ...)


Anchors = Mapping[Anchor, Mapping[int | None, date]]  # {Anchor.CYCLE_END: {1: d, 2: d}, Anchor.REGISTRATION: {None: d}}


# ---- Building the points ---------------------------------------------------------------------------------
def weekly(
    prefix: str, first_day: int, last_day: int, every: int = 7, width: int = 2, *, start_number: int = 1
) -> tuple[Point, ...]:
    """D14: repeated day-based visits (acute GVHD weekly to day +100, viral loads weekly then every 2 weeks).

    Every `every` days from `first_day` while the day is <= `last_day`, numbered from `start_number` so that a
    second run (a new frequency) can continue the first one's numbering.
    """
    if every < 1:
        raise ValueError("the interval must be at least one day")
    days = range(first_day, last_day + 1, every)
    return tuple(Point(f"{prefix}{number:0{width}d}", days=day) for number, day in enumerate(days, start_number))


def at_months(prefix: str, months: Iterable[int]) -> tuple[Point, ...]:
    """D14: visits at named months (chimerism and immune reconstitution at 3, 6, 12, 18 months)."""
    return tuple(Point(f"{prefix}{month}", months=month) for month in months)


def every_months(prefix: str, every: int, until: int, width: int = 2) -> tuple[Point, ...]:
    """D14: visits every `every` calendar months up to month `until` (follow-up every 3 months to 60 months)."""
    if every < 1:
        raise ValueError("the interval must be at least one month")
    months = range(every, until + 1, every)
    return tuple(Point(f"{prefix}{number:0{width}d}", months=month) for number, month in enumerate(months, 1))


@functools.lru_cache(maxsize=65536)  # a study's schedules ask the same few thousand (date, months) pairs
def add_months(day: date, months: int) -> date:
    """D12/D14: month-based targets are calendar months; a day missing in the target month becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# ---- Expanding for one patient ---------------------------------------------------------------------------
def _occurrences(visit: VisitDef, anchors: Anchors) -> Iterable[tuple[str, str, Point, date]]:
    """(key template, label, point, anchor date) for each anchor date known for this definition."""
    dates = anchors.get(visit.anchor) or {}
    if visit.per_cycle:
        for cycle in sorted(n for n in dates if n is not None):
            if (anchor := dates[cycle]) is not None:
                label = visit.label.format(n=cycle)
                for point in visit.points:
                    yield (point.key or visit.key).format(n=cycle), label, point, anchor
    elif (anchor := dates.get(None)) is not None:
        for point in visit.points:
            yield point.key or visit.key, visit.label, point, anchor


def expand(defs: Iterable[VisitDef], anchors: Anchors) -> list[Expected]:
    """D12/D14: a patient's concrete visits; a visit whose anchor date is not known yet is not expected yet."""
    expected = []
    for visit in defs:
        for key, label, point, anchor in _occurrences(visit, anchors):
            target = add_months(anchor, point.months) + timedelta(days=point.days)
            expected.append(
                Expected(
                    key=key,
                    label=label,
                    form=visit.form,
                    target=target,
                    window_start=target + timedelta(days=visit.window[0]),
                    window_end=target + timedelta(days=visit.window[1]),
                    stops=visit.stops,
                )
            )
    return sorted(expected, key=lambda e: (e.target, e.key, e.form))


# ---- Judging the visits ----------------------------------------------------------------------------------
_STOP_ORDER = {stop: position for position, stop in enumerate(Stop)}


def _stopping(visit: Expected, stops: Mapping[Stop, date]) -> Stop | None:
    """D14: the earliest stop that came before the window closed (the cut-off: before the window opened)."""
    applying = [
        (day, _STOP_ORDER[stop], stop)
        for stop, day in stops.items()
        if stop in visit.stops
        and (visit.window_start > day if stop is Stop.CUTOFF else day <= visit.window_end)
    ]
    return min(applying)[2] if applying else None


def _timing(done_on: date, visit: Expected) -> Timing:
    if done_on < visit.window_start:
        return Timing.EARLY
    if done_on > visit.window_end:
        return Timing.LATE
    return Timing.ON_TIME


def visit_states(
    expected: Iterable[Expected],
    *,
    done: Mapping[tuple[str, str], date | None],
    missed: Mapping[tuple[str, str], str],
    stops: Mapping[Stop, date],
    as_of: date,
) -> list[VisitState]:
    """D12/D14: done > missed > stopped > judged by the window; a visit missed while on study stays overdue.

    `done` and `missed` are keyed by (visit key, form); a done visit's date is None for a form that records no
    date of its own (e.g. the diagnosis history): done, with no timing judged. Recorded data always show as done,
    even after a stop.
    A stop dated on or before the window's last day makes the visit not applicable; the data cut-off does so only
    for windows opening after it, and every other visit is judged as of the cut-off rather than `as_of`.
    """
    judged_on = min(as_of, stops[Stop.CUTOFF]) if Stop.CUTOFF in stops else as_of
    states = []
    for visit in expected:
        fields = {
            "key": visit.key,
            "label": visit.label,
            "form": visit.form,
            "target": visit.target,
            "window_start": visit.window_start,
            "window_end": visit.window_end,
        }
        ident = (visit.key, visit.form)
        if ident in done:
            done_on = done[ident]
            state = VisitState(**fields, state=State.DONE, done_on=done_on,
                               timing=_timing(done_on, visit) if done_on is not None else None)
        elif ident in missed:
            state = VisitState(**fields, state=State.MISSED, reason=missed[ident])
        elif (stop := _stopping(visit, stops)) is not None:
            state = VisitState(**fields, state=State.NOT_APPLICABLE, reason=stop.value)
        elif judged_on < visit.window_start:
            state = VisitState(**fields, state=State.EXPECTED)
        elif judged_on <= visit.window_end:
            state = VisitState(**fields, state=State.DUE)
        else:
            state = VisitState(**fields, state=State.OVERDUE)
        states.append(state)
    return states


def overdue(states: Iterable[VisitState]) -> list[VisitState]:
    """D14: the visits whose window closed with nothing recorded; each one raises a query."""
    return [state for state in states if state.state is State.OVERDUE]
