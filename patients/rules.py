"""Pure enrollment rules: no Django, no I/O. Each function cites its source in one line.

Rule ids (AGE-1, BSA-1, ...) are stamped on the derived values they produce, so a stored value says
which version of which rule computed it. Study parameters (CLINICAL-RULES "Study decisions") are
named constants here, with the standard value beside them where the study departs from it.
"""

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from dateutil.relativedelta import relativedelta

AGE_RULE_VERSION = "AGE-1"  # completed years and months between two calendar dates (CRF-SPEC Registration)
ENROLLMENT_RULE_VERSION = "ENR-1"  # BSA-1, WBC-1, PS-1, BFM-1, DS-1 (D9), ELIG-1 (D1) as written below

# ---- Study parameters (CLINICAL-RULES "Study decisions"; shown in the data dictionary) -------------------
MIN_PERFORMANCE_SCORE_EXCLUSIVE = 80  # D1: protocol "Lansky performance status score above 80" → 90 or 100
KARNOFSKY_FROM_AGE_YEARS = 16  # PS-1: Lansky under 16 years, Karnofsky from 16
ASSENT_FROM_AGE_YEARS = 9  # PROTO: assent "from patients aged ≥ 9 years"
MIN_AGE_YEARS, MAX_AGE_YEARS = 0, 18  # PROTO "children aged 0 to 18 years", completed years, both inclusive
# A marker is "positive" on blasts from 20 % (EGIL, Bene MC et al. Leukemia 1995;9:1783); the protocol only
# says "CD19-positive", so this cut-off is a study parameter.
CD19_POSITIVE_MIN_PERCENT = Decimal(20)
WBC_CATEGORY_BOUNDS = (10_000, 50_000)  # PROTO: < 10,000; 10,000–50,000; > 50,000 /µL
VERY_EARLY_MONTHS_FROM_DIAGNOSIS = 18  # BFM time point (CLINICAL-RULES 5.1)
LATE_MONTHS_AFTER_FRONTLINE_END = 6


class AgeGroup(StrEnum):
    UNDER_1 = "under_1"  # < 1 year
    FROM_1_TO_10 = "1_to_10"  # 1–10 years
    OVER_10 = "over_10"  # > 10 years (PROTO Table 1 and Table 3 "age > 10 years")


def age_at(born: date, on: date) -> tuple[int, int]:
    """Age as (completed years, completed months beyond them); calendar arithmetic as dateutil does it.

    CLINICAL-RULES D11: ages in completed years (and months under 2 years).
    """
    if on < born:
        raise ValueError("the date is before the date of birth")
    delta = relativedelta(on, born)
    return delta.years, delta.months


def age_group(years: int) -> AgeGroup:
    """PROTO Table 1 groups, on completed years (D11): < 1, 1–10, > 10 (so 10 y 11 m is still 1–10)."""
    if years < 1:
        return AgeGroup.UNDER_1
    if years > 10:
        return AgeGroup.OVER_10
    return AgeGroup.FROM_1_TO_10


def assent_required(age_years: int) -> bool:
    """PROTO: informed consent from parents or guardians, "as well as from patients aged ≥ 9 years"."""
    return age_years >= ASSENT_FROM_AGE_YEARS


