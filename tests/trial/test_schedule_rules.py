"""The visit schedule, table-driven (study decisions D12 windows, D14 length of monitoring). No database."""

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest

from trial.schedule import (
    ALWAYS_STOPS,
    MONITORING_STOPS,
    Anchor,
    Expected,
    Point,
    State,
    Stop,
    Timing,
    VisitDef,
    VisitState,
    add_months,
    at_months,
    every_months,
    expand,
    overdue,
    visit_states,
    weekly,
)

# ---- Example definitions, with the D12 windows and D14 lengths ------------------------------------------
INTRATHECAL = VisitDef(  # D12: 14 ± 7 days after each cycle's end
    key="C{n}-IT",
    label="Intrathecal therapy after cycle {n}",
    form="treatment.IntrathecalTherapy",
    anchor=Anchor.CYCLE_END,
    points=(Point("", days=14),),
    window=(-7, 7),
    per_cycle=True,
)
RESPONSE = VisitDef(
    key="C{n}-RESP",
    label="Response assessment after cycle {n}",
    form="treatment.ResponseAssessment",
    anchor=Anchor.CYCLE_END,
    window=(0, 14),
    per_cycle=True,
)
BASELINE = VisitDef(
    key="BASE", label="Baseline", form="patients.Baseline", anchor=Anchor.REGISTRATION, window=(0, 14)
)
CHIMERISM = VisitDef(  # D14: 3, 6, 12, 18 months only; D12: ± 14 days; stops at a relapse
    key="CHIM",
    label="Chimerism",
    form="transplant.Chimerism",
    anchor=Anchor.TRANSPLANT,
    points=at_months("M", (3, 6, 12, 18)),
    window=(-14, 14),
    stops=MONITORING_STOPS,
)
ACUTE_GVHD = VisitDef(  # D14: weekly to day +100; stops at a relapse
    key="AGVHD",
    label="Acute GVHD",
    form="transplant.AcuteGvhd",
    anchor=Anchor.TRANSPLANT,
    points=weekly("W", 7, 100),
    window=(-3, 3),
    stops=MONITORING_STOPS,
)
FOLLOW_UP = VisitDef(  # D14: every 3 months to 60 months, ± 30 days; continues after a relapse
    key="FU",
    label="Follow-up",
    form="patients.FollowUp",
    anchor=Anchor.TRANSPLANT,
    points=every_months("FU", 3, 60),
    window=(-30, 30),
    stops=ALWAYS_STOPS,
)

CYCLE_1_END = date(2023, 3, 10)  # intrathecal window 2023-03-17 .. 2023-03-31, target 2023-03-24
REGISTERED = date(2021, 3, 1)  # baseline window 2021-03-01 .. 2021-03-15
TRANSPLANTED = date(2022, 6, 15)  # chimerism M3 window 2022-09-01 .. 2022-09-29; FU01 2022-08-16 .. 2022-10-15


def one(visit: VisitDef, anchors, *, done=None, missed=None, stops=None, as_of: date) -> VisitState:
    """The state of the first occurrence of `visit` for one patient."""
    first = expand([visit], anchors)[0]
    [state] = visit_states([first], done=done or {}, missed=missed or {}, stops=stops or {}, as_of=as_of)
    return state


# ---- Month arithmetic: calendar months, clamped to the month end ------------------------------------------
@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2023, 1, 31), 1, date(2023, 2, 28), id="jan 31 plus a month is feb 28 in 2023"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="jan 31 plus a month is feb 29 in leap 2024"),
        pytest.param(date(2022, 8, 31), 6, date(2023, 2, 28), id="aug 31 transplant, month 6 is feb 28 2023"),
        pytest.param(date(2023, 8, 31), 6, date(2024, 2, 29), id="aug 31 transplant, month 6 is feb 29 2024"),
        pytest.param(date(2024, 2, 29), 12, date(2025, 2, 28), id="feb 29 2024 plus 12 months is feb 28 2025"),
        pytest.param(date(2020, 2, 29), 48, date(2024, 2, 29), id="feb 29 2020 plus 48 months is feb 29 2024"),
        pytest.param(date(2023, 10, 31), 3, date(2024, 1, 31), id="oct 31 plus 3 months is jan 31 across the year"),
        pytest.param(date(2023, 11, 30), 3, date(2024, 2, 29), id="nov 30 plus 3 months lands on leap day"),
        pytest.param(date(2022, 3, 31), 1, date(2022, 4, 30), id="mar 31 plus a month is apr 30"),
        pytest.param(date(2022, 6, 15), 60, date(2027, 6, 15), id="mid-month day is kept over 5 years"),
        pytest.param(date(2022, 6, 15), 0, date(2022, 6, 15), id="zero months is the anchor itself"),
        pytest.param(date(2024, 3, 31), -1, date(2024, 2, 29), id="one month back from mar 31 2024 is feb 29"),
    ],
)
def test_add_months_clamps_to_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


