"""Pure treatment rules: no Django, no I/O. Each function cites its source (CLINICAL-RULES.md) in one line.

Blinatumomab dosing (§7, D2), ASTCT CRS (§1, D4, D10) and ICANS (§2, D3) grading, the study's response
categories (§8.3, D5), the intrathecal window (D12) and the serious-AE reporting clock (CRF-SPEC).
The version stamped on every derived value is TRT-2 (TRT-1 masked a CRS fever only on the days the drug was
given); study parameters are named constants here.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import IntEnum, StrEnum

# DOSE-1 (D2), CRS-2 (ASTCT19, D4, D10; the fever mask lasts the episode), ICANS-1 (ASTCT19, D3), RESP-1 (D5)
TREATMENT_RULE_VERSION = "TRT-2"

# ---- Study parameters ----------------------------------------------------------------------------------
MAX_CYCLES = 2  # PROTO: "up to two cycles" of blinatumomab before transplant
CYCLE_INFUSION_DAYS = 28  # BLIN-PI: 28 days of continuous infusion...
CYCLE_FREE_DAYS = 14  # ...then a 14-day treatment-free interval
STEP_DAYS = 7  # BLIN-PI: the step dose runs on days 1–7 of cycle 1
STEP_DOSE_IN_EVERY_CYCLE = False  # D2: the label steps only in cycle 1 (PROTO is silent); standard = False
FIXED_DOSE_FROM_WEIGHT_KG = 45  # BLIN-PI Table 1: fixed doses from 45 kg
STEP_DOSE_UG_PER_M2, FULL_DOSE_UG_PER_M2 = 5, 15  # µg/m²/day under 45 kg
STEP_DOSE_FIXED_UG, FULL_DOSE_FIXED_UG = 9, 28  # µg/day from 45 kg, also the caps of the BSA-based doses
DOSE_DEVIATION_PERCENT = 10  # CRF-SPEC: a prescribed dose > 10 % away from the planned one is a deviation
INTRATHECAL_DAYS_AFTER_CYCLE_END, INTRATHECAL_WINDOW_DAYS = 14, 7  # D12: 14 ± 7 days after the cycle end
FEVER_FROM_C = Decimal("38.0")  # CRS-F1: temperature ≥ 38.0 °C
LOW_FLOW_MAX_L_PER_MIN = Decimal(6)  # CRS-F4: nasal cannula ≤ 6 L/min is low flow; above is high flow
ICE_FROM_AGE_YEARS = 12  # ASTCT19 / CRF-SPEC: ICE from 12 years, CAPD under 12
CAPD_POSITIVE_FROM = 9  # Traube 2014 cut-point; ASTCT19 pediatric table grade 3 from 9
MRD_NEGATIVE_BELOW_PERCENT = Decimal("0.01")  # PROTO / BROWN21: MRD < 0.01 % (10⁻⁴) is a complete MRD response
MARROW_BLASTS_NR_FROM_PERCENT = Decimal(5)  # D5: marrow blasts ≥ 5 % is no response (M2 counts as NR)
SAE_REPORT_WITHIN_HOURS = 24  # CRF-SPEC: a serious AE is entered within 24 hours of awareness


def _percent(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


# ---- Blinatumomab dosing (CLINICAL-RULES 7.2, D2, D11) ---------------------------------------------------
@dataclass(frozen=True)
class PlannedDoses:
    step_ug_per_day: float | None  # days 1–7, cycle 1 only (None when the cycle has no step)
    full_ug_per_day: float  # days 8–28 (or 1–28 without a step)
    total_ug: float  # the cycle's planned total over 28 infusion days
    fixed: bool  # the label's fixed dose (≥ 45 kg) rather than BSA-based


def has_step_dose(cycle: int) -> bool:
    """D2: the 5 µg/m²/day step applies to cycle 1 only (unless the study parameter says every cycle)."""
    return cycle == 1 or STEP_DOSE_IN_EVERY_CYCLE


def planned_doses(*, cycle: int, weight_kg: float, bsa_m2: float) -> PlannedDoses:
    """DOSE-1, BLIN-PI Table 1: ≥ 45 kg fixed 9 → 28 µg/day; < 45 kg 5 → 15 µg/m²/day capped at 9 and 28.

    Computed from the unrounded BSA (D11); the 45 kg boundary belongs to the fixed dose.
    """
    if cycle < 1:
        raise ValueError("cycles are numbered from 1")
    if weight_kg <= 0 or bsa_m2 <= 0:
        raise ValueError("weight and BSA must be positive")
    fixed = float(weight_kg) >= FIXED_DOSE_FROM_WEIGHT_KG
    if fixed:
        step, full = float(STEP_DOSE_FIXED_UG), float(FULL_DOSE_FIXED_UG)
    else:
        step = min(STEP_DOSE_UG_PER_M2 * float(bsa_m2), STEP_DOSE_FIXED_UG)
        full = min(FULL_DOSE_UG_PER_M2 * float(bsa_m2), FULL_DOSE_FIXED_UG)
    if has_step_dose(cycle):
        total = STEP_DAYS * step + (CYCLE_INFUSION_DAYS - STEP_DAYS) * full
        return PlannedDoses(step, full, total, fixed)
    return PlannedDoses(None, full, CYCLE_INFUSION_DAYS * full, fixed)


def dose_deviation_percent(*, planned: float, prescribed: float) -> float:
    """Signed difference of the prescribed from the planned dose, in % of the planned dose."""
    if planned <= 0:
        raise ValueError("the planned dose must be positive")
    return (float(prescribed) - float(planned)) / float(planned) * 100


def is_dose_deviation(deviation_percent: float) -> bool:
    """CRF-SPEC: more than 10 % either way (exactly 10 % is not a deviation)."""
    return abs(deviation_percent) > DOSE_DEVIATION_PERCENT + 1e-9


def intrathecal_window(cycle_end: date) -> tuple[date, date]:
    """D12: intrathecal therapy is expected 14 ± 7 days after the cycle's end (both ends inclusive)."""
    centre = cycle_end + timedelta(days=INTRATHECAL_DAYS_AFTER_CYCLE_END)
    spread = timedelta(days=INTRATHECAL_WINDOW_DAYS)
    return centre - spread, centre + spread


