"""Treatment rules, table-driven (CLINICAL-RULES 1, 2, 7, 8; study decisions D2, D3, D5, D10, D12). No database."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.rules import bsa_mosteller
from treatment.rules import (
    STANDARD_RESPONSE,
    CapdAnswer,
    Consciousness,
    CrsEpisode,
    CrsSigns,
    ExitKind,
    Hypotension,
    IcansFindings,
    IcansTool,
    MrdResult,
    OxygenDevice,
    OxygenSupport,
    RaisedIcp,
    Response,
    Seizure,
    StandardResponse,
    StudyExit,
    best_response,
    best_response_counting_exits,
    capd_total,
    crs_episodes,
    crs_grade,
    crs_not_evaluable,
    crs_series,
    dose_deviation_percent,
    encephalopathy_grade,
    icans_grade,
    icans_tool,
    ice_total,
    intrathecal_window,
    is_dose_deviation,
    mrd_negative,
    oxygen_support,
    planned_doses,
    response_not_assessable,
    sae_entered_late,
    study_response,
    worst_grade,
)

# ---- Blinatumomab planned doses (CLINICAL-RULES 7.2, D2) -------------------------------------------------
CHILD_BSA = bsa_mosteller(height_cm=110, weight_kg=20)  # 0.7817 m², the worked example


def test_worked_example_20_kg_110_cm_cycle_1():
    doses = planned_doses(cycle=1, weight_kg=20, bsa_m2=CHILD_BSA)
    assert round(doses.step_ug_per_day, 2) == 3.91
    assert round(doses.full_ug_per_day, 2) == 11.73
    assert round(doses.total_ug, 1) == 273.6
    assert doses.fixed is False


def test_worked_example_20_kg_110_cm_cycle_2_has_no_step():
    doses = planned_doses(cycle=2, weight_kg=20, bsa_m2=CHILD_BSA)
    assert doses.step_ug_per_day is None
    assert round(doses.full_ug_per_day, 2) == 11.73
    assert doses.total_ug == pytest.approx(28 * 15 * CHILD_BSA)


@pytest.mark.parametrize(("cycle", "step", "total"), [
    pytest.param(1, 9.0, 651.0, id="cycle 1: 9 µg/day d1-7 then 28 µg/day, 651 µg"),
    pytest.param(2, None, 784.0, id="cycle 2: 28 µg/day d1-28, 784 µg, no step (D2)"),
])
def test_fixed_dose_from_45_kg(cycle, step, total):
    doses = planned_doses(cycle=cycle, weight_kg=50, bsa_m2=bsa_mosteller(height_cm=165, weight_kg=50))
    assert doses.step_ug_per_day == step
    assert doses.full_ug_per_day == 28.0
    assert doses.total_ug == pytest.approx(total)
    assert doses.fixed is True


@pytest.mark.parametrize(("weight", "fixed", "step", "full"), [
    pytest.param(44.9, False, 5 * bsa_mosteller(height_cm=150, weight_kg=44.9),
                 15 * bsa_mosteller(height_cm=150, weight_kg=44.9), id="44.9 kg: BSA-based"),
    pytest.param(45.0, True, 9.0, 28.0, id="exactly 45.0 kg: fixed dose"),
])
def test_45_kg_boundary_belongs_to_the_fixed_dose(weight, fixed, step, full):
    doses = planned_doses(cycle=1, weight_kg=weight, bsa_m2=bsa_mosteller(height_cm=150, weight_kg=weight))
    assert doses.fixed is fixed
    assert doses.step_ug_per_day == pytest.approx(step)
    assert doses.full_ug_per_day == pytest.approx(full)


@pytest.mark.parametrize(("bsa", "step", "full"), [
    pytest.param(1.8, 9.0, 27.0, id="BSA 1.8: step reaches the 9 µg cap exactly"),
    pytest.param(1.9, 9.0, 28.0, id="BSA 1.9: step capped at 9, full capped at 28"),
    pytest.param(2.5, 9.0, 28.0, id="BSA 2.5 (hypothetical) under 45 kg: both capped"),
])
def test_bsa_based_doses_are_capped_at_the_fixed_doses(bsa, step, full):
    doses = planned_doses(cycle=1, weight_kg=44, bsa_m2=bsa)
    assert doses.fixed is False
    assert doses.step_ug_per_day == pytest.approx(step)
    assert doses.full_ug_per_day == pytest.approx(full)


def test_cap_applies_in_cycle_2_too():
    doses = planned_doses(cycle=2, weight_kg=44, bsa_m2=2.5)
    assert doses.full_ug_per_day == 28.0
    assert doses.total_ug == pytest.approx(784.0)


@pytest.mark.parametrize("cycle", [pytest.param(2, id="cycle 2"), pytest.param(3, id="cycle 3 (beyond protocol)")])
def test_only_cycle_1_has_a_step_dose(cycle):
    doses = planned_doses(cycle=cycle, weight_kg=20, bsa_m2=CHILD_BSA)
    assert doses.step_ug_per_day is None
    assert doses.total_ug == pytest.approx(28 * doses.full_ug_per_day)


@pytest.mark.parametrize(("cycle", "weight", "bsa"), [
    pytest.param(0, 20, 0.78, id="cycle 0"),
    pytest.param(-1, 20, 0.78, id="negative cycle"),
    pytest.param(1, 0, 0.78, id="zero weight"),
    pytest.param(1, -5, 0.78, id="negative weight"),
    pytest.param(1, 20, 0, id="zero BSA"),
    pytest.param(1, 20, -0.5, id="negative BSA"),
])
def test_planned_doses_refuse_invalid_inputs(cycle, weight, bsa):
    with pytest.raises(ValueError):
        planned_doses(cycle=cycle, weight_kg=weight, bsa_m2=bsa)


@given(weight=st.floats(min_value=1, max_value=44.99), bsa=st.floats(min_value=0.1, max_value=3.0),
       cycle=st.integers(min_value=1, max_value=2))
def test_bsa_based_doses_never_exceed_the_fixed_doses(weight, bsa, cycle):
    doses = planned_doses(cycle=cycle, weight_kg=weight, bsa_m2=bsa)
    assert doses.full_ug_per_day <= 28
    assert doses.step_ug_per_day is None or doses.step_ug_per_day <= 9
    assert doses.total_ug <= 784 + 1e-9


# ---- Dose deviation (CRF-SPEC: > 10 % either way) --------------------------------------------------------
@pytest.mark.parametrize(("planned", "prescribed", "deviation"), [
    pytest.param(28, 28, False, id="as planned"),
    pytest.param(28, 30.8, False, id="exactly +10 %"),
    pytest.param(28, 25.2, False, id="exactly -10 %"),
    pytest.param(28, 30.828, True, id="+10.1 %"),
    pytest.param(28, 25.172, True, id="-10.1 %"),
    pytest.param(11.73, 12.903, False, id="child full dose +10 %"),
    pytest.param(11.73, 10.557, False, id="child full dose -10 %"),
    pytest.param(3.91, 4.30491, True, id="child step dose +10.1 %"),
    pytest.param(3.91, 3.51509, True, id="child step dose -10.1 %"),
    pytest.param(9, 28, True, id="full dose given in the step week"),
])
def test_dose_deviation_is_more_than_10_percent_either_way(planned, prescribed, deviation):
    assert is_dose_deviation(dose_deviation_percent(planned=planned, prescribed=prescribed)) is deviation


@pytest.mark.parametrize(("planned", "prescribed", "percent"), [
    pytest.param(28, 30.8, 10.0, id="over is positive"),
    pytest.param(28, 25.2, -10.0, id="under is negative"),
    pytest.param(9, 0, -100.0, id="nothing given is -100 %"),
])
def test_dose_deviation_percent_is_signed(planned, prescribed, percent):
    assert dose_deviation_percent(planned=planned, prescribed=prescribed) == pytest.approx(percent)


@pytest.mark.parametrize(("percent", "deviation"), [
    pytest.param(10, False, id="10"), pytest.param(-10, False, id="-10"),
    pytest.param(10.1, True, id="10.1"), pytest.param(-10.1, True, id="-10.1"),
])
def test_is_dose_deviation_at_the_threshold(percent, deviation):
    assert is_dose_deviation(percent) is deviation


def test_dose_deviation_needs_a_positive_planned_dose():
    with pytest.raises(ValueError):
        dose_deviation_percent(planned=0, prescribed=5)


# ---- Intrathecal window (D12: 14 ± 7 days after the cycle end) -----------------------------------------
@pytest.mark.parametrize(("cycle_end", "window"), [
    pytest.param(date(2024, 3, 1), (date(2024, 3, 8), date(2024, 3, 22)), id="day +7 to day +21"),
    pytest.param(date(2024, 12, 20), (date(2024, 12, 27), date(2025, 1, 10)), id="across the year end"),
])
def test_intrathecal_window(cycle_end, window):
    assert intrathecal_window(cycle_end) == window


@pytest.mark.parametrize(("days_after_end", "inside"), [
    pytest.param(6, False, id="day +6 too early"),
    pytest.param(7, True, id="day +7 first day (inclusive)"),
    pytest.param(14, True, id="day +14 target"),
    pytest.param(21, True, id="day +21 last day (inclusive)"),
    pytest.param(22, False, id="day +22 too late"),
])
def test_intrathecal_window_ends_are_inclusive(days_after_end, inside):
    end = date(2024, 3, 1)
    first, last = intrathecal_window(end)
    assert (first <= end + timedelta(days=days_after_end) <= last) is inside


# ---- Oxygen support (CRS-F4) ---------------------------------------------------------------------------
@pytest.mark.parametrize(("device", "flow", "support"), [
    pytest.param(OxygenDevice.NONE, None, OxygenSupport.NONE, id="room air"),
    pytest.param(OxygenDevice.NASAL_CANNULA, Decimal("1"), OxygenSupport.LOW_FLOW, id="nasal cannula 1 L/min"),
    pytest.param(OxygenDevice.NASAL_CANNULA, Decimal("6"), OxygenSupport.LOW_FLOW, id="nasal cannula 6 L/min"),
    pytest.param(OxygenDevice.NASAL_CANNULA, Decimal("6.1"), OxygenSupport.HIGH_FLOW, id="nasal cannula 6.1 L/min"),
    pytest.param(OxygenDevice.NASAL_CANNULA, 6.1, OxygenSupport.HIGH_FLOW, id="nasal cannula 6.1 as float"),
    pytest.param(OxygenDevice.NASAL_CANNULA, Decimal("40"), OxygenSupport.HIGH_FLOW, id="HFNC 40 L/min"),
    pytest.param(OxygenDevice.BLOW_BY, None, OxygenSupport.LOW_FLOW, id="blow-by"),
    pytest.param(OxygenDevice.FACEMASK, Decimal("2"), OxygenSupport.HIGH_FLOW, id="facemask 2 L/min"),
    pytest.param(OxygenDevice.FACEMASK, None, OxygenSupport.HIGH_FLOW, id="facemask, flow not given"),
    pytest.param(OxygenDevice.NON_REBREATHER, Decimal("15"), OxygenSupport.HIGH_FLOW, id="non-rebreather"),
    pytest.param(OxygenDevice.VENTURI, Decimal("8"), OxygenSupport.HIGH_FLOW, id="Venturi mask"),
    pytest.param(OxygenDevice.CPAP_BIPAP, None, OxygenSupport.POSITIVE_PRESSURE, id="CPAP/BiPAP"),
    pytest.param(OxygenDevice.MECHANICAL_VENTILATION, None, OxygenSupport.POSITIVE_PRESSURE,
                 id="intubated, mechanical ventilation"),
    pytest.param("blow_by", None, OxygenSupport.LOW_FLOW, id="stored string value"),
])
def test_oxygen_support(device, flow, support):
    assert oxygen_support(device, flow) == support


def test_every_oxygen_device_is_classified():
    for device in OxygenDevice:
        assert oxygen_support(device, Decimal("2")) in OxygenSupport


def test_nasal_cannula_needs_its_flow():
    with pytest.raises(ValueError):
        oxygen_support(OxygenDevice.NASAL_CANNULA, None)


# ---- CRS grade (ASTCT19, CLINICAL-RULES 1) -------------------------------------------------------------
FEVER = Decimal("38.5")
LOW, HIGH, PP = OxygenSupport.LOW_FLOW, OxygenSupport.HIGH_FLOW, OxygenSupport.POSITIVE_PRESSURE
PRESSORS = Hypotension.VASOPRESSORS

CRS_TABLE = [
    pytest.param(CrsSigns(FEVER), 1, id="fever only: 1"),
    pytest.param(CrsSigns(FEVER, hypotension=Hypotension.FLUIDS), 2, id="hypotension on fluids: 2"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=1), 3, id="one vasopressor: 3"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressin=True), 3, id="vasopressin alone: 3"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=1, vasopressin=True), 3,
                 id="one vasopressor + vasopressin: 3"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=2), 4, id="two vasopressors: 4"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=3, vasopressin=True), 4,
                 id="three vasopressors + vasopressin: 4"),
    pytest.param(CrsSigns(FEVER, oxygen=LOW), 2, id="low-flow oxygen: 2"),
    pytest.param(CrsSigns(FEVER, oxygen=HIGH), 3, id="high-flow oxygen: 3"),
    pytest.param(CrsSigns(FEVER, oxygen=PP), 4, id="positive pressure: 4"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=1, oxygen=LOW), 3,
                 id="one vasopressor + low flow: 3 (the ASTCT example)"),
    pytest.param(CrsSigns(FEVER, hypotension=Hypotension.FLUIDS, oxygen=HIGH), 3,
                 id="fluids + high flow: hypoxia wins, 3"),
    pytest.param(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=2, oxygen=LOW), 4,
                 id="two vasopressors + low flow: hypotension wins, 4"),
    pytest.param(CrsSigns(FEVER, hypotension=Hypotension.FLUIDS, oxygen=PP), 4,
                 id="fluids + positive pressure: 4"),
]


@pytest.mark.parametrize(("signs", "grade"), CRS_TABLE)
def test_crs_grade_astct_table(signs, grade):
    assert crs_grade(signs, crs_ongoing=False) == grade


@pytest.mark.parametrize(("temperature", "grade"), [
    pytest.param(Decimal("37.9"), 0, id="37.9 °C: no fever"),
    pytest.param(Decimal("38.0"), 1, id="38.0 °C: fever (≥, not >)"),
    pytest.param(37.9, 0, id="37.9 as float"),
    pytest.param(38.0, 1, id="38.0 as float"),
    pytest.param(None, 0, id="temperature not recorded"),
])
def test_crs_fever_threshold(temperature, grade):
    assert crs_grade(CrsSigns(temperature), crs_ongoing=False) == grade


def test_fever_attributable_to_another_cause_is_no_crs():
    signs = CrsSigns(FEVER, fever_other_cause=True, oxygen=LOW)
    assert crs_grade(signs, crs_ongoing=False) == 0


MASKED = [
    pytest.param(CrsSigns(Decimal("37.0"), hypotension=PRESSORS, vasopressors=1, antipyretic_or_anticytokine=True),
                 True, 3, id="afebrile after tocilizumab, in CRS, one pressor: 3 (masked fever)"),
    pytest.param(CrsSigns(None, oxygen=HIGH, antipyretic_or_anticytokine=True),
                 True, 3, id="afebrile on steroids, in CRS, high flow: 3"),
    pytest.param(CrsSigns(Decimal("37.0"), antipyretic_or_anticytokine=True),
                 True, 0, id="afebrile on steroids, in CRS, no hypotension or hypoxia: 0 (episode ends)"),
    pytest.param(CrsSigns(Decimal("37.0"), hypotension=PRESSORS, vasopressors=1, antipyretic_or_anticytokine=True),
                 False, 0, id="afebrile with antipyretic, no CRS ongoing: 0"),
    pytest.param(CrsSigns(Decimal("37.0"), hypotension=PRESSORS, vasopressors=1),
                 True, 0, id="afebrile in CRS without antipyretic or anticytokine: 0"),
    pytest.param(CrsSigns(Decimal("36.8"), oxygen=LOW), False, 0, id="afebrile, no prior CRS, on oxygen: 0"),
]


@pytest.mark.parametrize(("signs", "crs_ongoing", "grade"), MASKED)
def test_crs_masked_fever(signs, crs_ongoing, grade):
    assert crs_grade(signs, crs_ongoing=crs_ongoing) == grade


AFEBRILE = Decimal("37.0")
TOCILIZUMAB = {"antipyretic_or_anticytokine": True}
# CLINICAL-RULES 1.2, "masking across days": the mask lasts the episode, not only the days the drug is given.
FIVE_DAYS = [
    CrsSigns(Decimal("39.2"), **TOCILIZUMAB),  # day 1: fever, tocilizumab → 1
    CrsSigns(AFEBRILE, hypotension=PRESSORS, vasopressors=1, vasopressin=True),  # day 2: no drug that day → 3
    CrsSigns(AFEBRILE, oxygen=LOW),  # day 3: nasal cannula 2 L/min → 2
    CrsSigns(AFEBRILE),  # day 4: nothing → 0, the episode and its mask end
    CrsSigns(AFEBRILE, oxygen=LOW),  # day 5: a new episode needs fever again → 0
]


@pytest.mark.parametrize(("days", "grades"), [
    pytest.param(FIVE_DAYS, [1, 3, 2, 0, 0], id="the five-day example of 1.2"),
    pytest.param([CrsSigns(Decimal("39.2")), *FIVE_DAYS[1:]], [1, 0, 0, 0, 0],
                 id="no masking drug on day 1: afebrile days are 0 and end the episode"),
    pytest.param([CrsSigns(Decimal("39.2")), CrsSigns(Decimal("38.4"), hypotension=Hypotension.FLUIDS, **TOCILIZUMAB),
                  CrsSigns(AFEBRILE, hypotension=Hypotension.FLUIDS), CrsSigns(AFEBRILE, oxygen=HIGH)],
                 [1, 2, 2, 3], id="a drug given on day 2 masks the fever from day 3 on"),
    pytest.param([CrsSigns(Decimal("39.2"), **TOCILIZUMAB), CrsSigns(AFEBRILE), CrsSigns(Decimal("38.1")),
                  CrsSigns(AFEBRILE, hypotension=Hypotension.FLUIDS)],
                 [1, 0, 1, 0], id="a new febrile episode is not masked by the drug of the ended one"),
    pytest.param([CrsSigns(Decimal("39.2"), **TOCILIZUMAB), CrsSigns(AFEBRILE, hypotension=PRESSORS, vasopressors=2),
                  CrsSigns(None, oxygen=PP), CrsSigns(Decimal("36.5"), oxygen=LOW)],
                 [1, 4, 4, 2], id="masked days without a temperature still grade by hypotension and hypoxia"),
])
def test_the_fever_mask_lasts_the_episode(days, grades):
    assert crs_series(days) == grades


@pytest.mark.parametrize("signs", [
    pytest.param(CrsSigns(FEVER, death_due_to_crs=True), id="febrile"),
    pytest.param(CrsSigns(Decimal("36.5"), death_due_to_crs=True), id="afebrile"),
])
def test_death_due_to_crs_is_grade_5(signs):
    assert crs_grade(signs, crs_ongoing=False) == 5


def test_vasopressor_hypotension_must_name_a_vasopressor():
    with pytest.raises(ValueError):
        crs_grade(CrsSigns(FEVER, hypotension=PRESSORS, vasopressors=0, vasopressin=False), crs_ongoing=False)


@given(temperature=st.decimals(min_value=38, max_value=42, places=1),
       hypotension=st.sampled_from([Hypotension.NONE, Hypotension.FLUIDS]),
       oxygen=st.sampled_from(list(OxygenSupport)))
def test_febrile_crs_grade_is_the_worse_of_hypotension_and_hypoxia(temperature, hypotension, oxygen):
    signs = CrsSigns(temperature, hypotension=hypotension, oxygen=oxygen)
    assert crs_grade(signs, crs_ongoing=False) == max(1, 2 if hypotension is Hypotension.FLUIDS else 0, int(oxygen))


# ---- CRS episodes (D10) ---------------------------------------------------------------------------------
def d(day: int) -> date:
    return date(2024, 5, day)


EPISODES = [
    pytest.param([(d(1), 0), (d(2), 1), (d(3), 2), (d(4), 0)], [CrsEpisode(d(2), d(4), 2)], id="one episode"),
    pytest.param([(d(1), 1), (d(2), 0), (d(3), 3), (d(4), 0)],
                 [CrsEpisode(d(1), d(2), 1), CrsEpisode(d(3), d(4), 3)], id="two episodes split by a grade-0 day"),
    pytest.param([(d(1), 1), (d(2), 2)], [CrsEpisode(d(1), None, 2)], id="still open: no end"),
    pytest.param([(d(4), 0), (d(2), 2), (d(1), 0), (d(3), 1)], [CrsEpisode(d(2), d(4), 2)], id="unsorted input"),
    pytest.param([(d(1), 1), (d(2), 3), (d(3), 2), (d(5), 0)], [CrsEpisode(d(1), d(5), 3)],
                 id="worst day is the episode grade; end is the next assessment graded 0"),
    pytest.param([(d(1), 0), (d(2), 0)], [], id="no CRS"),
    pytest.param([], [], id="no assessments"),
]


@pytest.mark.parametrize(("days", "episodes"), EPISODES)
def test_crs_episodes(days, episodes):
    assert crs_episodes(days) == episodes


@pytest.mark.parametrize(("grades", "worst"), [
    pytest.param([1, 3, 2], 3, id="worst of episodes"),
    pytest.param([None, 2, None], 2, id="None ignored"),
    pytest.param([0, None], 0, id="graded 0 is known"),
    pytest.param([None, None], None, id="only None"),
    pytest.param([], None, id="nothing graded"),
])
def test_worst_grade(grades, worst):
    assert worst_grade(grades) == worst


# ---- ICANS tool (ASTCT19: ICE from 12 years) -----------------------------------------------------------
@pytest.mark.parametrize(("age", "delay", "tool"), [
    pytest.param(11, False, IcansTool.CAPD, id="11 years: CAPD"),
    pytest.param(12, False, IcansTool.ICE, id="12 years: ICE"),
    pytest.param(13, True, IcansTool.CAPD, id="13 years with developmental delay: CAPD"),
    pytest.param(0, False, IcansTool.CAPD, id="infant: CAPD"),
])
def test_icans_tool(age, delay, tool):
    assert icans_tool(age_years=age, developmental_delay=delay) == tool


# ---- ICE and CAPD totals (CLINICAL-RULES 2.1, 2.2) -----------------------------------------------------
ICE_FULL = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}


@pytest.mark.parametrize(("items", "total"), [
    pytest.param(ICE_FULL, 10, id="normal: 10"),
    pytest.param({**ICE_FULL, "orientation": 2, "writing": 0}, 7, id="disoriented, cannot write: 7"),
    pytest.param(dict.fromkeys(ICE_FULL, 0), 0, id="global aphasia: 0"),
])
def test_ice_total(items, total):
    assert ice_total(items) == total


@pytest.mark.parametrize(("item", "points"), [
    pytest.param("orientation", 5, id="orientation 5 > 4"),
    pytest.param("naming", 4, id="naming 4 > 3"),
    pytest.param("commands", 2, id="commands 2 > 1"),
    pytest.param("writing", 2, id="writing 2 > 1"),
    pytest.param("attention", 2, id="attention 2 > 1"),
    pytest.param("attention", -1, id="negative points"),
])
def test_ice_items_out_of_range_are_refused(item, points):
    with pytest.raises(ValueError):
        ice_total({**ICE_FULL, item: points})


A, N, S = CapdAnswer.ALWAYS, CapdAnswer.NEVER, CapdAnswer.SOMETIMES


@pytest.mark.parametrize(("answers", "total"), [
    pytest.param([N] * 8, 16, id="all NEVER: 16 (items 1-4 reversed)"),
    pytest.param([A] * 4 + [N] * 4, 0, id="calm normal child: 0"),
    pytest.param([A] * 8, 16, id="all ALWAYS: 16"),
    pytest.param([N] * 4 + [A] * 4, 32, id="worst answers: 32"),
    pytest.param([S] * 8, 16, id="all SOMETIMES: 16"),
    pytest.param([4, 4, 4, 4, 0, 1, 0, 0], 1, id="plain integers: 1"),
])
def test_capd_total(answers, total):
    assert capd_total(answers) == total


@pytest.mark.parametrize("answers", [
    pytest.param([N] * 7, id="7 answers"),
    pytest.param([N] * 9, id="9 answers"),
    pytest.param([], id="no answers"),
])
def test_capd_needs_eight_answers(answers):
    with pytest.raises(ValueError):
        capd_total(answers)


def test_capd_answer_out_of_scale_is_refused():
    with pytest.raises(ValueError):
        capd_total([0] * 7 + [5])


@given(st.lists(st.sampled_from(list(CapdAnswer)), min_size=8, max_size=8))
def test_capd_total_is_within_0_to_32(answers):
    assert 0 <= capd_total(answers) <= 32


# ---- Encephalopathy and ICANS grade (ASTCT19, CLINICAL-RULES 2.3, D3) ----------------------------------
ENCEPHALOPATHY = [
    pytest.param(IcansTool.ICE, 10, False, 0, id="ICE 10: 0"),
    pytest.param(IcansTool.ICE, 9, False, 1, id="ICE 9: 1"),
    pytest.param(IcansTool.ICE, 7, False, 1, id="ICE 7: 1"),
    pytest.param(IcansTool.ICE, 6, False, 2, id="ICE 6: 2"),
    pytest.param(IcansTool.ICE, 3, False, 2, id="ICE 3: 2"),
    pytest.param(IcansTool.ICE, 2, False, 3, id="ICE 2: 3"),
    pytest.param(IcansTool.ICE, 0, False, 3, id="ICE 0 awake (aphasic): 3"),
    pytest.param(IcansTool.ICE, None, True, 4, id="ICE unable, unarousable: 4"),
    pytest.param(IcansTool.CAPD, 0, False, 0, id="CAPD 0: 0"),
    pytest.param(IcansTool.CAPD, 1, False, 1, id="CAPD 1: 1"),
    pytest.param(IcansTool.CAPD, 8, False, 1, id="CAPD 8: 1"),
    pytest.param(IcansTool.CAPD, 9, False, 3, id="CAPD 9: 3"),
    pytest.param(IcansTool.CAPD, 32, False, 3, id="CAPD 32: 3"),
    pytest.param(IcansTool.CAPD, None, True, 4, id="CAPD unable: 4"),
]


@pytest.mark.parametrize(("tool", "score", "unable", "grade"), ENCEPHALOPATHY)
def test_encephalopathy_grade(tool, score, unable, grade):
    assert encephalopathy_grade(tool, score, unable) == grade


@pytest.mark.parametrize(("tool", "score"), [
    pytest.param(IcansTool.ICE, None, id="ICE missing"),
    pytest.param(IcansTool.ICE, 11, id="ICE 11"),
    pytest.param(IcansTool.ICE, -1, id="ICE -1"),
    pytest.param(IcansTool.CAPD, 33, id="CAPD 33"),
    pytest.param(IcansTool.CAPD, None, id="CAPD missing"),
])
def test_encephalopathy_grade_refuses_impossible_scores(tool, score):
    with pytest.raises(ValueError):
        encephalopathy_grade(tool, score, False)


@pytest.mark.parametrize(("level", "grade"), [
    pytest.param(Consciousness.ALERT, 0, id="alert: 0"),
    pytest.param(Consciousness.AWAKENS_SPONTANEOUSLY, 1, id="awakens spontaneously: 1"),
    pytest.param(Consciousness.AWAKENS_TO_VOICE, 2, id="awakens to voice: 2"),
    pytest.param(Consciousness.AWAKENS_TO_TOUCH, 3, id="awakens only to touch: 3"),
    pytest.param(Consciousness.UNAROUSABLE, 4, id="unarousable, stupor or coma: 4"),
])
def test_icans_consciousness_domain(level, grade):
    assert icans_grade(IcansFindings(IcansTool.ICE, 10, consciousness=level)) == grade


ICANS = [
    pytest.param(IcansFindings(IcansTool.CAPD, 8, consciousness=Consciousness.AWAKENS_TO_VOICE), 2,
                 id="CAPD 8 + awakens to voice: 2"),
    pytest.param(IcansFindings(IcansTool.CAPD, 9), 3, id="CAPD 9: 3"),
    pytest.param(IcansFindings(IcansTool.CAPD, None, unable_to_perform=True), 4, id="CAPD unable: 4"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, seizure=Seizure.RESOLVES_RAPIDLY), 3,
                 id="seizure resolving rapidly with ICE 10: 3"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, seizure=Seizure.PROLONGED_OR_REPETITIVE), 4,
                 id="prolonged seizure: 4"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, deep_focal_motor_weakness=True), 4,
                 id="deep focal motor weakness: 4"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, raised_icp=RaisedIcp.FOCAL_EDEMA), 3, id="focal edema: 3"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, raised_icp=RaisedIcp.DIFFUSE_EDEMA), 4, id="diffuse edema: 4"),
    pytest.param(IcansFindings(IcansTool.ICE, 10, death_due_to_icans=True), 5, id="death due to ICANS: 5"),
    pytest.param(IcansFindings(IcansTool.ICE, None, unable_to_perform=True, death_due_to_icans=True), 5,
                 id="death wins over unable"),
    pytest.param(IcansFindings(IcansTool.ICE, 8, consciousness=Consciousness.AWAKENS_TO_VOICE,
                               raised_icp=RaisedIcp.FOCAL_EDEMA), 3, id="most severe domain wins: edema 3"),
    pytest.param(IcansFindings(IcansTool.ICE, 2, consciousness=Consciousness.AWAKENS_SPONTANEOUSLY), 3,
                 id="most severe domain wins: ICE 2 over consciousness 1"),
    pytest.param(IcansFindings(IcansTool.CAPD, 5, seizure=Seizure.RESOLVES_RAPIDLY,
                               deep_focal_motor_weakness=True), 4, id="most severe domain wins: weakness 4"),
]


@pytest.mark.parametrize(("findings", "grade"), ICANS)
def test_icans_grade(findings, grade):
    assert icans_grade(findings) == grade


@given(score=st.integers(min_value=0, max_value=10), consciousness=st.sampled_from(list(Consciousness)),
       seizure=st.sampled_from(list(Seizure)), weakness=st.booleans(), icp=st.sampled_from(list(RaisedIcp)))
def test_icans_grade_is_never_below_any_domain(score, consciousness, seizure, weakness, icp):
    findings = IcansFindings(IcansTool.ICE, score, consciousness=consciousness, seizure=seizure,
                             deep_focal_motor_weakness=weakness, raised_icp=icp)
    grade = icans_grade(findings)
    assert grade >= max(encephalopathy_grade(IcansTool.ICE, score, False), consciousness, seizure, icp)
    assert grade <= 4


# ---- MRD and study response (CLINICAL-RULES 8, D5) -----------------------------------------------------
MRD = [
    pytest.param(MrdResult.DETECTED, Decimal("0.01"), Decimal("0.001"), False, id="exactly 0.01 %: positive"),
    pytest.param(MrdResult.DETECTED, Decimal("0.0099"), Decimal("0.001"), True, id="0.0099 %: negative"),
    pytest.param(MrdResult.DETECTED, Decimal("0.0099"), None, True, id="0.0099 %, LOD not given: negative"),
    pytest.param(MrdResult.DETECTED, Decimal("1.5"), Decimal("0.1"), False, id="1.5 % with a coarse assay"),
    pytest.param(MrdResult.NOT_DETECTED, None, Decimal("0.01"), True, id="not detected, LOD 0.01: negative"),
    pytest.param(MrdResult.NOT_DETECTED, None, Decimal("0.001"), True, id="not detected, LOD 0.001: negative"),
    pytest.param(MrdResult.NOT_DETECTED, None, Decimal("0.1"), None, id="not detected, LOD 0.1: cannot tell"),
    pytest.param(MrdResult.NOT_DETECTED, None, None, None, id="not detected, LOD unknown: cannot tell"),
    pytest.param(MrdResult.NOT_EVALUABLE, None, None, None, id="not evaluable"),
]


@pytest.mark.parametrize(("result", "percent", "lod", "negative"), MRD)
def test_mrd_negative(result, percent, lod, negative):
    assert mrd_negative(result=result, percent=percent, lod_percent=lod) is negative


def test_detected_mrd_needs_its_level():
    with pytest.raises(ValueError):
        mrd_negative(result=MrdResult.DETECTED, percent=None, lod_percent=Decimal("0.01"))


RESPONSES = [
    pytest.param(Decimal("1"), MrdResult.DETECTED, Decimal("0.01"), Decimal("0.001"), False, False, Response.PR,
                 id="MRD exactly 0.01 %: PR"),
    pytest.param(Decimal("1"), MrdResult.DETECTED, Decimal("0.0099"), Decimal("0.001"), False, False, Response.CR,
                 id="MRD 0.0099 %: CR"),
    pytest.param(Decimal("0"), MrdResult.NOT_DETECTED, None, Decimal("0.01"), False, False, Response.CR,
                 id="not detected, LOD 0.01: CR"),
    pytest.param(Decimal("0"), MrdResult.NOT_DETECTED, None, Decimal("0.1"), False, False, Response.NOT_EVALUABLE,
                 id="not detected, LOD 0.1: not evaluable"),
    pytest.param(Decimal("2"), MrdResult.NOT_EVALUABLE, None, None, False, False, Response.NOT_EVALUABLE,
                 id="MRD not evaluable: NE"),
    pytest.param(Decimal("4.9"), MrdResult.NOT_DETECTED, None, Decimal("0.01"), False, False, Response.CR,
                 id="blasts 4.9 %, MRD negative: CR"),
    pytest.param(Decimal("5.0"), MrdResult.NOT_DETECTED, None, Decimal("0.01"), False, False, Response.NR,
                 id="blasts 5.0 % (M2): NR"),
    pytest.param(Decimal("30"), MrdResult.NOT_EVALUABLE, None, None, False, False, Response.NR,
                 id="M3 marrow, MRD not evaluable: NR"),
    pytest.param(Decimal("0"), MrdResult.NOT_DETECTED, None, Decimal("0.01"), True, False, Response.NR,
                 id="extramedullary disease, MRD negative: NR"),
    pytest.param(Decimal("0"), MrdResult.NOT_DETECTED, None, Decimal("0.01"), False, True, Response.NR,
                 id="CNS3, MRD negative: NR"),
]


@pytest.mark.parametrize(("blasts", "result", "mrd", "lod", "em", "cns3", "response"), RESPONSES)
def test_study_response(blasts, result, mrd, lod, em, cns3, response):
    negative = mrd_negative(result=result, percent=mrd, lod_percent=lod)
    assert study_response(marrow_blasts_percent=blasts, mrd_is_negative=negative,
                          extramedullary_disease=em, cns3=cns3) == response


@pytest.mark.parametrize(("blasts", "response"), [
    pytest.param(4.9, Response.CR, id="4.9 as float"),
    pytest.param(5.0, Response.NR, id="5.0 as float"),
])
def test_study_response_accepts_floats(blasts, response):
    assert study_response(marrow_blasts_percent=blasts, mrd_is_negative=True,
                          extramedullary_disease=False, cns3=False) == response


@pytest.mark.parametrize(("response", "standard"), [
    pytest.param(Response.CR, StandardResponse.CR_MRD_NEGATIVE, id="CR is CR MRD-negative"),
    pytest.param(Response.PR, StandardResponse.CR_MRD_POSITIVE, id="PR is CR MRD-positive"),
    pytest.param(Response.NR, StandardResponse.NR, id="NR is NR"),
    pytest.param(Response.NOT_EVALUABLE, StandardResponse.NOT_EVALUABLE, id="NE is NE"),
])
def test_standard_response_mapping(response, standard):
    assert STANDARD_RESPONSE[response] == standard


def test_every_response_has_a_standard_mapping():
    assert set(STANDARD_RESPONSE) == set(Response)


@pytest.mark.parametrize(("responses", "best"), [
    pytest.param([Response.PR, Response.CR], Response.CR, id="PR then CR: CR"),
    pytest.param([Response.CR, Response.PR], Response.CR, id="CR then PR: CR"),
    pytest.param([Response.NR, Response.PR], Response.PR, id="NR then PR: PR"),
    pytest.param([Response.NOT_EVALUABLE, Response.NR], Response.NR, id="NR beats NE"),
    pytest.param([Response.NOT_EVALUABLE], Response.NOT_EVALUABLE, id="only NE"),
    pytest.param(["NR", "CR"], Response.CR, id="stored string values"),
    pytest.param(["", "PR"], Response.PR, id="blank ignored"),
    pytest.param([], None, id="no assessment: None"),
])
def test_best_response(responses, best):
    assert best_response(responses) == best


# ---- Early death or withdrawal: CRS not evaluable, response not assessable (CLINICAL-RULES §1.2, §8.3) --
START, END = date(2020, 3, 20), date(2020, 4, 16)
DIED = lambda on: StudyExit(ExitKind.DEATH, on)  # noqa: E731
LEFT = lambda on: StudyExit(ExitKind.WITHDRAWAL, on)  # noqa: E731


@pytest.mark.parametrize(("assessed", "end", "exit_", "not_evaluable"), [
    pytest.param(0, END, DIED(date(2020, 3, 22)), True, id="died on day 3, no CRS day: not evaluable"),
    pytest.param(0, END, DIED(START), True, id="died on the first day"),
    pytest.param(0, END, DIED(END), True, id="died on the last infusion day"),
    pytest.param(0, None, DIED(date(2020, 3, 22)), True, id="died, the cycle has no end date"),
    pytest.param(0, END, LEFT(date(2020, 3, 25)), True, id="left the study during the cycle"),
    pytest.param(0, END, DIED(date(2020, 4, 17)), False, id="died the day after the cycle: no CRS day to record"),
    pytest.param(1, END, DIED(date(2020, 3, 22)), False, id="assessed once before dying: graded"),
    pytest.param(0, END, None, False, id="alive, no CRS day: not assessed"),
])
def test_crs_not_evaluable_after_an_early_exit(assessed, end, exit_, not_evaluable):
    assert crs_not_evaluable(assessed_days=assessed, cycle_start=START, cycle_end=end, exit_=exit_) is not_evaluable


@pytest.mark.parametrize(("has_response", "exit_", "not_assessable"), [
    pytest.param(False, DIED(date(2020, 3, 22)), True, id="died during the cycle"),
    pytest.param(False, DIED(date(2020, 4, 18)), True, id="died after the cycle, before the assessment"),
    pytest.param(False, LEFT(date(2020, 4, 1)), True, id="left the study"),
    pytest.param(True, DIED(date(2020, 4, 30)), False, id="assessed, then died"),
    pytest.param(False, None, False, id="alive: still to be assessed"),
    pytest.param(False, DIED(date(2020, 3, 19)), False, id="died before the cycle started"),
])
def test_a_response_not_assessable_after_an_early_exit(has_response, exit_, not_assessable):
    assert response_not_assessable(has_response=has_response, cycle_start=START, exit_=exit_) is not_assessable


@pytest.mark.parametrize(("responses", "exited", "best"), [
    pytest.param([], True, Response.NR, id="died before any assessment: treatment failure (NR)"),
    pytest.param([], False, None, id="alive, not assessed yet: none"),
    pytest.param([Response.PR], True, Response.PR, id="PR after cycle 1, died before cycle 2's: PR"),
    pytest.param([Response.NOT_EVALUABLE], True, Response.NOT_EVALUABLE, id="an assessment, not evaluable"),
])
def test_best_response_counts_an_exit_before_assessment_as_failure(responses, exited, best):
    assert best_response_counting_exits(responses, exited_before_assessment=exited) == best


# ---- Serious adverse events (CRF-SPEC: entered within 24 h) -------------------------------------------
AWARE = datetime(2024, 5, 1, 14, 30)


@pytest.mark.parametrize(("delay", "late"), [
    pytest.param(timedelta(hours=2), False, id="2 h: on time"),
    pytest.param(timedelta(hours=24), False, id="exactly 24 h: on time"),
    pytest.param(timedelta(hours=24, minutes=1), True, id="24 h 1 min: late"),
    pytest.param(timedelta(days=3), True, id="3 days: late"),
])
def test_sae_entered_late(delay, late):
    assert sae_entered_late(aware_at=AWARE, entered_at=AWARE + delay) is late