# ---- Building the points (D14) ---------------------------------------------------------------------------
def test_acute_gvhd_weekly_to_day_100_is_14_visits_ending_on_day_98():
    points = weekly("W", 7, 100)
    assert len(points) == 14
    assert points[0] == Point("W01", days=7)
    assert points[-1] == Point("W14", days=98)
    assert [p.key for p in points] == [f"W{n:02d}" for n in range(1, 15)]


@pytest.mark.parametrize(
    ("points", "keys", "days"),
    [
        pytest.param(weekly("VL", 7, 180), ("VL01", "VL25"), (7, 175), id="viral loads weekly to day +180"),
        pytest.param(
            weekly("VL", 189, 365, every=14, start_number=26),
            ("VL26", "VL38"),
            (189, 357),
            id="viral loads every 2 weeks to day +365 continue the numbering",
        ),
        pytest.param(weekly("D", 0, 30, every=1, width=3), ("D001", "D031"), (0, 30), id="daily from day 0 to +30"),
        pytest.param(weekly("W", 7, 7), ("W01", "W01"), (7, 7), id="a single week when first and last coincide"),
    ],
)
def test_weekly_numbers_and_days(points, keys, days):
    assert (points[0].key, points[-1].key) == keys
    assert (points[0].days, points[-1].days) == days
    assert all(p.months == 0 for p in points)


def test_weekly_with_the_last_day_before_the_first_gives_nothing():
    assert weekly("W", 7, 6) == ()


def test_follow_up_every_3_months_to_60_months_is_fu01_to_fu20():
    points = every_months("FU", 3, 60)
    assert len(points) == 20
    assert points[0] == Point("FU01", months=3)
    assert points[-1] == Point("FU20", months=60)
    assert [p.months for p in points] == list(range(3, 61, 3))


def test_chimerism_at_3_6_12_18_months():
    assert at_months("M", (3, 6, 12, 18)) == (
        Point("M3", months=3),
        Point("M6", months=6),
        Point("M12", months=12),
        Point("M18", months=18),
    )


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: weekly("W", 7, 100, every=0), id="a weekly interval of zero days is refused"),
        pytest.param(lambda: every_months("FU", 0, 60), id="a monthly interval of zero months is refused"),
        pytest.param(
            lambda: VisitDef("X", "X", "app.X", Anchor.TRANSPLANT, window=(7, -7)), id="a reversed window is refused"
        ),
        pytest.param(lambda: VisitDef("X", "X", "app.X", Anchor.TRANSPLANT, points=()), id="a visit with no point"),
    ],
)
def test_impossible_definitions_are_refused(build):
    with pytest.raises(ValueError):
        build()


# ---- Expanding for one patient ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("anchors", "keys"),
    [
        pytest.param(
            {Anchor.CYCLE_END: {1: date(2023, 3, 10), 2: date(2023, 4, 21)}},
            ["C1-IT", "C2-IT"],
            id="both cycles ended: intrathecal after cycle 1 and after cycle 2",
        ),
        pytest.param(
            {Anchor.CYCLE_END: {1: date(2023, 3, 10)}},
            ["C1-IT"],
            id="cycle 2 not ended yet: no intrathecal after cycle 2",
        ),
        pytest.param(
            {Anchor.CYCLE_END: {1: date(2023, 3, 10), 2: None}},
            ["C1-IT"],
            id="cycle 2 started but its end date is blank: no intrathecal after cycle 2",
        ),
        pytest.param(
            {Anchor.CYCLE_START: {1: date(2023, 2, 10)}},
            [],
            id="cycle 1 running: nothing after its end is expected yet",
        ),
        pytest.param({}, [], id="a patient with no cycle yet expects no intrathecal therapy"),
    ],
)
def test_per_cycle_visits_exist_for_each_cycle_with_an_anchor_date(anchors, keys):
    assert [e.key for e in expand([INTRATHECAL], anchors)] == keys