# ---- CRS: ASTCT 2019 (CLINICAL-RULES 1.2) ----------------------------------------------------------------
class Hypotension(StrEnum):
    NONE = "none"
    FLUIDS = "fluids"  # responds to fluids, no vasopressor
    VASOPRESSORS = "vasopressors"


class OxygenDevice(StrEnum):
    NONE = "none"
    NASAL_CANNULA = "nasal_cannula"  # low or high flow by the flow rate (CRS-F4)
    BLOW_BY = "blow_by"  # low flow (CRS-F4, pediatrics)
    FACEMASK = "facemask"
    NON_REBREATHER = "non_rebreather"
    VENTURI = "venturi"
    CPAP_BIPAP = "cpap_bipap"
    MECHANICAL_VENTILATION = "mechanical_ventilation"


class OxygenSupport(IntEnum):
    """ASTCT19 hypoxia categories, valued by the CRS grade each one gives."""

    NONE = 0
    LOW_FLOW = 2
    HIGH_FLOW = 3
    POSITIVE_PRESSURE = 4


def oxygen_support(device: OxygenDevice, flow_l_per_min: Decimal | None) -> OxygenSupport:
    """CRS-F4: nasal cannula ≤ 6 L/min or blow-by is low flow; > 6 L/min, facemask, non-rebreather, Venturi high."""
    device = OxygenDevice(device)
    if device is OxygenDevice.NONE:
        return OxygenSupport.NONE
    if device is OxygenDevice.BLOW_BY:
        return OxygenSupport.LOW_FLOW
    if device is OxygenDevice.NASAL_CANNULA:
        if flow_l_per_min is None:
            raise ValueError("a nasal cannula needs its flow")
        return OxygenSupport.LOW_FLOW if _percent(flow_l_per_min) <= LOW_FLOW_MAX_L_PER_MIN else OxygenSupport.HIGH_FLOW
    if device in (OxygenDevice.CPAP_BIPAP, OxygenDevice.MECHANICAL_VENTILATION):
        return OxygenSupport.POSITIVE_PRESSURE
    return OxygenSupport.HIGH_FLOW


@dataclass(frozen=True)
class CrsSigns:
    """One day's worst values (CRF-SPEC "CRS assessment")."""

    max_temperature_c: Decimal | None
    fever_other_cause: bool = False  # CRS-F1: fever attributable to another cause does not count
    hypotension: Hypotension = Hypotension.NONE
    vasopressors: int = 0  # number of vasopressors, vasopressin not counted
    vasopressin: bool = False
    oxygen: OxygenSupport = OxygenSupport.NONE
    antipyretic_or_anticytokine: bool = False  # antipyretics, tocilizumab or corticosteroids (CRS-F2)
    death_due_to_crs: bool = False


