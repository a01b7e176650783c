"""The schedule after the transplant, applied to recorded data (trial.visits.patient_schedule): day 0 anchors the
daily counts, the weekly acute GVHD, chronic GVHD, chimerism and immune reconstitution (D12 windows), the viral
loads (weekly to day +180, every 2 weeks to +365, monthly to month 24) and the follow-up every 3 months to 60
months; a relapse after transplant stops the monitoring but not the follow-up, and death, off-study and the data
cut-off stop everything after them (D14).

Dates follow tests.transplant_forms: registered 2020-03-09, day 0 on 2020-06-15.
"""

from datetime import date, timedelta

import pytest

from patients.models import FollowUp
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from transplant.models import AcuteGvhd, ChronicGvhd, ViralLoad
from trial.crf import RECOMPUTED_REASON
from trial.models import DataCutoff
from trial.schedule import State, Timing, add_months
from trial.visits import patient_schedule

pytestmark = pytest.mark.django_db

DAY0 = tx.DAY0  # 2020-06-15
ELIGIBLE = date(2020, 3, 12)
LONG_AFTER = date(2026, 1, 1)  # every window of the 60 months has closed


def _of(patient, form: str, as_of: date = DAY0) -> list:
    """The patient's visits of one form, in date order."""
    return [s for s in patient_schedule(patient, as_of=as_of) if s.form == form]


def _state(patient, key: str, form: str, as_of: date):
    return next(s for s in patient_schedule(patient, as_of=as_of) if (s.key, s.form) == (key, form))


def _window(state) -> tuple[int, int, int]:
    """Target and window as days after day 0."""
    return ((state.target - DAY0).days, (state.window_start - state.target).days,
            (state.window_end - state.target).days)


def _months(months: int) -> date:
    return add_months(DAY0, months)


# ---- What day 0 makes expected ---------------------------------------------------------------------------
def test_nothing_after_the_transplant_is_expected_before_day_0_is_recorded(treated):
    forms = {s.form for s in patient_schedule(treated, as_of=DAY0)}
    assert not any(form.startswith("transplant.") for form in forms)


def test_donor_and_graft_are_expected_at_the_transplant_visit(day0):
    donor, graft = (_state(day0, "HSCT", form, DAY0) for form in ("transplant.Donor", "transplant.Graft"))
    assert (_window(donor), _window(graft)) == ((0, -120, 7), (0, -3, 7))


def test_daily_counts_are_expected_every_day_from_day_0_to_day_30(day0):
    counts = _of(day0, "transplant.DailyCount")
    assert [s.key for s in counts] == [f"D{day:02d}" for day in range(31)]
    assert [_window(s) for s in counts] == [(day, 0, 7) for day in range(31)]
    assert [s.state for s in counts[:2]] == [State.DUE, State.EXPECTED]  # as of day 0


def test_acute_gvhd_is_expected_weekly_to_day_100(day0):
    weekly = _of(day0, "transplant.AcuteGvhd")
    assert [(s.key, *_window(s)) for s in weekly] == [(f"W{n:02d}", 7 * n, -3, 3) for n in range(1, 15)]


def test_chronic_gvhd_is_expected_from_day_100_then_at_6_12_18_and_24_months(day0):
    chronic = _of(day0, "transplant.ChronicGvhd")
    assert [(s.key, s.target) for s in chronic] == [
        ("CGD100", DAY0 + timedelta(days=100)), ("CGM6", _months(6)), ("CGM12", _months(12)),
        ("CGM18", _months(18)), ("CGM24", _months(24))]
    assert {_window(s)[1:] for s in chronic} == {(-14, 14)}


@pytest.mark.parametrize("form", ["transplant.Chimerism", "transplant.ImmuneReconstitution"])
def test_chimerism_and_immune_reconstitution_at_3_6_12_and_18_months_within_14_days(day0, form):
    visits = _of(day0, form)
    assert [(s.key, s.target) for s in visits] == [
        ("M3", date(2020, 9, 15)), ("M6", date(2020, 12, 15)), ("M12", date(2021, 6, 15)),
        ("M18", date(2021, 12, 15))]
    assert {_window(s)[1:] for s in visits} == {(-14, 14)}


def test_viral_loads_weekly_to_day_180_every_2_weeks_to_365_then_monthly_to_month_24(day0):
    loads = _of(day0, "transplant.ViralLoad")
    assert [s.key for s in loads] == [f"VL{n:02d}" for n in range(1, 51)]
    weekly, biweekly, monthly = loads[:25], loads[25:38], loads[38:]
    assert [_window(s) for s in weekly] == [(7 * n, -3, 3) for n in range(1, 26)]  # days 7 to 175
    assert [_window(s) for s in biweekly] == [(175 + 14 * n, -5, 5) for n in range(1, 14)]  # days 189 to 357
    assert [s.target for s in monthly] == [_months(m) for m in range(13, 25)]  # 2021-07-15 to 2022-06-15
    assert {_window(s)[1:] for s in monthly} == {(-7, 7)}
    assert (loads[0].target, loads[24].target, loads[25].target, loads[37].target, loads[-1].target) == (
        date(2020, 6, 22), date(2020, 12, 7), date(2020, 12, 21), date(2021, 6, 7), date(2022, 6, 15))