def test_per_cycle_keys_labels_and_windows_are_formatted_for_each_cycle():
    expected = expand([INTRATHECAL], {Anchor.CYCLE_END: {2: date(2023, 4, 21), 1: date(2023, 3, 10)}})
    assert expected == [
        Expected(
            key="C1-IT",
            label="Intrathecal therapy after cycle 1",
            form="treatment.IntrathecalTherapy",
            target=date(2023, 3, 24),
            window_start=date(2023, 3, 17),
            window_end=date(2023, 3, 31),
            stops=ALWAYS_STOPS,
        ),
        Expected(
            key="C2-IT",
            label="Intrathecal therapy after cycle 2",
            form="treatment.IntrathecalTherapy",
            target=date(2023, 5, 5),
            window_start=date(2023, 4, 28),
            window_end=date(2023, 5, 12),
            stops=ALWAYS_STOPS,
        ),
    ]


def test_month_visits_after_an_end_of_month_transplant_are_clamped():
    expected = expand([CHIMERISM], {Anchor.TRANSPLANT: {None: date(2022, 8, 31)}})
    assert [(e.key, e.target) for e in expected] == [
        ("M3", date(2022, 11, 30)),
        ("M6", date(2023, 2, 28)),
        ("M12", date(2023, 8, 31)),
        ("M18", date(2024, 2, 29)),
    ]
    assert (expected[1].window_start, expected[1].window_end) == (date(2023, 2, 14), date(2023, 3, 14))
    assert all(e.stops == MONITORING_STOPS for e in expected)


def test_months_are_added_before_days():
    visit = VisitDef("X", "X", "app.X", Anchor.TRANSPLANT, points=(Point("M1D1", days=1, months=1),))
    [expected] = expand([visit], {Anchor.TRANSPLANT: {None: date(2024, 1, 31)}})
    assert expected.target == date(2024, 3, 1)  # Jan 31 + 1 month = Feb 29, + 1 day = Mar 1


def test_a_patient_schedule_is_sorted_by_date_then_key_then_form():
    anchors = {
        Anchor.REGISTRATION: {None: REGISTERED},
        Anchor.CYCLE_END: {1: date(2021, 5, 7)},
        Anchor.TRANSPLANT: {None: TRANSPLANTED},
    }
    schedule = expand([FOLLOW_UP, CHIMERISM, ACUTE_GVHD, INTRATHECAL, RESPONSE, BASELINE], anchors)
    assert len(schedule) == 1 + 1 + 1 + 14 + 4 + 20
    assert [e.key for e in schedule[:4]] == ["BASE", "C1-RESP", "C1-IT", "W01"]
    assert [(e.key, e.form) for e in schedule if e.target == date(2022, 9, 15)] == [
        ("FU01", "patients.FollowUp"),
        ("M3", "transplant.Chimerism"),
    ]
    assert schedule == sorted(schedule, key=lambda e: (e.target, e.key, e.form))
    assert schedule[-1].key == "FU20" and schedule[-1].target == date(2027, 6, 15)


def test_a_transplant_visit_is_not_expected_before_the_transplant_date_is_known():
    assert expand([CHIMERISM, ACUTE_GVHD, FOLLOW_UP], {Anchor.REGISTRATION: {None: REGISTERED}}) == []


# ---- Window edges (D12) ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        pytest.param(date(2023, 3, 10), State.EXPECTED, id="on the cycle end day intrathecal is not due yet"),
        pytest.param(date(2023, 3, 16), State.EXPECTED, id="day 6 after the cycle end, one day before the window"),
        pytest.param(date(2023, 3, 17), State.DUE, id="day 7, the first day of the window, is due"),
        pytest.param(date(2023, 3, 24), State.DUE, id="day 14, the target, is due"),
        pytest.param(date(2023, 3, 31), State.DUE, id="day 21, the last day of the window, is still due"),
        pytest.param(date(2023, 4, 1), State.OVERDUE, id="day 22, the day after the window, is overdue"),
        pytest.param(date(2024, 6, 30), State.OVERDUE, id="a year later with nothing entered is overdue"),
    ],
)
def test_intrathecal_window_edges(as_of, state):
    result = one(INTRATHECAL, {Anchor.CYCLE_END: {1: CYCLE_1_END}}, as_of=as_of)
    assert result.state is state
    assert (result.done_on, result.timing, result.reason) == (None, None, "")