def fever_counts(signs: CrsSigns) -> bool:
    """CRS-F1: temperature ≥ 38.0 °C not attributable to any other cause (37.9 °C is no fever)."""
    return (signs.max_temperature_c is not None and _percent(signs.max_temperature_c) >= FEVER_FROM_C
            and not signs.fever_other_cause)


def crs_grade(signs: CrsSigns, *, crs_ongoing: bool, treated_in_episode: bool = False) -> int:
    """CRS-2, ASTCT19: fever, then the more severe of hypotension and hypoxia (CRS-F3).

    `crs_ongoing`: the patient is in a CRS episode (the previous assessment of the cycle graded ≥ 1).
    `treated_in_episode`: an antipyretic, tocilizumab or a corticosteroid was given on an earlier day of that
    episode. Once such a drug has been given in the episode (earlier or today), fever is no longer required on
    this or any later day of it: the grade is "driven by hypotension and/or hypoxia" (CRS-F2), so a masked,
    afebrile day with neither is grade 0 and ends the episode and its mask (D10), even while steroids are tapered.
    """
    if signs.death_due_to_crs:
        return 5
    fever = fever_counts(signs)
    masked = crs_ongoing and (treated_in_episode or signs.antipyretic_or_anticytokine)
    if not (fever or masked):
        return 0
    hypotension = 0
    if signs.hypotension == Hypotension.VASOPRESSORS:
        if signs.vasopressors >= 2:
            hypotension = 4  # multiple vasopressors, vasopressin excluded
        elif signs.vasopressors == 1 or signs.vasopressin:
            hypotension = 3  # one vasopressor with or without vasopressin; vasopressin alone counts as one
        else:
            raise ValueError("hypotension needing vasopressors names at least one")
    elif signs.hypotension == Hypotension.FLUIDS:
        hypotension = 2
    return max(1 if fever else 0, hypotension, int(signs.oxygen))


def treated_after(signs: CrsSigns, grade: int | None, *, crs_ongoing: bool, treated_in_episode: bool) -> bool:
    """CRS-F2 carried to the next day: whether the episode, if it goes on after this day, has been treated.

    A day graded 0 ends the episode and its mask; otherwise the episode is treated if it was before this day (and
    still going on) or if a masking drug was given this day."""
    if not grade:
        return False
    return (crs_ongoing and treated_in_episode) or signs.antipyretic_or_anticytokine


def crs_series(days: Iterable[CrsSigns]) -> list[int]:
    """The grades of consecutive assessments of one cycle, each knowing the days before it (CRS-2, D10)."""
    grades, ongoing, treated = [], False, False
    for signs in days:
        grade = crs_grade(signs, crs_ongoing=ongoing, treated_in_episode=treated)
        treated = treated_after(signs, grade, crs_ongoing=ongoing, treated_in_episode=treated)
        ongoing = bool(grade)
        grades.append(grade)
    return grades


@dataclass(frozen=True)
class CrsEpisode:
    start: date
    end: date | None  # the first later assessment graded 0; None while it lasts (D10)
    grade: int


def crs_episodes(days: Iterable[tuple[date, int]]) -> list[CrsEpisode]:
    """D10: an episode starts on the first day graded ≥ 1 and ends on the first later day graded 0."""
    episodes: list[CrsEpisode] = []
    start, worst = None, 0
    for day, grade in sorted(days):
        if grade >= 1 and start is None:
            start, worst = day, grade
        elif grade >= 1:
            worst = max(worst, grade)
        elif start is not None:
            episodes.append(CrsEpisode(start, day, worst))
            start, worst = None, 0
    if start is not None:
        episodes.append(CrsEpisode(start, None, worst))
    return episodes


def worst_grade(grades: Iterable[int | None]) -> int | None:
    """The worst of several grades (per cycle, per patient); None when nothing was graded."""
    known = [g for g in grades if g is not None]
    return max(known) if known else None


# ---- ICANS: ASTCT 2019 (CLINICAL-RULES 2) ---------------------------------------------------------------
class IcansTool(StrEnum):
    ICE = "ICE"
    CAPD = "CAPD"


def icans_tool(*, age_years: int, developmental_delay: bool = False) -> IcansTool:
    """ASTCT19: ICE from 12 years; CAPD under 12 years, or older with developmental delay."""
    return IcansTool.CAPD if age_years < ICE_FROM_AGE_YEARS or developmental_delay else IcansTool.ICE


ICE_ITEM_MAXIMUM = {"orientation": 4, "naming": 3, "commands": 1, "writing": 1, "attention": 1}