# ---- Body surface area (CLINICAL-RULES 7.1) --------------------------------------------------------------
def bsa_mosteller(*, height_cm: float, weight_kg: float) -> float:
    """BSA-1, Mosteller (NEJM 1987;317:1098): √(height cm × weight kg / 3600) m², kept unrounded (D11)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("height and weight must be positive")
    return math.sqrt(float(height_cm) * float(weight_kg) / 3600)


def bsa_haycock(*, height_cm: float, weight_kg: float) -> float:
    """Haycock (J Pediatr 1978;93:62): 0.024265 × H^0.3964 × W^0.5378 m² (shown beside Mosteller for infants)."""
    if height_cm <= 0 or weight_kg <= 0:
        raise ValueError("height and weight must be positive")
    return 0.024265 * float(height_cm) ** 0.3964 * float(weight_kg) ** 0.5378


# ---- White-cell count (PROTO subgroup analysis) ----------------------------------------------------------
class WbcCategory(StrEnum):
    BELOW_10K = "lt_10000"  # < 10,000 /µL
    FROM_10K_TO_50K = "10000_50000"  # 10,000–50,000 /µL (both ends included)
    ABOVE_50K = "gt_50000"  # > 50,000 /µL


def wbc_category(wbc_per_ul: int) -> WbcCategory:
    """WBC-1, PROTO methods: "< 10,000/µL, 10,000–50,000/µL, > 50,000/µL"; 10,000 and 50,000 are the middle."""
    if wbc_per_ul < 0:
        raise ValueError("a white-cell count cannot be negative")
    low, high = WBC_CATEGORY_BOUNDS
    if wbc_per_ul < low:
        return WbcCategory.BELOW_10K
    if wbc_per_ul > high:
        return WbcCategory.ABOVE_50K
    return WbcCategory.FROM_10K_TO_50K


# ---- Performance status (CLINICAL-RULES 6, PS-1) ---------------------------------------------------------
class PerformanceScale(StrEnum):
    LANSKY = "lansky"
    KARNOFSKY = "karnofsky"


PERFORMANCE_SCORES = tuple(range(100, -1, -10))  # both scales: 0–100 in steps of 10


def performance_scale(age_years: int) -> PerformanceScale:
    """PS-1: Lansky if the age at assessment is under 16 years, Karnofsky from 16 (derived, never chosen)."""
    return PerformanceScale.LANSKY if age_years < KARNOFSKY_FROM_AGE_YEARS else PerformanceScale.KARNOFSKY


def performance_adequate(score: int) -> bool:
    """D1: inclusion needs a score above 80 on either scale, so 80 fails and 90 passes."""
    return score > MIN_PERFORMANCE_SCORE_EXCLUSIVE


# ---- Relapse classification (CLINICAL-RULES 5) -----------------------------------------------------------
class Immunophenotype(StrEnum):
    B_PRECURSOR = "bcp"  # precursor B (pre-B); "non-T" in the BFM table
    T_CELL = "t"
    MIXED = "mpal"  # mixed phenotype: classified with T in the BFM table (not "non-T BCP")


class RelapseSite(StrEnum):
    ISOLATED_BM = "isolated_bm"
    COMBINED = "combined"
    ISOLATED_EM = "isolated_em"


class RelapseTimepoint(StrEnum):
    VERY_EARLY = "very_early"
    EARLY = "early"
    LATE = "late"


class BfmGroup(StrEnum):
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"
    S4 = "S4"


def months_between(start: date, end: date) -> int:
    """Completed calendar months from `start` to `end` (dateutil.relativedelta, CLINICAL-RULES 5.1)."""
    delta = relativedelta(end, start)
    return delta.years * 12 + delta.months


def relapse_timepoint(*, diagnosis: date, relapse: date, frontline_end: date | None) -> RelapseTimepoint:
    """BFM-1 time point (CLINICAL-RULES 5.1): very early < 18 months from diagnosis; late ≥ 6 months after the
    end of front-line therapy; otherwise early (including a relapse during therapy ≥ 18 months from diagnosis).

    `frontline_end` is None when the relapse came during front-line therapy.
    """
    if relapse < diagnosis:
        raise ValueError("the relapse is before the diagnosis")
    if months_between(diagnosis, relapse) < VERY_EARLY_MONTHS_FROM_DIAGNOSIS:
        return RelapseTimepoint.VERY_EARLY
    if frontline_end is not None and relapse >= frontline_end and (
            months_between(frontline_end, relapse) >= LATE_MONTHS_AFTER_FRONTLINE_END):
        return RelapseTimepoint.LATE
    return RelapseTimepoint.EARLY


_BFM_NON_T = {
    RelapseTimepoint.VERY_EARLY: {RelapseSite.ISOLATED_EM: BfmGroup.S2, RelapseSite.COMBINED: BfmGroup.S4,
                                  RelapseSite.ISOLATED_BM: BfmGroup.S4},
    RelapseTimepoint.EARLY: {RelapseSite.ISOLATED_EM: BfmGroup.S2, RelapseSite.COMBINED: BfmGroup.S2,
                             RelapseSite.ISOLATED_BM: BfmGroup.S3},
    RelapseTimepoint.LATE: {RelapseSite.ISOLATED_EM: BfmGroup.S1, RelapseSite.COMBINED: BfmGroup.S2,
                            RelapseSite.ISOLATED_BM: BfmGroup.S2},
}
_BFM_T = {
    timepoint: {RelapseSite.ISOLATED_EM: BfmGroup.S1 if timepoint == RelapseTimepoint.LATE else BfmGroup.S2,
                RelapseSite.COMBINED: BfmGroup.S4, RelapseSite.ISOLATED_BM: BfmGroup.S4}
    for timepoint in RelapseTimepoint
}


def bfm_group(*, immunophenotype: Immunophenotype, timepoint: RelapseTimepoint, site: RelapseSite) -> BfmGroup:
    """BFM-1 strategic group S1–S4 (Tallen, JCO 2010; CLINICAL-RULES 5.3), from phenotype, time point and site."""
    table = _BFM_NON_T if immunophenotype == Immunophenotype.B_PRECURSOR else _BFM_T
    return table[RelapseTimepoint(timepoint)][RelapseSite(site)]


class DiseaseStatus(StrEnum):
    FIRST_HIGH_RISK_RELAPSE = "first_hr_relapse"
    FIRST_RELAPSE_NOT_HIGH_RISK = "first_relapse_not_hr"
    SECOND_OR_LATER_RELAPSE = "second_or_later_relapse"
    REFRACTORY = "refractory"
    NO_RELAPSE = "no_relapse"  # neither relapsed nor refractory: not eligible


def disease_status(*, relapse_count: int, refractory: bool, latest_group: BfmGroup | None,
                   high_risk_by_mrd: bool) -> DiseaseStatus:
    """DS-1 (D9, D15): refractory > second or later relapse > first relapse.

    A first relapse is "high risk" in S3/S4, or in S2 with the investigator's "MRD ≥ 10⁻³" flag (D9).
    """
    if refractory:
        return DiseaseStatus.REFRACTORY
    if relapse_count >= 2:
        return DiseaseStatus.SECOND_OR_LATER_RELAPSE
    if relapse_count == 1:
        high = latest_group in (BfmGroup.S3, BfmGroup.S4) or (latest_group == BfmGroup.S2 and high_risk_by_mrd)
        return DiseaseStatus.FIRST_HIGH_RISK_RELAPSE if high else DiseaseStatus.FIRST_RELAPSE_NOT_HIGH_RISK
    return DiseaseStatus.NO_RELAPSE


# ---- Eligibility (CRF-SPEC Eligibility; PROTO methods) ---------------------------------------------------
class Criterion(StrEnum):
    AGE = "age"  # inclusion: 0–18 years at registration
    CD19_PRE_B = "cd19_pre_b"  # inclusion: CD19-positive precursor-B ALL by flow cytometry
    RELAPSED_OR_REFRACTORY = "relapsed_or_refractory"  # inclusion
    PERFORMANCE = "performance"  # inclusion: Lansky / Karnofsky > 80
    NOT_ISOLATED_EM_RELAPSE = "not_isolated_em"  # exclusion: isolated extramedullary relapse


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    SCREEN_FAILURE = "screen_failure"
    INCOMPLETE = "incomplete"  # a criterion cannot be judged yet: its data are missing


@dataclass(frozen=True)
class EligibilityInputs:
    """What the criteria read from the other enrollment forms; None = not recorded yet."""

    age_years: int | None = None
    immunophenotype: str | None = None
    cd19_percent: Decimal | None = None
    relapse_count: int | None = None
    refractory: bool | None = None
    latest_relapse_site: str | None = None
    performance_score: int | None = None


@dataclass(frozen=True)
class EligibilityResult:
    outcome: Outcome
    met: dict[Criterion, bool | None] = field(default_factory=dict)

    @property
    def failed(self) -> list[Criterion]:
        return [c for c, ok in self.met.items() if ok is False]

    @property
    def missing(self) -> list[Criterion]:
        return [c for c, ok in self.met.items() if ok is None]


def evaluate_eligibility(inputs: EligibilityInputs) -> EligibilityResult:
    """ELIG-1: each criterion is met (True), failed (False) or not judgeable yet (None).

    One failed criterion makes a screen failure even while others wait for data; otherwise any missing
    datum leaves the evaluation incomplete; all met is eligible.
    """
    met: dict[Criterion, bool | None] = {}
    met[Criterion.AGE] = (None if inputs.age_years is None
                          else MIN_AGE_YEARS <= inputs.age_years <= MAX_AGE_YEARS)

    not_pre_b = inputs.immunophenotype is not None and inputs.immunophenotype != Immunophenotype.B_PRECURSOR
    cd19_low = inputs.cd19_percent is not None and inputs.cd19_percent < CD19_POSITIVE_MIN_PERCENT
    if not_pre_b or cd19_low:
        met[Criterion.CD19_PRE_B] = False
    elif inputs.immunophenotype is None or inputs.cd19_percent is None:
        met[Criterion.CD19_PRE_B] = None
    else:
        met[Criterion.CD19_PRE_B] = True

    if inputs.relapse_count is None or inputs.refractory is None:
        met[Criterion.RELAPSED_OR_REFRACTORY] = None
    else:
        met[Criterion.RELAPSED_OR_REFRACTORY] = inputs.refractory or inputs.relapse_count >= 1

    met[Criterion.PERFORMANCE] = (None if inputs.performance_score is None
                                  else performance_adequate(inputs.performance_score))

    if inputs.relapse_count is None:
        met[Criterion.NOT_ISOLATED_EM_RELAPSE] = None
    elif inputs.relapse_count == 0:
        met[Criterion.NOT_ISOLATED_EM_RELAPSE] = True
    else:
        met[Criterion.NOT_ISOLATED_EM_RELAPSE] = (None if inputs.latest_relapse_site is None
                                                  else inputs.latest_relapse_site != RelapseSite.ISOLATED_EM)

    if any(ok is False for ok in met.values()):
        outcome = Outcome.SCREEN_FAILURE
    elif any(ok is None for ok in met.values()):
        outcome = Outcome.INCOMPLETE
    else:
        outcome = Outcome.ELIGIBLE
    return EligibilityResult(outcome, met)