@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        pytest.param(date(2022, 8, 31), State.EXPECTED, id="chimerism month 3 the day before its window opens"),
        pytest.param(date(2022, 9, 1), State.DUE, id="chimerism month 3 on the 14th day before its target"),
        pytest.param(date(2022, 9, 29), State.DUE, id="chimerism month 3 on the 14th day after its target"),
        pytest.param(date(2022, 9, 30), State.OVERDUE, id="chimerism month 3 the day after its window"),
    ],
)
def test_chimerism_window_edges(as_of, state):
    assert one(CHIMERISM, {Anchor.TRANSPLANT: {None: TRANSPLANTED}}, as_of=as_of).state is state


# ---- Done early, on time, late ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("days_after_cycle_end", "timing"),
    [
        pytest.param(6, Timing.EARLY, id="intrathecal given on day 6 after the cycle end is early"),
        pytest.param(7, Timing.ON_TIME, id="intrathecal on day 7 is on time"),
        pytest.param(14, Timing.ON_TIME, id="intrathecal on day 14 is on time"),
        pytest.param(21, Timing.ON_TIME, id="intrathecal on day 21 is on time"),
        pytest.param(22, Timing.LATE, id="intrathecal on day 22 is late"),
        pytest.param(0, Timing.EARLY, id="intrathecal on the day the cycle ends is early"),
    ],
)
def test_intrathecal_done_early_on_time_or_late(days_after_cycle_end, timing):
    given_on = CYCLE_1_END + timedelta(days=days_after_cycle_end)
    result = one(
        INTRATHECAL,
        {Anchor.CYCLE_END: {1: CYCLE_1_END}},
        done={("C1-IT", "treatment.IntrathecalTherapy"): given_on},
        as_of=date(2023, 6, 1),
    )
    assert (result.state, result.done_on, result.timing) == (State.DONE, given_on, timing)


def test_a_form_with_no_date_of_its_own_is_done_once_recorded_with_no_timing_judged():
    """The diagnosis history's dates are years before screening: its record counts as done, never as "early"."""
    result = one(INTRATHECAL, {Anchor.CYCLE_END: {1: CYCLE_1_END}},
                 done={("C1-IT", "treatment.IntrathecalTherapy"): None}, as_of=date(2023, 6, 1))
    assert (result.state, result.done_on, result.timing) == (State.DONE, None, None)


def test_a_record_for_another_cycle_or_form_does_not_count():
    result = one(
        INTRATHECAL,
        {Anchor.CYCLE_END: {1: CYCLE_1_END}},
        done={
            ("C2-IT", "treatment.IntrathecalTherapy"): date(2023, 3, 20),
            ("C1-IT", "treatment.Cycle"): date(2023, 3, 20),
        },
        as_of=date(2023, 4, 1),
    )
    assert result.state is State.OVERDUE


# ---- Stops (D14) -----------------------------------------------------------------------------------------
TRANSPLANT_ANCHOR = {Anchor.TRANSPLANT: {None: TRANSPLANTED}}
REGISTRATION_ANCHOR = {Anchor.REGISTRATION: {None: REGISTERED}}
LATER = date(2022, 12, 1)  # every transplant window below has closed by then


