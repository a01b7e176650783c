"""Enrollment rules, table-driven (CLINICAL-RULES 5, 6, 7.1; PROTO; study decisions D1, D9, D15). No database."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.rules import (
    BfmGroup,
    Criterion,
    DiseaseStatus,
    EligibilityInputs,
    Immunophenotype,
    Outcome,
    PerformanceScale,
    RelapseSite,
    RelapseTimepoint,
    WbcCategory,
    assent_required,
    bfm_group,
    bsa_haycock,
    bsa_mosteller,
    disease_status,
    evaluate_eligibility,
    months_between,
    performance_adequate,
    performance_scale,
    relapse_timepoint,
    wbc_category,
)

# ---- BSA (CLINICAL-RULES 7.1 worked values) ---------------------------------------------------------------
BSA = [
    pytest.param(110, 20, 0.7817, 0.7832, id="110 cm 20 kg"),
    pytest.param(75, 9, 0.4330, 0.4380, id="infant 75 cm 9 kg"),
    pytest.param(150, 40, 1.2910, 1.2858, id="150 cm 40 kg"),
    pytest.param(165, 50, 1.5138, 1.5056, id="adolescent 165 cm 50 kg"),
]


@pytest.mark.parametrize(("height", "weight", "mosteller", "haycock"), BSA)
def test_bsa_matches_the_worked_values(height, weight, mosteller, haycock):
    assert bsa_mosteller(height_cm=height, weight_kg=weight) == pytest.approx(mosteller, abs=5e-5)
    assert bsa_haycock(height_cm=height, weight_kg=weight) == pytest.approx(haycock, abs=5e-5)


def test_bsa_accepts_decimals_as_typed_on_the_form():
    assert bsa_mosteller(height_cm=Decimal("110.0"), weight_kg=Decimal("20.0")) == pytest.approx(0.78174, abs=1e-5)


@pytest.mark.parametrize(("height", "weight"), [(0, 20), (110, 0), (-1, 20)])
def test_bsa_refuses_non_positive_measures(height, weight):
    with pytest.raises(ValueError):
        bsa_mosteller(height_cm=height, weight_kg=weight)


sizes = st.floats(min_value=30, max_value=230, allow_nan=False)
weights = st.floats(min_value=0.5, max_value=200, allow_nan=False)


@given(height=sizes, weight=weights, more=st.floats(min_value=0.1, max_value=50))
def test_bsa_increases_with_weight(height, weight, more):
    assert bsa_mosteller(height_cm=height, weight_kg=weight + more) > bsa_mosteller(height_cm=height, weight_kg=weight)


@given(height=sizes, weight=weights, more=st.floats(min_value=0.1, max_value=50))
def test_bsa_increases_with_height(height, weight, more):
    assert bsa_mosteller(height_cm=height + more, weight_kg=weight) > bsa_mosteller(height_cm=height, weight_kg=weight)


# ---- WBC category (PROTO: < 10,000; 10,000–50,000; > 50,000 /µL) -----------------------------------------
WBC = [
    pytest.param(0, WbcCategory.BELOW_10K, id="aleukemic 0"),
    pytest.param(1_400, WbcCategory.BELOW_10K, id="lowest in the paper 1,400"),
    pytest.param(9_999, WbcCategory.BELOW_10K, id="9,999 just below"),
    pytest.param(10_000, WbcCategory.FROM_10K_TO_50K, id="exactly 10,000 is the middle group"),
    pytest.param(50_000, WbcCategory.FROM_10K_TO_50K, id="exactly 50,000 is the middle group"),
    pytest.param(50_001, WbcCategory.ABOVE_50K, id="50,001 above"),
    pytest.param(162_000, WbcCategory.ABOVE_50K, id="highest in the paper 162,000"),
    pytest.param(1_000_000, WbcCategory.ABOVE_50K, id="hard maximum"),
]


@pytest.mark.parametrize(("wbc", "expected"), WBC)
def test_wbc_category(wbc, expected):
    assert wbc_category(wbc) == expected


def test_negative_wbc_is_refused():
    with pytest.raises(ValueError):
        wbc_category(-1)


# ---- Performance status (PS-1, D1) -----------------------------------------------------------------------
@pytest.mark.parametrize(("age", "scale"), [
    pytest.param(0, PerformanceScale.LANSKY, id="infant: Lansky"),
    pytest.param(15, PerformanceScale.LANSKY, id="15 years: Lansky"),
    pytest.param(16, PerformanceScale.KARNOFSKY, id="16th birthday: Karnofsky"),
    pytest.param(18, PerformanceScale.KARNOFSKY, id="18 years: Karnofsky"),
])
def test_performance_scale_follows_age(age, scale):
    assert performance_scale(age) == scale


@pytest.mark.parametrize(("score", "adequate"), [
    pytest.param(100, True, id="100 passes"),
    pytest.param(90, True, id="90 passes"),
    pytest.param(80, False, id="80 is not above 80"),
    pytest.param(70, False, id="70 fails"),
    pytest.param(0, False, id="0 fails"),
])
def test_performance_must_be_above_80(score, adequate):
    assert performance_adequate(score) is adequate


@pytest.mark.parametrize(("age", "required"), [(8, False), (9, True), (17, True), (0, False)])
def test_assent_from_9_years(age, required):
    assert assent_required(age) is required


# ---- BFM time point (CLINICAL-RULES 5.1) -----------------------------------------------------------------
DX = date(2018, 1, 15)
TIMEPOINTS = [
    pytest.param(date(2019, 7, 14), None, RelapseTimepoint.VERY_EARLY, id="17 months 30 days: very early"),
    pytest.param(date(2019, 7, 15), None, RelapseTimepoint.EARLY, id="exactly 18 months, on therapy: early"),
    pytest.param(date(2019, 7, 15), date(2020, 6, 1), RelapseTimepoint.EARLY, id="18 months, before therapy end"),
    pytest.param(date(2020, 12, 1), date(2020, 6, 2), RelapseTimepoint.EARLY, id="5 months 29 days after end"),
    pytest.param(date(2020, 12, 2), date(2020, 6, 2), RelapseTimepoint.LATE, id="exactly 6 months after end"),
    pytest.param(date(2023, 1, 1), date(2020, 6, 2), RelapseTimepoint.LATE, id="years after end: late"),
    pytest.param(date(2019, 3, 1), date(2018, 9, 1), RelapseTimepoint.VERY_EARLY,
                 id="under 18 months wins over 6 months after end"),
]


@pytest.mark.parametrize(("relapse", "frontline_end", "expected"), TIMEPOINTS)
def test_relapse_timepoint(relapse, frontline_end, expected):
    assert relapse_timepoint(diagnosis=DX, relapse=relapse, frontline_end=frontline_end) == expected


def test_relapse_before_diagnosis_is_refused():
    with pytest.raises(ValueError):
        relapse_timepoint(diagnosis=DX, relapse=date(2017, 1, 1), frontline_end=None)


def test_months_between_counts_completed_calendar_months():
    assert months_between(date(2018, 1, 31), date(2018, 2, 27)) == 0
    assert months_between(date(2018, 1, 31), date(2018, 2, 28)) == 1  # month end reached, as dateutil counts
    assert months_between(date(2018, 1, 15), date(2019, 7, 15)) == 18


# ---- BFM strategic group (CLINICAL-RULES 5.3): every cell of the table ----------------------------------
B, T = Immunophenotype.B_PRECURSOR, Immunophenotype.T_CELL
VE, E, L = RelapseTimepoint.VERY_EARLY, RelapseTimepoint.EARLY, RelapseTimepoint.LATE
EM, COMB, BM = RelapseSite.ISOLATED_EM, RelapseSite.COMBINED, RelapseSite.ISOLATED_BM
BFM_TABLE = [
    (B, VE, EM, BfmGroup.S2), (B, VE, COMB, BfmGroup.S4), (B, VE, BM, BfmGroup.S4),
    (B, E, EM, BfmGroup.S2), (B, E, COMB, BfmGroup.S2), (B, E, BM, BfmGroup.S3),
    (B, L, EM, BfmGroup.S1), (B, L, COMB, BfmGroup.S2), (B, L, BM, BfmGroup.S2),
    (T, VE, EM, BfmGroup.S2), (T, VE, COMB, BfmGroup.S4), (T, VE, BM, BfmGroup.S4),
    (T, E, EM, BfmGroup.S2), (T, E, COMB, BfmGroup.S4), (T, E, BM, BfmGroup.S4),
    (T, L, EM, BfmGroup.S1), (T, L, COMB, BfmGroup.S4), (T, L, BM, BfmGroup.S4),
]


@pytest.mark.parametrize(("phenotype", "timepoint", "site", "expected"),
                         [pytest.param(*row, id=f"{row[0]}-{row[1]}-{row[2]}") for row in BFM_TABLE])
def test_bfm_group_table(phenotype, timepoint, site, expected):
    assert bfm_group(immunophenotype=phenotype, timepoint=timepoint, site=site) == expected


def test_mixed_phenotype_is_classified_with_t_rows():
    assert bfm_group(immunophenotype=Immunophenotype.MIXED, timepoint=E, site=BM) == BfmGroup.S4


# ---- Disease status at enrollment (D9, D15) --------------------------------------------------------------
STATUS = [
    pytest.param(0, True, None, False, DiseaseStatus.REFRACTORY, id="primary refractory"),
    pytest.param(2, True, BfmGroup.S4, False, DiseaseStatus.REFRACTORY, id="refractory wins over second relapse"),
    pytest.param(2, False, BfmGroup.S1, False, DiseaseStatus.SECOND_OR_LATER_RELAPSE, id="second relapse"),
    pytest.param(3, False, BfmGroup.S4, False, DiseaseStatus.SECOND_OR_LATER_RELAPSE, id="third relapse"),
    pytest.param(1, False, BfmGroup.S4, False, DiseaseStatus.FIRST_HIGH_RISK_RELAPSE, id="first relapse S4"),
    pytest.param(1, False, BfmGroup.S3, False, DiseaseStatus.FIRST_HIGH_RISK_RELAPSE, id="first relapse S3"),
    pytest.param(1, False, BfmGroup.S2, True, DiseaseStatus.FIRST_HIGH_RISK_RELAPSE, id="S2 with MRD >= 10^-3"),
    pytest.param(1, False, BfmGroup.S2, False, DiseaseStatus.FIRST_RELAPSE_NOT_HIGH_RISK, id="S2 good MRD"),
    pytest.param(1, False, BfmGroup.S1, True, DiseaseStatus.FIRST_RELAPSE_NOT_HIGH_RISK, id="S1 flag ignored"),
    pytest.param(1, False, None, False, DiseaseStatus.FIRST_RELAPSE_NOT_HIGH_RISK, id="group not derivable"),
    pytest.param(0, False, None, False, DiseaseStatus.NO_RELAPSE, id="in first remission"),
]


@pytest.mark.parametrize(("count", "refractory", "group", "mrd_flag", "expected"), STATUS)
def test_disease_status(count, refractory, group, mrd_flag, expected):
    assert disease_status(relapse_count=count, refractory=refractory, latest_group=group,
                          high_risk_by_mrd=mrd_flag) == expected


# ---- Eligibility (CRF-SPEC Eligibility; PROTO) -----------------------------------------------------------
ELIGIBLE = EligibilityInputs(age_years=9, immunophenotype="bcp", cd19_percent=Decimal("95"), relapse_count=2,
                             refractory=False, latest_relapse_site="isolated_bm", performance_score=90)


def _with(**changes) -> EligibilityInputs:
    return EligibilityInputs(**{**ELIGIBLE.__dict__, **changes})


ELIGIBILITY = [
    pytest.param(ELIGIBLE, Outcome.ELIGIBLE, [], id="typical second relapse"),
    pytest.param(_with(age_years=18), Outcome.ELIGIBLE, [], id="exactly 18 on the day is eligible"),
    pytest.param(_with(age_years=19), Outcome.SCREEN_FAILURE, [Criterion.AGE], id="19 is too old"),
    pytest.param(_with(age_years=0), Outcome.ELIGIBLE, [], id="infant 0 years"),
    pytest.param(_with(performance_score=80), Outcome.SCREEN_FAILURE, [Criterion.PERFORMANCE], id="Lansky 80 fails"),
    pytest.param(_with(performance_score=90), Outcome.ELIGIBLE, [], id="Lansky 90 passes"),
    pytest.param(_with(immunophenotype="t"), Outcome.SCREEN_FAILURE, [Criterion.CD19_PRE_B], id="T-ALL"),
    pytest.param(_with(cd19_percent=Decimal("19.9")), Outcome.SCREEN_FAILURE, [Criterion.CD19_PRE_B],
                 id="CD19 19.9 % is negative"),
    pytest.param(_with(cd19_percent=Decimal("20.0")), Outcome.ELIGIBLE, [], id="CD19 exactly 20 % is positive"),
    pytest.param(_with(relapse_count=0, refractory=False, latest_relapse_site=None), Outcome.SCREEN_FAILURE,
                 [Criterion.RELAPSED_OR_REFRACTORY], id="neither relapsed nor refractory"),
    pytest.param(_with(relapse_count=0, refractory=True, latest_relapse_site=None), Outcome.ELIGIBLE, [],
                 id="primary refractory"),
    pytest.param(_with(relapse_count=1, latest_relapse_site="isolated_em"), Outcome.SCREEN_FAILURE,
                 [Criterion.NOT_ISOLATED_EM_RELAPSE], id="isolated extramedullary relapse excluded"),
    pytest.param(_with(relapse_count=1, latest_relapse_site="combined"), Outcome.ELIGIBLE, [],
                 id="combined relapse is not isolated EM"),
    pytest.param(_with(age_years=19, performance_score=70), Outcome.SCREEN_FAILURE,
                 [Criterion.AGE, Criterion.PERFORMANCE], id="two criteria failed, both listed"),
]


@pytest.mark.parametrize(("inputs", "outcome", "failed"), ELIGIBILITY)
def test_eligibility(inputs, outcome, failed):
    result = evaluate_eligibility(inputs)
    assert result.outcome == outcome
    assert result.failed == failed


def test_missing_data_leave_eligibility_incomplete_and_say_which():
    result = evaluate_eligibility(EligibilityInputs(age_years=9))
    assert result.outcome == Outcome.INCOMPLETE
    assert result.missing == [Criterion.CD19_PRE_B, Criterion.RELAPSED_OR_REFRACTORY, Criterion.PERFORMANCE,
                              Criterion.NOT_ISOLATED_EM_RELAPSE]


def test_a_failed_criterion_is_a_screen_failure_even_while_others_wait_for_data():
    result = evaluate_eligibility(EligibilityInputs(age_years=9, performance_score=60))
    assert result.outcome == Outcome.SCREEN_FAILURE
    assert result.failed == [Criterion.PERFORMANCE]


def test_t_all_fails_cd19_even_before_the_cd19_percentage_is_known():
    result = evaluate_eligibility(_with(immunophenotype="t", cd19_percent=None))
    assert result.met[Criterion.CD19_PRE_B] is False