def test_follow_up_every_3_months_from_day_0_to_60_months_within_30_days(day0):
    follow_ups = _of(day0, "patients.FollowUp")
    assert [(s.key, s.target) for s in follow_ups] == [(f"FU{n:02d}", _months(3 * n)) for n in range(1, 21)]
    assert {_window(s)[1:] for s in follow_ups} == {(-30, 30)}
    assert (follow_ups[0].target, follow_ups[-1].target) == (date(2020, 9, 15), date(2025, 6, 15))


def test_follow_up_of_a_patient_never_transplanted_counts_from_enrollment(treated):
    follow_ups = _of(treated, "patients.FollowUp")
    assert [(s.key, s.target) for s in follow_ups[:2]] == [("FU01", add_months(ELIGIBLE, 3)),
                                                            ("FU02", add_months(ELIGIBLE, 6))]
    assert len(follow_ups) == 20


# ---- What stops it (D14) ---------------------------------------------------------------------------------
MONITORING = ("transplant.DailyCount", "transplant.AcuteGvhd", "transplant.ChronicGvhd", "transplant.Chimerism",
              "transplant.ImmuneReconstitution", "transplant.ViralLoad")


def test_a_relapse_after_transplant_stops_the_monitoring_but_not_the_follow_up(coordinator, day0):
    relapse_on = tx.on_day(140)  # 2020-11-02
    tx.relapse_after(coordinator, day0, 140)
    states = patient_schedule(day0, as_of=LONG_AFTER)
    for state in states:
        if state.form in MONITORING:
            expected = (State.NOT_APPLICABLE, "relapse_after_transplant") if state.window_end >= relapse_on \
                else (State.OVERDUE, "")
            assert (state.state, state.reason) == expected, state.key
    follow_ups = [s for s in states if s.form == "patients.FollowUp"]
    assert len(follow_ups) == 20 and {s.state for s in follow_ups} == {State.OVERDUE}  # still expected, all missed
    assert _state(day0, "FU02", "patients.FollowUp", date(2020, 12, 20)).state == State.DUE
    assert _state(day0, "M6", "transplant.Chimerism", date(2020, 12, 20)).state == State.NOT_APPLICABLE
    assert _state(day0, "M3", "transplant.Chimerism", date(2020, 12, 20)).state == State.OVERDUE


@pytest.mark.parametrize(("stop", "reason"), [
    pytest.param(lambda user, patient, day: treatment.death(user, patient, day), "death", id="death"),
    pytest.param(lambda user, patient, day: tx.off_study(user, patient, day, reason="lost"), "off_study",
                 id="off-study"),
])
def test_death_or_off_study_stops_every_visit_whose_window_had_not_closed(coordinator, day0, stop, reason):
    stop_on = tx.on_day(100)  # 2020-09-23
    stop(coordinator, day0, stop_on)
    states = [s for s in patient_schedule(day0, as_of=LONG_AFTER) if s.form.startswith("transplant.")
              or s.form == "patients.FollowUp"]
    assert states
    for state in states:
        if state.form in ("transplant.Donor", "transplant.Graft"):
            continue  # their window closed on day +7: overdue, whatever came later
        expected = (State.NOT_APPLICABLE, reason) if state.window_end >= stop_on else (State.OVERDUE, "")
        assert (state.state, state.reason) == expected, (state.key, state.form)
    assert _state(day0, "FU01", "patients.FollowUp", LONG_AFTER).state == State.NOT_APPLICABLE
    assert _state(day0, "W13", "transplant.AcuteGvhd", LONG_AFTER).state == State.OVERDUE  # day 91 ± 3


def test_the_data_cut_off_stops_what_opens_after_it_and_judges_the_rest_on_its_date(coordinator, data_manager,
                                                                                  day0):
    cutoff = tx.on_day(100)  # 2020-09-23
    DataCutoff.objects.create(cutoff_date=cutoff, reason="Interim analysis", set_by=data_manager)
    states = {(s.key, s.form): s for s in patient_schedule(day0, as_of=LONG_AFTER)}
    for state in states.values():
        if state.window_start > cutoff:
            assert (state.state, state.reason) == (State.NOT_APPLICABLE, "cutoff"), (state.key, state.form)
    assert states[("CGD100", "transplant.ChronicGvhd")].state == State.DUE  # day 86–114: open on the cut-off
    assert states[("FU01", "patients.FollowUp")].state == State.DUE  # 2020-08-16 to 2020-10-15
    assert states[("W14", "transplant.AcuteGvhd")].state == State.DUE  # days 95–101
    assert states[("W13", "transplant.AcuteGvhd")].state == State.OVERDUE  # days 88–94
    assert states[("FU20", "patients.FollowUp")].state == State.NOT_APPLICABLE