def ice_total(items: dict[str, int]) -> int:
    """ICE score: orientation 4 + naming 3 + commands 1 + writing 1 + attention 1 = 10 (10 = normal)."""
    total = 0
    for name, maximum in ICE_ITEM_MAXIMUM.items():
        points = items[name]
        if not 0 <= points <= maximum:
            raise ValueError(f"ICE {name} scores 0 to {maximum}")
        total += points
    return total


class CapdAnswer(IntEnum):
    NEVER = 0
    RARELY = 1
    SOMETIMES = 2
    OFTEN = 3
    ALWAYS = 4


CAPD_REVERSED_ITEMS = 4  # items 1–4 (eye contact, purposeful, aware, communicates) score Never = 4


def capd_total(answers: Sequence[CapdAnswer | int]) -> int:
    """CAPD (Traube 2014): 8 items rated Never..Always; items 1–4 reverse scored; 0–32, ≥ 9 positive."""
    if len(answers) != 8:
        raise ValueError("CAPD has 8 items")
    total = 0
    for index, answer in enumerate(answers):
        value = int(CapdAnswer(answer))
        total += 4 - value if index < CAPD_REVERSED_ITEMS else value
    return total


class Consciousness(IntEnum):
    """Depressed level of consciousness, valued by the ICANS grade each gives (ASTCT19)."""

    ALERT = 0
    AWAKENS_SPONTANEOUSLY = 1
    AWAKENS_TO_VOICE = 2
    AWAKENS_TO_TOUCH = 3
    UNAROUSABLE = 4  # or needs vigorous / repetitive tactile stimuli; stupor; coma


class Seizure(IntEnum):
    NONE = 0
    RESOLVES_RAPIDLY = 3  # any clinical seizure resolving rapidly, or EEG seizures resolving with intervention
    PROLONGED_OR_REPETITIVE = 4  # > 5 min, or repetitive without return to baseline in between


class RaisedIcp(IntEnum):
    NONE = 0
    FOCAL_EDEMA = 3
    DIFFUSE_EDEMA = 4  # or decerebrate/decorticate posturing, cranial nerve VI palsy, papilledema, Cushing's triad


@dataclass(frozen=True)
class IcansFindings:
    tool: IcansTool
    score: int | None  # ICE 0–10 or CAPD 0–32; None when the patient could not perform it
    unable_to_perform: bool = False  # unarousable: grade 4 (not a score of 0)
    consciousness: Consciousness = Consciousness.ALERT
    seizure: Seizure = Seizure.NONE
    deep_focal_motor_weakness: bool = False
    raised_icp: RaisedIcp = RaisedIcp.NONE
    death_due_to_icans: bool = False


def encephalopathy_grade(tool: IcansTool, score: int | None, unable_to_perform: bool) -> int:
    """ASTCT19 ICE rows 10 → 0, 7–9 → 1, 3–6 → 2, 0–2 → 3; CAPD 0 → 0, 1–8 → 1, ≥ 9 → 3; unable → 4 (D3)."""
    if unable_to_perform:
        return 4
    if score is None:
        raise ValueError("a score is needed unless the patient is unable to perform the test")
    if tool is IcansTool.ICE:
        if not 0 <= score <= 10:
            raise ValueError("ICE scores 0 to 10")
        return 3 if score <= 2 else 2 if score <= 6 else 1 if score <= 9 else 0
    if not 0 <= score <= 32:
        raise ValueError("CAPD scores 0 to 32")
    return 3 if score >= CAPD_POSITIVE_FROM else 1 if score >= 1 else 0


def icans_grade(findings: IcansFindings) -> int:
    """ICANS-1, ASTCT19: the most severe domain; tremor, myoclonus and hemorrhage are graded by CTCAE instead."""
    if findings.death_due_to_icans:
        return 5
    return max(encephalopathy_grade(findings.tool, findings.score, findings.unable_to_perform),
               int(findings.consciousness), int(findings.seizure),
               4 if findings.deep_focal_motor_weakness else 0, int(findings.raised_icp))


# ---- Response (CLINICAL-RULES 8.3, D5) ------------------------------------------------------------------
class Response(StrEnum):
    CR = "CR"  # MRD < 0.01 %
    PR = "PR"  # morphological remission (blasts < 5 %) with MRD ≥ 0.01 %
    NR = "NR"  # blasts ≥ 5 %, extramedullary disease or CNS3
    NOT_EVALUABLE = "NE"  # remission by morphology but no valid MRD


class StandardResponse(StrEnum):
    """The same result in the categories of RIALTO / LOC21, exported beside the study's label."""

    CR_MRD_NEGATIVE = "CR_MRD_NEG"
    CR_MRD_POSITIVE = "CR_MRD_POS"
    NR = "NR"
    NOT_EVALUABLE = "NE"