@pytest.mark.parametrize(
    ("visit", "anchors", "stops", "as_of", "state", "reason"),
    [
        pytest.param(CHIMERISM, TRANSPLANT_ANCHOR, {}, LATER, State.OVERDUE, "", id="alive, no chimerism: overdue"),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 8, 20)}, LATER, State.NOT_APPLICABLE, "death",
            id="died before the month 3 window opened: not applicable",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 9, 12)}, LATER, State.NOT_APPLICABLE, "death",
            id="died inside the window before the sample was taken: not applicable",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 9, 29)}, LATER, State.NOT_APPLICABLE, "death",
            id="died on the last day of the window: not applicable",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 9, 30)}, LATER, State.OVERDUE, "",
            id="died the day after the window closed: overdue, it was missed while alive",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.OFF_STUDY: date(2022, 9, 5)}, LATER, State.NOT_APPLICABLE,
            "off_study", id="taken off study during the window: not applicable",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.OFF_STUDY: date(2022, 11, 1)}, LATER, State.OVERDUE, "",
            id="taken off study after the window closed: still overdue",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.WITHDRAWAL: date(2022, 7, 1)}, LATER, State.NOT_APPLICABLE,
            "withdrawal", id="consent withdrawn two weeks after transplant: not applicable",
        ),
        pytest.param(
            BASELINE, REGISTRATION_ANCHOR, {Stop.SCREEN_FAILURE: date(2021, 3, 5)}, date(2021, 6, 1),
            State.NOT_APPLICABLE, "screen_failure", id="screen failure before the baseline window closed",
        ),
        pytest.param(
            BASELINE, REGISTRATION_ANCHOR, {}, date(2021, 6, 1), State.OVERDUE, "",
            id="eligible patient with no baseline three months on: overdue",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 8, 31)}, LATER, State.NOT_APPLICABLE, "cutoff",
            id="window opening the day after the data cut-off: not applicable",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 9, 1)}, LATER, State.DUE, "",
            id="window opening on the cut-off day is judged as of the cut-off: due",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 9, 15)}, date(2023, 6, 30), State.DUE, "",
            id="window straddling the cut-off is judged as of the cut-off: due, not overdue",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 9, 29)}, LATER, State.DUE, "",
            id="cut-off on the last day of the window: due",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 10, 31)}, LATER, State.OVERDUE, "",
            id="window closed before the cut-off: overdue",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2023, 12, 31)}, date(2022, 9, 10), State.DUE, "",
            id="a cut-off still to come does not move the reference date",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.RELAPSE_AFTER_TRANSPLANT: date(2022, 8, 1)}, LATER,
            State.NOT_APPLICABLE, "relapse_after_transplant",
            id="relapse at day +47 stops transplant monitoring (chimerism)",
        ),
        pytest.param(
            FOLLOW_UP, TRANSPLANT_ANCHOR, {Stop.RELAPSE_AFTER_TRANSPLANT: date(2022, 8, 1)}, LATER, State.OVERDUE,
            "", id="relapse at day +47 does not stop follow-up: month 3 follow-up overdue",
        ),
        pytest.param(
            ACUTE_GVHD, TRANSPLANT_ANCHOR, {Stop.RELAPSE_AFTER_TRANSPLANT: date(2022, 6, 20)}, LATER,
            State.NOT_APPLICABLE, "relapse_after_transplant", id="relapse before the first weekly acute GVHD score",
        ),
        pytest.param(
            FOLLOW_UP, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 8, 1)}, LATER, State.NOT_APPLICABLE, "death",
            id="death stops follow-up too",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.RELAPSE_AFTER_TRANSPLANT: date(2022, 8, 1),
                                           Stop.DEATH: date(2022, 9, 10)},
            LATER, State.NOT_APPLICABLE, "relapse_after_transplant",
            id="relapse then death: the earlier stop is the reason",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.CUTOFF: date(2022, 8, 15), Stop.DEATH: date(2022, 8, 10)},
            LATER, State.NOT_APPLICABLE, "death", id="death before the cut-off: death is the reason",
        ),
        pytest.param(
            CHIMERISM, TRANSPLANT_ANCHOR, {Stop.DEATH: date(2022, 8, 20), Stop.OFF_STUDY: date(2022, 8, 20)},
            LATER, State.NOT_APPLICABLE, "death", id="death and off-study the same day: death is the reason",
        ),
    ],
)
def test_stops(visit, anchors, stops, as_of, state, reason):
    result = one(visit, anchors, stops=stops, as_of=as_of)
    assert (result.state, result.reason) == (state, reason)


# ---- Recorded data win over stops ------------------------------------------------------------------------
M3 = ("M3", "transplant.Chimerism")