# ---- Records and their visits ----------------------------------------------------------------------------
def test_an_overdue_acute_gvhd_visit_is_done_once_the_assessment_is_entered(coordinator, day0):
    as_of = tx.on_day(30)
    assert _state(day0, "W01", "transplant.AcuteGvhd", as_of).state == State.OVERDUE
    tx.acute_gvhd(coordinator, day0, 9)
    done = _state(day0, "W01", "transplant.AcuteGvhd", as_of)
    assert (done.state, done.done_on, done.timing) == (State.DONE, tx.on_day(9), Timing.ON_TIME)
    assert _state(day0, "W04", "transplant.AcuteGvhd", as_of).state == State.DUE  # day 28 ± 3


@pytest.mark.parametrize(("day", "visit"), [
    pytest.param(4, "W01", id="day 4: W01 opens"),
    pytest.param(7, "W01", id="day 7"),
    pytest.param(15, "W02", id="day 15: W02 (14 ± 3)"),
    pytest.param(98, "W14", id="day 98"),
    pytest.param(2, "UNS", id="day 2: before every window"),
    pytest.param(103, "UNS", id="day 103: after the last window"),
])
def test_an_acute_gvhd_assessment_gets_the_weekly_visit_whose_window_holds_its_date(coordinator, day0, day,
                                                                                   visit):
    tx.acute_gvhd(coordinator, day0, day)
    assert AcuteGvhd.objects.get(patient=day0).visit == visit


@pytest.mark.parametrize(("enter", "model", "visit"), [
    pytest.param(lambda user, patient: tx.viral_load(user, patient, 28), ViralLoad, "VL04", id="viral load day 28"),
    pytest.param(lambda user, patient: tx.viral_load(user, patient, 190), ViralLoad, "VL26",
                 id="viral load day 190 (189 ± 5)"),
    pytest.param(lambda user, patient: tx.viral_load(user, patient, 400), ViralLoad, "VL39",
                 id="viral load 2021-07-19 (month 13 ± 7)"),
    pytest.param(lambda user, patient: tx.chronic_gvhd(user, patient, 105), ChronicGvhd, "CGD100",
                 id="chronic GVHD day 105"),
    pytest.param(lambda user, patient: tx.follow_up(user, patient, date(2020, 9, 1)), FollowUp, "FU01",
                 id="follow-up 2020-09-01"),
])
def test_each_monitoring_record_gets_the_visit_whose_window_holds_its_date(coordinator, day0, enter, model,
                                                                          visit):
    enter(coordinator, day0)
    assert model.objects.get(patient=day0).visit == visit


def test_a_follow_up_before_the_transplant_is_keyed_from_enrollment(coordinator, treated):
    early = tx.follow_up(coordinator, treated, date(2020, 6, 9))  # FU01 is 2020-06-12 (eligible + 3 months) ± 30
    assert FollowUp.objects.get(pk=early.pk).visit == "FU01"
    assert _state(treated, "FU01", "patients.FollowUp", date(2020, 6, 30)).state == State.DONE


def test_a_follow_up_after_the_transplant_is_keyed_from_day_0(coordinator, day0):
    later = tx.follow_up(coordinator, day0, date(2020, 9, 20))  # FU01 is 2020-09-15 ± 30 days
    assert FollowUp.objects.get(pk=later.pk).visit == "FU01"
    done = _state(day0, "FU01", "patients.FollowUp", date(2020, 10, 1))
    assert (done.state, done.done_on, done.timing) == (State.DONE, date(2020, 9, 20), Timing.ON_TIME)


def test_a_follow_up_entered_before_the_transplant_is_re_keyed_from_day_0(coordinator, treated):
    early = tx.follow_up(coordinator, treated, date(2020, 6, 9))
    tx.procedure(coordinator, treated)
    stored = FollowUp.objects.get(pk=early.pk)
    assert stored.visit == "UNS"  # FU01 is now 2020-09-15 ± 30 days: 2020-06-09 lies in no window
    assert stored.history.order_by("-history_id").first().history_change_reason == RECOMPUTED_REASON
    assert _state(treated, "FU01", "patients.FollowUp", date(2020, 10, 1)).state == State.DUE