class MrdResult(StrEnum):
    DETECTED = "detected"  # a level is given
    NOT_DETECTED = "not_detected"  # below the assay's limit of detection
    NOT_EVALUABLE = "not_evaluable"  # sample inadequate or not done


def mrd_negative(*, result: MrdResult, percent: Decimal | None, lod_percent: Decimal | None) -> bool | None:
    """§8.1: True for MRD < 0.01 %, False for ≥ 0.01 %, None when the result cannot tell.

    "Not detected" is a valid negative only if the assay detects 0.01 % (limit of detection ≤ 0.01 %).
    """
    result = MrdResult(result)
    if result is MrdResult.NOT_EVALUABLE:
        return None
    if result is MrdResult.NOT_DETECTED:
        return True if lod_percent is not None and _percent(lod_percent) <= MRD_NEGATIVE_BELOW_PERCENT else None
    if percent is None:
        raise ValueError("a detected MRD needs its level")
    if _percent(percent) >= MRD_NEGATIVE_BELOW_PERCENT:
        return False
    return True if lod_percent is None or _percent(lod_percent) <= MRD_NEGATIVE_BELOW_PERCENT else None


def study_response(*, marrow_blasts_percent: Decimal, mrd_is_negative: bool | None, extramedullary_disease: bool,
                   cns3: bool) -> Response:
    """RESP-1, D5: blasts ≥ 5 %, EM disease or CNS3 → NR; else MRD < 0.01 % → CR, ≥ 0.01 % → PR; else NE."""
    if _percent(marrow_blasts_percent) >= MARROW_BLASTS_NR_FROM_PERCENT or extramedullary_disease or cns3:
        return Response.NR
    if mrd_is_negative is None:
        return Response.NOT_EVALUABLE
    return Response.CR if mrd_is_negative else Response.PR


STANDARD_RESPONSE = {
    Response.CR: StandardResponse.CR_MRD_NEGATIVE,
    Response.PR: StandardResponse.CR_MRD_POSITIVE,
    Response.NR: StandardResponse.NR,
    Response.NOT_EVALUABLE: StandardResponse.NOT_EVALUABLE,
}
_RESPONSE_RANK = {Response.CR: 3, Response.PR: 2, Response.NR: 1, Response.NOT_EVALUABLE: 0}


def best_response(responses: Iterable[Response | str]) -> Response | None:
    """§8.3: the best over cycles 1–2, CR > PR > NR (a not-evaluable result ranks last)."""
    known = [Response(r) for r in responses if r]
    return max(known, key=_RESPONSE_RANK.__getitem__) if known else None


# ---- Early death or withdrawal (CLINICAL-RULES §1.2 "CRS not evaluable", §8.3 "not assessable") ---------
class ExitKind(StrEnum):
    DEATH = "death"
    WITHDRAWAL = "withdrawal"


@dataclass(frozen=True)
class StudyExit:
    """The patient died or left the study (consent withdrawn) on `on`."""

    kind: ExitKind
    on: date


def crs_not_evaluable(*, assessed_days: int, cycle_start: date, cycle_end: date | None,
                      exit_: StudyExit | None) -> bool:
    """A cycle with no CRS assessment whose patient died or left during it: CRS could not be assessed, which is
    not grade 0. A cycle the patient outlived without a CRS assessment had no CRS day to record."""
    if assessed_days or exit_ is None or exit_.on < cycle_start:
        return False
    return cycle_end is None or exit_.on <= cycle_end


def response_not_assessable(*, has_response: bool, cycle_start: date, exit_: StudyExit | None) -> bool:
    """A cycle with no response assessment because the patient died or left after it started (§8.3)."""
    return not has_response and exit_ is not None and exit_.on >= cycle_start


def best_response_counting_exits(responses: Iterable[Response | str], *, exited_before_assessment: bool
                                 ) -> Response | None:
    """§8.3: the best response over the cycles; a patient with none because they died or left before the
    assessment is a treatment failure (NR)."""
    best = best_response(responses)
    if best is None and exited_before_assessment:
        return Response.NR
    return best


# ---- Serious adverse events (CRF-SPEC "Adverse event") -------------------------------------------------
def sae_entered_late(*, aware_at: datetime, entered_at: datetime) -> bool:
    """A serious AE is entered within 24 hours of awareness; exactly 24 h is still on time."""
    return entered_at - aware_at > timedelta(hours=SAE_REPORT_WITHIN_HOURS)
