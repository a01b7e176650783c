"""Transplant rules, table-driven (CLINICAL-RULES 4.1–4.3, 11; study decisions D7, D8, D13). No database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transplant.rules import (
    BILIRUBIN_UMOL_PER_MG_DL,
    CGVHD_ORGANS,
    ROMAN,
    SEVERITY_ORDER,
    TRANSPLANT_RULE_VERSION,
    AcuteGvhdSummary,
    ChimerismStatus,
    ChronicGvhdSummary,
    ChronicSeverity,
    DayCount,
    Engraftment,
    acute_gvhd_point,
    acute_gvhd_summary,
    bilirubin_mg_dl,
    chimerism_status,
    chronic_gvhd_summary,
    day_relative,
    dose_per_kg,
    engraftment,
    liver_stage,
    lost_complete_chimerism,
    lower_gi_stage,
    magic_grade,
    nih_global_severity,
    platelets_look_per_ul,
)

MISSING = object()  # no count row at all for that day (unlike ANC None: a row without the value)
D = Decimal


def test_rule_version():
    assert TRANSPLANT_RULE_VERSION == "TX-1"


@pytest.mark.parametrize(("day", "expected"), [
    pytest.param(date(2025, 3, 1), 0, id="infusion-day-is-day-0"),
    pytest.param(date(2025, 3, 11), 10, id="day-plus-10"),
    pytest.param(date(2025, 2, 28), -1, id="day-minus-1"),
    pytest.param(date(2025, 6, 9), 100, id="day-plus-100"),
])
def test_day_relative(day, expected):
    assert day_relative(day, date(2025, 3, 1)) == expected


# ---- Engraftment: neutrophils (D7) -----------------------------------------------------------------------
def anc_counts(values, start=0):
    """Daily ANC rows from `start`; MISSING leaves the day without a row."""
    return [DayCount(start + i, v, None, None) for i, v in enumerate(values) if v is not MISSING]


LOW = [100] * 31  # days 0–30 aplastic


@pytest.mark.parametrize(("anc", "start", "nadir", "neutrophil"), [
    pytest.param([300, 100, 50, 50, 600, 700, 800], 0, 0, 4, id="clean-engraftment-day-4"),
    pytest.param([300, 100, 600, 100, 600, 700, 800], 0, 0, 4, id="single-day-spike-is-not-a-run"),
    pytest.param([300, 600, 700, 100, 600, 700, 800], 0, 0, 4, id="two-day-run-is-not-enough"),
    pytest.param([800, 900, 700, 400, 100, 600, 700, 800], 0, 3, 5, id="anc-above-500-days-0-2-before-nadir-ignored"),
    pytest.param([400, 600, 600, 600], 0, 0, 1, id="nadir-day-itself-never-counts-run-from-next-day"),
    pytest.param([100, 500, 500, 500, 600, 600, 600], 0, 0, 4, id="exactly-500-does-not-count"),
    pytest.param([800, 500, 600, 600, 600], 0, None, None, id="exactly-500-is-not-a-nadir"),
    pytest.param([100, 600, 500, 600, 600, 600], 0, 0, 3, id="exactly-500-breaks-a-run"),
    pytest.param([100, 501, 501, 501], 0, 0, 1, id="501-counts"),
    pytest.param([100, 499, 600, 600, 600], 0, 0, 2, id="499-after-nadir-breaks-but-is-not-a-new-nadir"),
    pytest.param([100, 600, MISSING, 600, 600, 600], 0, 0, 3, id="missing-day-inside-run-breaks-it"),
    pytest.param([100, 600, None, 600, 600, 600], 0, 0, 3, id="anc-not-entered-inside-run-breaks-it"),
    pytest.param([None, 800, 100, 600, 600, 600], 0, 2, 3, id="unknown-anc-day-0-is-not-the-nadir"),
    pytest.param([800] * 40, 0, None, None, id="no-nadir-ever-no-engraftment"),
    pytest.param([100, 100, 100, 800, 800, 800, 800], -3, None, None, id="low-anc-before-day-0-is-no-nadir"),
    pytest.param([100, 100, 100, 800, 100, 800, 800, 800], -3, 1, 2, id="negative-days-ignored"),
    pytest.param([], 0, None, None, id="no-counts"),
])
def test_neutrophil_engraftment(anc, start, nadir, neutrophil):
    result = engraftment(anc_counts(anc, start))
    assert (result.nadir_day, result.neutrophil_day) == (nadir, neutrophil)


@pytest.mark.parametrize(("anc", "failure", "neutrophil"), [
    pytest.param(LOW, True, None, id="no-engraftment-counts-reach-day-30-failure"),
    pytest.param(LOW + [100] * 5, True, None, id="no-engraftment-counts-beyond-day-30-failure"),
    pytest.param(LOW[:30], None, None, id="counts-stop-day-29-undecided"),
    pytest.param([100] * 20, None, None, id="counts-stop-day-19-undecided"),
    pytest.param(LOW + [600, 600, 600], True, 31, id="engrafted-day-31-failure"),
    pytest.param(LOW[:30] + [600, 600, 600], False, 30, id="engrafted-day-30-no-failure"),
    pytest.param([100] * 12 + [600] * 4, False, 12, id="engrafted-day-12-before-day-30-known"),
    pytest.param(LOW[:29] + [600, 600], None, None, id="run-open-at-day-30-started-day-29-undecided"),
    pytest.param(LOW[:29] + [600, 600, 600], False, 29, id="run-from-day-29-completes-day-31"),
    pytest.param(LOW[:29] + [600, 600, 100], True, None, id="run-from-day-29-broken-day-31-failure"),
    pytest.param(LOW + [600], True, None, id="run-open-from-day-31-cannot-help-failure"),
    pytest.param(LOW[:29] + [600, None], True, None, id="run-broken-by-unknown-day-30-failure"),
    pytest.param([800] * 31, True, None, id="no-nadir-by-day-30-failure"),
    pytest.param([], None, None, id="no-counts-undecided"),
])
def test_primary_graft_failure(anc, failure, neutrophil):
    result = engraftment(anc_counts(anc))
    assert (result.primary_graft_failure, result.neutrophil_day) == (failure, neutrophil)


@pytest.mark.parametrize(("anc", "start", "missing", "last"), [
    pytest.param([100, 600, MISSING, 600, 600, 600], 0, (2,), 5, id="gap-inside-run-reported"),
    pytest.param([MISSING, MISSING, MISSING, 100, 200], 0, (0, 1, 2), 4, id="first-row-day-3-days-0-2-missing"),
    pytest.param([100, MISSING, 100, 100], -2, (-1,), 1, id="gap-before-day-0-after-first-row"),
    pytest.param([100, None, 100], 0, (), 2, id="row-with-unknown-anc-is-not-missing"),
    pytest.param([100, MISSING, MISSING, 100], 0, (1, 2), 3, id="two-day-gap"),
])
def test_missing_days_and_last_day(anc, start, missing, last):
    result = engraftment(anc_counts(anc, start))
    assert (result.missing_days, result.last_day) == (missing, last)


def test_no_counts_all_none():
    assert engraftment([]) == Engraftment(None, None, None, None, (), None)


# ---- Engraftment: platelets (D7) -------------------------------------------------------------------------
def platelet_counts(*segments, start=0):
    """Consecutive days from `start`: each segment is (days, platelets, transfusion); platelets MISSING = no row."""
    rows, day = [], start
    for days, platelets, transfusion in segments:
        for _ in range(days):
            if platelets is not MISSING:
                rows.append(DayCount(day, 100, platelets, transfusion))
            day += 1
    return rows


@pytest.mark.parametrize(("segments", "expected"), [
    pytest.param([(10, 15, True), (7, 15, False), (7, 25, False)], 17, id="clean-engraftment-after-transfusions-stop"),
    pytest.param([(10, 15, True), (14, 25, False)], 17, id="count-above-20-but-transfused-7-days-before"),
    pytest.param([(4, 25, False), (1, 25, True), (14, 25, False)], 12, id="transfusion-inside-run-restarts-lookback"),
    pytest.param([(5, 15, False), (1, 15, True), (14, 25, False)], 13, id="transfusion-in-7-days-before-run-start"),
    pytest.param([(3, 25, False), (1, 25, None), (14, 25, False)], 11, id="transfusion-not-answered-on-run-day"),
    pytest.param([(3, 15, False), (1, 15, None), (14, 25, False)], 11, id="transfusion-not-answered-on-lookback-day"),
    pytest.param([(3, 25, False), (1, 20, False), (10, 25, False)], 7, id="exactly-20-breaks-run-not-lookback"),
    pytest.param([(7, 20, False)], None, id="exactly-20-never-engrafts"),
    pytest.param([(14, D("20.1"), False)], 7, id="decimal-20.1-counts"),
    pytest.param([(3, 25, False), (1, MISSING, None), (14, 25, False)], 11, id="missing-day-breaks-run-and-lookback"),
    pytest.param([(3, 25, False), (1, None, False), (10, 25, False)], 7, id="unknown-count-breaks-run-not-lookback"),
    pytest.param([(14, 25, False)], 7, id="above-20-from-day-0-engrafts-day-7-once-the-look-back-is-recorded"),
    pytest.param([(7, 25, False)], None, id="seven-days-from-day-0-cannot-confirm-the-look-back"),
    pytest.param([(6, 15, False), (8, 25, False)], 7, id="day-6-cannot-start-its-look-back-reaches-day-minus-1"),
    pytest.param([(1, 15, False), (1, 15, True), (1, 15, False), (13, 25, False)], 9,
                 id="run-from-day-3-blocked-by-transfusion-day-1"),
    pytest.param([(6, 25, False)], None, id="six-days-is-not-a-run"),
    pytest.param([(20, 15, False)], None, id="never-above-20"),
])
def test_platelet_engraftment(segments, expected):
    assert engraftment(platelet_counts(*segments)).platelet_day == expected


def test_platelet_look_back_before_day_0_cannot_be_confirmed():
    """D7: the 7 days before the run must be transfusion-free; days before day 0 are not recorded (a row there does
    not count), so a child above 20 ×10⁹/L from day 0 engrafts on day +7 at the earliest, not on day 0."""
    rows = platelet_counts((2, 25, False), (14, 25, False), start=-2)
    assert engraftment(rows).platelet_day == 7


def test_platelet_missing_day_reported():
    result = engraftment(platelet_counts((3, 25, False), (1, MISSING, None), (14, 25, False)))
    assert result.missing_days == (3,)


def test_shuffled_input_gives_the_same_result():
    rows = anc_counts([800, 300, 100, 600, 700, 800]) + platelet_counts((10, 15, True), (14, 25, False), start=6)
    rows = [DayCount(r.day, r.anc_per_ul if r.day < 6 else 900, r.platelets_10e9_l, r.platelet_transfusion)
            for r in rows]
    expected = engraftment(rows)
    assert (expected.nadir_day, expected.neutrophil_day, expected.platelet_day) == (1, 3, 23)
    shuffled = rows[::2] + rows[1::2][::-1]
    assert engraftment(shuffled) == expected
    assert engraftment(reversed(rows)) == expected


def test_duplicate_day_raises_naming_the_day():
    rows = anc_counts([100, 200, 300]) + [DayCount(1, 250, None, None)]
    with pytest.raises(ValueError, match="day 1"):
        engraftment(rows)


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(231000, True, id="typed-per-microlitre"),
    pytest.param(2001, True, id="just-above-2000"),
    pytest.param(2000, False, id="exactly-2000"),
    pytest.param(D("231.5"), False, id="plausible-10e9-per-l"),
    pytest.param(None, False, id="not-entered"),
])
def test_platelets_look_per_ul(value, expected):
    assert platelets_look_per_ul(value) is expected


# ---- Engraftment properties ------------------------------------------------------------------------------
anc_values = st.one_of(st.none(), st.sampled_from([0, 100, 499, 500, 501, 800, 5000]))
anc_days = st.dictionaries(st.integers(-3, 40), anc_values, max_size=44)


def _good(days, day):
    return days.get(day) is not None and days[day] > 500


@given(anc_days, st.randoms(use_true_random=False))
def test_neutrophil_day_is_the_first_3_day_run_after_the_nadir(days, rnd):
    rows = [DayCount(day, anc, None, None) for day, anc in days.items()]
    rnd.shuffle(rows)
    result = engraftment(rows)
    assert result == engraftment(sorted(rows, key=lambda r: r.day))
    nadir = result.nadir_day
    if nadir is not None:
        assert nadir >= 0 and days[nadir] < 500
        assert all(days.get(d) is None or days[d] >= 500 for d in range(0, nadir))
    starts = [] if nadir is None else [s for s in range(nadir + 1, 41) if all(_good(days, s + i) for i in range(3))]
    if result.neutrophil_day is None:
        assert starts == []
    else:
        assert nadir is not None and result.neutrophil_day > nadir
        assert all(_good(days, result.neutrophil_day + i) for i in range(3))
        assert result.neutrophil_day == starts[0]
        assert result.primary_graft_failure is (result.neutrophil_day > 30)
    if result.primary_graft_failure is True and result.neutrophil_day is None:
        assert result.last_day is not None and result.last_day >= 30


# ---- Acute GVHD: liver (MAGIC §4.1) ----------------------------------------------------------------------
@pytest.mark.parametrize(("bilirubin", "stage"), [
    pytest.param(D("0"), 0, id="normal"),
    pytest.param(D("1.99"), 0, id="1.99-stage-0"),
    pytest.param(D("2.0"), 1, id="2.0-stage-1"),
    pytest.param(D("3.0"), 1, id="3.0-stage-1"),
    pytest.param(D("3.01"), 2, id="3.01-stage-2"),
    pytest.param(D("6.0"), 2, id="6.0-stage-2"),
    pytest.param(D("6.01"), 3, id="6.01-stage-3"),
    pytest.param(D("15.0"), 3, id="15.0-stage-3"),
    pytest.param(D("15.01"), 4, id="15.01-stage-4"),
    pytest.param(None, None, id="not-measured"),
])
def test_liver_stage(bilirubin, stage):
    assert liver_stage(bilirubin) == stage


@pytest.mark.parametrize(("umol_l", "stage"), [
    pytest.param(D("34.1"), 0, id="34.1-umol-stage-0"),
    pytest.param(D("34.2"), 1, id="34.2-umol-is-2.0-mg-stage-1"),
    pytest.param(D("51.3"), 1, id="51.3-umol-is-3.0-mg-stage-1"),
    pytest.param(D("51.4"), 2, id="51.4-umol-stage-2"),
    pytest.param(D("102.6"), 2, id="102.6-umol-is-6.0-mg-stage-2"),
    pytest.param(D("256.5"), 3, id="256.5-umol-is-15.0-mg-stage-3"),
    pytest.param(D("256.6"), 4, id="256.6-umol-stage-4"),
])
def test_liver_stage_from_umol_per_l(umol_l, stage):
    assert liver_stage(bilirubin_mg_dl(umol_l, "umol_l")) == stage


def test_bilirubin_conversion():
    assert D("17.1") == BILIRUBIN_UMOL_PER_MG_DL
    assert bilirubin_mg_dl(D("34.2"), "umol_l") == D("2.0")
    assert bilirubin_mg_dl(D("2.5"), "mg_dl") == D("2.5")


@pytest.mark.parametrize(("value", "unit"), [
    pytest.param(D("2"), "mg/dl", id="unknown-unit"),
    pytest.param(D("-1"), "mg_dl", id="negative"),
])
def test_bilirubin_conversion_rejects(value, unit):
    with pytest.raises(ValueError):
        bilirubin_mg_dl(value, unit)


# ---- Acute GVHD: lower GI (MAGIC §4.1, D13) ---------------------------------------------------------------
@pytest.mark.parametrize(("ml_day", "stage"), [
    pytest.param(D("199.8"), 0, id="child-9.99-ml-kg"),
    pytest.param(200, 1, id="child-10-ml-kg"),
    pytest.param(D("399.8"), 1, id="child-19.99-ml-kg"),
    pytest.param(400, 2, id="child-20-ml-kg"),
    pytest.param(600, 2, id="child-30-ml-kg"),
    pytest.param(D("600.2"), 3, id="child-30.01-ml-kg"),
    pytest.param(0, 0, id="child-no-stool"),
])
def test_lower_gi_child_volume_per_kg(ml_day, stage):
    assert lower_gi_stage(weight_kg=D("20"), stool_ml_day=ml_day) == stage


@pytest.mark.parametrize(("ml_day", "stage"), [
    pytest.param(499, 0, id="adult-499-ml"),
    pytest.param(500, 1, id="adult-500-ml"),
    pytest.param(999, 1, id="adult-999-ml"),
    pytest.param(1000, 2, id="adult-1000-ml"),
    pytest.param(1500, 2, id="adult-1500-ml"),
    pytest.param(1501, 3, id="adult-1501-ml"),
])
def test_lower_gi_adult_volume(ml_day, stage):
    assert lower_gi_stage(weight_kg=D("60"), stool_ml_day=ml_day) == stage


@pytest.mark.parametrize(("weight", "episodes", "stage"), [
    pytest.param(D("20"), 3, 0, id="child-3-episodes"),
    pytest.param(D("20"), 4, 1, id="child-4-episodes"),
    pytest.param(D("20"), 6, 1, id="child-6-episodes"),
    pytest.param(D("20"), 7, 2, id="child-7-episodes"),
    pytest.param(D("20"), 10, 2, id="child-10-episodes"),
    pytest.param(D("20"), 11, 3, id="child-11-episodes"),
    pytest.param(D("60"), 2, 0, id="adult-2-episodes"),
    pytest.param(D("60"), 3, 1, id="adult-3-episodes"),
    pytest.param(D("60"), 4, 1, id="adult-4-episodes"),
    pytest.param(D("60"), 5, 2, id="adult-5-episodes"),
    pytest.param(D("60"), 7, 2, id="adult-7-episodes"),
    pytest.param(D("60"), 8, 3, id="adult-8-episodes"),
    pytest.param(D("50"), 3, 0, id="weight-exactly-50-is-child-3-episodes"),
    pytest.param(D("50.1"), 3, 1, id="weight-50.1-is-adult-3-episodes"),
    pytest.param(D("50"), 8, 2, id="weight-exactly-50-is-child-8-episodes"),
    pytest.param(D("50.1"), 8, 3, id="weight-50.1-is-adult-8-episodes"),
])
def test_lower_gi_episodes(weight, episodes, stage):
    assert lower_gi_stage(weight_kg=weight, stool_episodes_day=episodes) == stage


@pytest.mark.parametrize(("kwargs", "stage"), [
    pytest.param({"weight_kg": D("50.1"), "stool_ml_day": 1000}, 2, id="adult-50.1-kg-1000-ml-not-per-kg"),
    pytest.param({"weight_kg": D("50"), "stool_ml_day": 999}, 1, id="child-50-kg-19.98-ml-kg"),
    pytest.param({"weight_kg": D("20"), "stool_ml_day": 100, "stool_episodes_day": 11}, 0,
                 id="d13-child-volume-beats-episodes-lower"),
    pytest.param({"weight_kg": D("20"), "stool_ml_day": 700, "stool_episodes_day": 1}, 3,
                 id="d13-child-volume-beats-episodes-higher"),
    pytest.param({"weight_kg": D("70"), "stool_ml_day": 1600, "stool_episodes_day": 1}, 3,
                 id="d13-adult-volume-beats-episodes"),
    pytest.param({"weight_kg": D("20"), "stool_ml_day": 0, "severe_pain_or_bloody": True}, 4,
                 id="severe-pain-or-bloody-stage-4-regardless-of-volume"),
    pytest.param({"weight_kg": None, "severe_pain_or_bloody": True}, 4, id="bloody-stool-needs-no-weight"),
    pytest.param({"weight_kg": None, "stool_ml_day": 800}, None, id="volume-without-weight-cannot-stage"),
    pytest.param({"weight_kg": None, "stool_episodes_day": 5}, None, id="episodes-without-weight-cannot-stage"),
    pytest.param({"weight_kg": D("20")}, None, id="nothing-given-not-assessed"),
    pytest.param({"weight_kg": None}, None, id="nothing-given-no-weight-not-assessed"),
])
def test_lower_gi_rules(kwargs, stage):
    assert lower_gi_stage(**kwargs) == stage


@pytest.mark.parametrize("kwargs", [
    pytest.param({"weight_kg": D("0"), "stool_ml_day": 100}, id="zero-weight"),
    pytest.param({"weight_kg": D("20"), "stool_ml_day": -1}, id="negative-volume"),
    pytest.param({"weight_kg": D("20"), "stool_episodes_day": -1}, id="negative-episodes"),
])
def test_lower_gi_rejects(kwargs):
    with pytest.raises(ValueError):
        lower_gi_stage(**kwargs)


# ---- Acute GVHD: overall grade (MAGIC §4.2) --------------------------------------------------------------
@pytest.mark.parametrize(("skin", "liver", "ugi", "lgi", "grade"), [
    pytest.param(0, 0, 0, 0, 0, id="no-gvhd-0"),
    pytest.param(1, 0, 0, 0, 1, id="skin-1-alone-I"),
    pytest.param(2, 0, 0, 0, 1, id="skin-2-alone-I"),
    pytest.param(3, 0, 0, 0, 2, id="skin-3-alone-II"),
    pytest.param(0, 1, 0, 0, 2, id="liver-1-II"),
    pytest.param(0, 0, 1, 0, 2, id="upper-gi-1-II"),
    pytest.param(0, 0, 0, 1, 2, id="lower-gi-1-II"),
    pytest.param(2, 0, 1, 0, 2, id="skin-2-plus-upper-gi-1-II"),
    pytest.param(1, 1, 0, 0, 2, id="skin-1-plus-liver-1-II"),
    pytest.param(3, 1, 1, 1, 2, id="skin-3-and-all-stage-1-II"),
    pytest.param(0, 2, 0, 0, 3, id="liver-2-III"),
    pytest.param(0, 3, 0, 0, 3, id="liver-3-III"),
    pytest.param(0, 0, 0, 2, 3, id="lower-gi-2-III"),
    pytest.param(0, 0, 0, 3, 3, id="lower-gi-3-III"),
    pytest.param(3, 2, 1, 3, 3, id="skin-3-liver-2-ugi-1-lgi-3-III"),
    pytest.param(4, 0, 0, 0, 4, id="skin-4-IV"),
    pytest.param(0, 4, 0, 0, 4, id="liver-4-IV"),
    pytest.param(0, 0, 0, 4, 4, id="lower-gi-4-IV"),
    pytest.param(4, 0, 0, 2, 4, id="lower-gi-2-plus-skin-4-IV"),
    pytest.param(4, 4, 1, 4, 4, id="everything-maximal-IV"),
])
def test_magic_grade(skin, liver, ugi, lgi, grade):
    assert magic_grade(skin, liver, ugi, lgi) == grade


@pytest.mark.parametrize("stages", [
    pytest.param((0, 0, 2, 0), id="upper-gi-has-no-stage-2"),
    pytest.param((5, 0, 0, 0), id="skin-stage-5"),
    pytest.param((0, -1, 0, 0), id="negative-liver-stage"),
    pytest.param((0, 0, 0, 5), id="lower-gi-stage-5"),
])
def test_magic_grade_rejects_impossible_stages(stages):
    with pytest.raises(ValueError):
        magic_grade(*stages)


def test_roman_numerals():
    assert [ROMAN[g] for g in range(5)] == ["0", "I", "II", "III", "IV"]


stage_4 = st.integers(0, 4)


@given(stage_4, stage_4, st.integers(0, 1), stage_4, st.sampled_from(["skin", "liver", "upper_gi", "lower_gi"]))
def test_magic_grade_is_monotone_in_each_organ(skin, liver, ugi, lgi, organ):
    stages = {"skin": skin, "liver": liver, "upper_gi": ugi, "lower_gi": lgi}
    grade = magic_grade(**stages)
    assert 0 <= grade <= 4
    if stages[organ] < (1 if organ == "upper_gi" else 4):
        worse = stages | {organ: stages[organ] + 1}
        assert magic_grade(**worse) >= grade


# ---- Acute GVHD: per-patient summary (§4.2) --------------------------------------------------------------
DAY0 = date(2025, 1, 1)


def on(day):
    return DAY0 + timedelta(days=day)


def test_acute_summary_onset_is_first_grade_1_even_if_later_worse():
    points = [
        acute_gvhd_point(on(35), skin=0, liver=2, upper_gi=0, lower_gi=1),  # III
        acute_gvhd_point(on(7), skin=0, liver=0, upper_gi=0, lower_gi=0),  # 0
        acute_gvhd_point(on(14), skin=1, liver=0, upper_gi=0, lower_gi=0),  # I
        acute_gvhd_point(on(21), skin=3, liver=0, upper_gi=1, lower_gi=0),  # II
        acute_gvhd_point(on(101), skin=4, liver=0, upper_gi=0, lower_gi=0),  # IV after day 100
    ]
    assert acute_gvhd_summary(points, DAY0) == AcuteGvhdSummary(
        max_grade=4, onset=on(14), max_skin=4, max_liver=2, max_upper_gi=1, max_lower_gi=1,
        grade_2_to_4=True, grade_3_to_4=True, max_grade_by_day_100=3)


@pytest.mark.parametrize(("late_day", "by_day_100"), [
    pytest.param(100, 4, id="grade-IV-on-day-100-counts"),
    pytest.param(101, 1, id="grade-IV-on-day-101-excluded"),
])
def test_acute_summary_by_day_100(late_day, by_day_100):
    points = [acute_gvhd_point(on(20), skin=1, liver=0, upper_gi=0, lower_gi=0),
              acute_gvhd_point(on(late_day), skin=0, liver=4, upper_gi=0, lower_gi=0)]
    summary = acute_gvhd_summary(points, DAY0)
    assert (summary.max_grade, summary.max_grade_by_day_100) == (4, by_day_100)


def test_acute_summary_without_day0_has_no_day_100_grade():
    points = [acute_gvhd_point(on(20), skin=1, liver=0, upper_gi=0, lower_gi=0)]
    summary = acute_gvhd_summary(points)
    assert (summary.max_grade, summary.max_grade_by_day_100) == (1, None)


def test_acute_summary_all_grade_0():
    points = [acute_gvhd_point(on(d), skin=0, liver=0, upper_gi=0, lower_gi=0) for d in (7, 14)]
    assert acute_gvhd_summary(points, DAY0) == AcuteGvhdSummary(0, None, 0, 0, 0, 0, False, False, 0)


def test_acute_summary_grade_II_only():
    points = [acute_gvhd_point(on(10), skin=0, liver=0, upper_gi=1, lower_gi=0)]
    summary = acute_gvhd_summary(points, DAY0)
    assert (summary.grade_2_to_4, summary.grade_3_to_4, summary.onset) == (True, False, on(10))


def test_acute_summary_empty_is_all_none():
    assert acute_gvhd_summary([], DAY0) == AcuteGvhdSummary(None, None, None, None, None, None, None, None, None)


# ---- Chronic GVHD: NIH 2014 (§4.3) ----------------------------------------------------------------------
def nih(**scores):
    return dict.fromkeys(CGVHD_ORGANS, 0) | scores


@pytest.mark.parametrize(("scores", "severity"), [
    pytest.param(nih(), ChronicSeverity.NONE, id="all-0-none"),
    pytest.param(nih(skin=1), ChronicSeverity.MILD, id="one-organ-score-1-mild"),
    pytest.param(nih(skin=1, mouth=1), ChronicSeverity.MILD, id="two-organs-score-1-lung-0-mild"),
    pytest.param(nih(skin=1, mouth=1, eyes=1), ChronicSeverity.MODERATE, id="three-organs-score-1-moderate"),
    pytest.param(nih(**{o: 1 for o in CGVHD_ORGANS if o != "lungs"}), ChronicSeverity.MODERATE,
                 id="seven-organs-score-1-moderate"),
    pytest.param(nih(lungs=1), ChronicSeverity.MODERATE, id="lung-1-alone-moderate"),
    pytest.param(nih(skin=2), ChronicSeverity.MODERATE, id="skin-2-moderate"),
    pytest.param(nih(liver=2), ChronicSeverity.MODERATE, id="liver-2-not-lung-moderate"),
    pytest.param(nih(joints=2, mouth=1), ChronicSeverity.MODERATE, id="joints-2-plus-mouth-1-moderate"),
    pytest.param(nih(skin=2, lungs=1), ChronicSeverity.MODERATE, id="skin-2-lung-1-moderate"),
    pytest.param(nih(lungs=2), ChronicSeverity.SEVERE, id="lung-2-severe"),
    pytest.param(nih(lungs=3), ChronicSeverity.SEVERE, id="lung-3-severe"),
    pytest.param(nih(skin=3), ChronicSeverity.SEVERE, id="skin-3-severe"),
    pytest.param(nih(genital=3), ChronicSeverity.SEVERE, id="genital-3-severe"),
    pytest.param(nih(eyes=3, mouth=1), ChronicSeverity.SEVERE, id="any-3-severe"),
    pytest.param(nih(gi=None), None, id="organ-not-scored-none"),
    pytest.param({o: 0 for o in CGVHD_ORGANS if o != "joints"}, None, id="organ-key-absent-none"),
])
def test_nih_global_severity(scores, severity):
    assert nih_global_severity(scores) == severity


@pytest.mark.parametrize("scores", [
    pytest.param(nih(kidney=1), id="unknown-organ"),
    pytest.param(nih(kidney=None), id="unknown-organ-not-scored"),
    pytest.param(nih(skin=4), id="score-4"),
    pytest.param(nih(lungs=-1), id="negative-score"),
    pytest.param(nih(mouth=4, gi=None), id="bad-score-beside-unscored-organ"),
])
def test_nih_global_severity_rejects(scores):
    with pytest.raises(ValueError):
        nih_global_severity(scores)


def test_severity_order():
    assert sorted(ChronicSeverity, key=SEVERITY_ORDER.__getitem__) == [
        ChronicSeverity.NONE, ChronicSeverity.MILD, ChronicSeverity.MODERATE, ChronicSeverity.SEVERE]


@pytest.mark.parametrize(("points", "summary"), [
    pytest.param([(on(200), ChronicSeverity.MODERATE), (on(100), ChronicSeverity.NONE),
                  (on(150), ChronicSeverity.MILD), (on(300), ChronicSeverity.SEVERE),
                  (on(400), ChronicSeverity.MILD)],
                 ChronicGvhdSummary(ChronicSeverity.SEVERE, on(150)), id="worst-severe-onset-first-mild"),
    pytest.param([(on(100), ChronicSeverity.NONE), (on(200), ChronicSeverity.NONE)],
                 ChronicGvhdSummary(ChronicSeverity.NONE, None), id="assessed-never-cgvhd"),
    pytest.param([(on(100), None), (on(200), ChronicSeverity.MODERATE)],
                 ChronicGvhdSummary(ChronicSeverity.MODERATE, on(200)), id="unscored-assessment-skipped"),
    pytest.param([(on(100), None)], ChronicGvhdSummary(None, None), id="only-unscored"),
    pytest.param([], ChronicGvhdSummary(None, None), id="no-assessment"),
    pytest.param([(on(120), "mild")], ChronicGvhdSummary(ChronicSeverity.MILD, on(120)), id="stored-string-value"),
])
def test_chronic_gvhd_summary(points, summary):
    assert chronic_gvhd_summary(points) == summary


# ---- Chimerism (D8) --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fractions", "status"), [
    pytest.param((95,), ChimerismStatus.COMPLETE, id="exactly-95-complete"),
    pytest.param((D("94.9"),), ChimerismStatus.MIXED, id="94.9-mixed"),
    pytest.param((100, 95), ChimerismStatus.COMPLETE, id="whole-blood-and-cd3-complete"),
    pytest.param((100, D("94.9")), ChimerismStatus.MIXED, id="cd3-mixed-makes-patient-mixed"),
    pytest.param((98, None), ChimerismStatus.COMPLETE, id="cd3-not-measured-whole-blood-complete"),
    pytest.param((None, 60), ChimerismStatus.MIXED, id="whole-blood-not-measured-cd3-mixed"),
    pytest.param((0,), ChimerismStatus.MIXED, id="autologous-recovery-0-mixed"),
    pytest.param((None, None), None, id="nothing-measured"),
    pytest.param((), None, id="no-fraction"),
])
def test_chimerism_status(fractions, status):
    assert chimerism_status(*fractions) == status


@pytest.mark.parametrize("value", [pytest.param(D("100.1"), id="above-100"), pytest.param(-1, id="negative")])
def test_chimerism_rejects_impossible_percent(value):
    with pytest.raises(ValueError):
        chimerism_status(value)


@pytest.mark.parametrize("previous", [None, ChimerismStatus.COMPLETE, ChimerismStatus.MIXED])
@pytest.mark.parametrize("current", [None, ChimerismStatus.COMPLETE, ChimerismStatus.MIXED])
def test_lost_complete_chimerism_only_complete_to_mixed(previous, current):
    expected = previous is ChimerismStatus.COMPLETE and current is ChimerismStatus.MIXED
    assert lost_complete_chimerism(previous, current) is expected


# ---- Graft dose ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("total", "weight", "expected"), [
    pytest.param(D("150"), D("30"), "5.00", id="cd34-150e6-30-kg-5.00"),
    pytest.param(D("14.01"), D("2"), "7.01", id="7.005-rounds-half-up"),
    pytest.param(D("14.009"), D("2"), "7.00", id="7.0045-rounds-down"),
    pytest.param(D("10"), D("3"), "3.33", id="repeating-3.33"),
    pytest.param(D("20"), D("3"), "6.67", id="repeating-6.67"),
    pytest.param(D("2.5"), D("12.5"), "0.20", id="cd3-2.5e8-12.5-kg"),
])
def test_dose_per_kg(total, weight, expected):
    assert str(dose_per_kg(total, weight)) == expected


@pytest.mark.parametrize("weight", [pytest.param(D("0"), id="zero-weight"), pytest.param(D("-5"), id="negative")])
def test_dose_per_kg_rejects_weight(weight):
    with pytest.raises(ValueError):
        dose_per_kg(D("5"), weight)