@pytest.mark.parametrize(
    ("done", "missed", "stops", "state", "reason", "timing"),
    [
        pytest.param(
            {}, {M3: "sample not sent to the reference lab"}, {}, State.MISSED, "sample not sent to the reference lab",
            None, id="chimerism recorded as missed with its reason",
        ),
        pytest.param(
            {}, {M3: "patient in intensive care"}, {Stop.DEATH: date(2022, 9, 20)}, State.MISSED,
            "patient in intensive care", None, id="missed then died: stays missed with its reason",
        ),
        pytest.param(
            {M3: date(2022, 9, 14)}, {}, {Stop.DEATH: date(2022, 9, 20)}, State.DONE, "", Timing.ON_TIME,
            id="sample taken then died inside the window: still done",
        ),
        pytest.param(
            {M3: date(2022, 9, 14)}, {}, {Stop.DEATH: date(2022, 8, 20)}, State.DONE, "", Timing.ON_TIME,
            id="a record dated after the death still shows as done",
        ),
        pytest.param(
            {M3: date(2022, 10, 20)}, {}, {Stop.RELAPSE_AFTER_TRANSPLANT: date(2022, 8, 1)}, State.DONE, "",
            Timing.LATE, id="sample taken late after a relapse: done, late",
        ),
        pytest.param(
            {M3: date(2022, 10, 3)}, {}, {Stop.CUTOFF: date(2022, 9, 15)}, State.DONE, "", Timing.LATE,
            id="sample entered after the cut-off: done",
        ),
        pytest.param(
            {M3: date(2022, 9, 2)}, {M3: "entered by mistake"}, {}, State.DONE, "", Timing.ON_TIME,
            id="both a record and a missed entry: the record wins",
        ),
    ],
)
def test_recorded_data_come_first(done, missed, stops, state, reason, timing):
    result = one(CHIMERISM, TRANSPLANT_ANCHOR, done=done, missed=missed, stops=stops, as_of=LATER)
    assert (result.state, result.reason, result.timing) == (state, reason, timing)
    assert result.done_on == done.get(M3)


# ---- A whole patient -------------------------------------------------------------------------------------
def test_a_patient_after_transplant_keeps_the_schedule_order_and_lists_what_is_overdue():
    schedule = expand([CHIMERISM, FOLLOW_UP], TRANSPLANT_ANCHOR)
    states = visit_states(
        schedule,
        done={("FU01", "patients.FollowUp"): date(2022, 9, 20)},
        missed={},
        stops={Stop.RELAPSE_AFTER_TRANSPLANT: date(2023, 1, 10)},
        as_of=date(2023, 3, 1),
    )
    assert [s.key for s in states] == [e.key for e in schedule]
    by_key = {s.key: s for s in states}
    assert by_key["FU01"].state is State.DONE
    assert by_key["M3"].state is State.OVERDUE  # window closed 2022-09-29, before the relapse
    assert by_key["M6"].state is State.OVERDUE  # window closed 2022-12-29, before the relapse
    assert by_key["FU02"].state is State.OVERDUE  # window closed 2023-01-14; follow-up continues after a relapse
    assert by_key["FU03"].state is State.DUE  # window 2023-02-13 .. 2023-04-14
    assert by_key["FU04"].state is State.EXPECTED
    assert {by_key[k].reason for k in ("M12", "M18")} == {"relapse_after_transplant"}
    assert {by_key[k].state for k in ("M12", "M18")} == {State.NOT_APPLICABLE}
    assert [s.key for s in overdue(states)] == ["M3", "FU02", "M6"]


def test_overdue_keeps_only_the_overdue_visits():
    common = {"label": "Chimerism", "form": "transplant.Chimerism", "target": date(2022, 9, 15),
              "window_start": date(2022, 9, 1), "window_end": date(2022, 9, 29)}
    states = [VisitState(key=state.value, state=state, **common) for state in State]
    assert [s.key for s in overdue(states)] == ["overdue"]
    assert overdue([]) == []


# ---- The module stays pure -------------------------------------------------------------------------------
def test_the_schedule_imports_only_the_standard_library():
    source = Path(__file__).resolve().parents[2] / "trial" / "schedule.py"
    modules = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules <= {"calendar", "collections", "dataclasses", "datetime", "enum", "functools"}
