"""Pure transplant rules: no Django, no I/O. Each function cites its source (CLINICAL-RULES.md) in one line.

Engraftment and primary graft failure (§11.1, D7), chimerism (§11.2, D8), MAGIC acute GVHD staging and grade
(§4.1, §4.2, D13), NIH 2014 chronic GVHD global severity (§4.3) and the graft dose per kg.
The version stamped on every derived value is TX-1; study parameters are named constants here.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

# ENGR-1 (D7, strict protocol days), CHIM-1 (D8), AGVHD-1 (MAGIC, D13), CGVHD-1 (NIH14)
TRANSPLANT_RULE_VERSION = "TX-1"

# ---- Study parameters ----------------------------------------------------------------------------------
NEUTROPHIL_THRESHOLD_PER_UL = 500  # D7 / PROTO: an engrafted day needs ANC strictly > 500/µL (ENGR: ≥ 500)
NEUTROPHIL_RUN_DAYS = 3  # D7: 3 consecutive calendar days
PLATELET_THRESHOLD_10E9_L = 20  # D7 / PROTO: platelets strictly > 20 ×10⁹/L (ENGR: ≥ 20)
PLATELET_RUN_DAYS = 7  # D7 / PROTO: 7 consecutive calendar days (ENGR: 3)
PLATELET_TRANSFUSION_FREE_DAYS_BEFORE = 7  # D7: no platelet transfusion on the 7 days before the run either
GRAFT_FAILURE_DAY = 30  # D7 / ENGR: no neutrophil engraftment by day +30 (CRF-SPEC said +28)
PLATELETS_MAX_10E9_L = 2000  # above this a count was almost surely typed per µL (231000 for 231 ×10⁹/L)
BILIRUBIN_UMOL_PER_MG_DL = Decimal("17.1")  # §4.1: 1 mg/dL = 17.1 µmol/L
CHILD_MAX_WEIGHT_KG = 50  # §4.1: child lower-GI criteria up to 50 kg inclusive, adult above
COMPLETE_CHIMERISM_PCT = 95  # D8 / PROTO: donor ≥ 95 % is complete (ENGR: > 95 %)

ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
CGVHD_ORGANS = ("skin", "mouth", "eyes", "gi", "liver", "lungs", "joints", "genital")

_CENT = Decimal("0.01")


def _decimal(value: Decimal | int | float | str) -> Decimal:
    """A Decimal without binary-float noise (0.1 stays 0.1)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number here")
    return value if isinstance(value, Decimal) else Decimal(str(value))


def day_relative(day: date, day0: date) -> int:
    """Days after the graft infusion: day 0 is the infusion day, day -1 the day before (§11.3)."""
    return (day - day0).days


# ---- Engraftment (CLINICAL-RULES 11.1, D7) ---------------------------------------------------------------
@dataclass(frozen=True)
class DayCount:
    """One day's blood counts after transplant (CRF "Blood counts")."""

    day: int  # relative to transplant (day_relative)
    anc_per_ul: int | None
    platelets_10e9_l: Decimal | int | None
    platelet_transfusion: bool | None  # None = not answered


@dataclass(frozen=True)
class Engraftment:
    neutrophil_day: int | None  # first of 3 consecutive calendar days ANC > 500, after the nadir
    platelet_day: int | None  # first of 7 consecutive days > 20 ×10⁹/L, transfusion-free then and 7 days before
    nadir_day: int | None  # first day >= 0 with ANC < 500
    primary_graft_failure: bool | None  # None = cannot be decided yet
    missing_days: tuple[int, ...]  # days from the first to the last recorded day (and from 0) with no count row
    last_day: int | None  # last recorded day


def _by_day(counts: Iterable[DayCount]) -> dict[int, DayCount]:
    """The counts keyed by day, in day order; a day given twice is an error (the caller must pick one)."""
    by_day: dict[int, DayCount] = {}
    for count in sorted(counts, key=lambda c: c.day):
        if count.day in by_day:
            raise ValueError(f"blood counts entered twice for day {count.day}")
        by_day[count.day] = count
    return by_day


def _anc_engrafted(count: DayCount | None) -> bool:
    """D7: a day counts towards neutrophil engraftment with a known ANC strictly above 500/µL."""
    return count is not None and count.anc_per_ul is not None and count.anc_per_ul > NEUTROPHIL_THRESHOLD_PER_UL


def _platelets_engrafted(count: DayCount | None) -> bool:
    """D7: a run day has a known count > 20 ×10⁹/L and a platelet transfusion answered "no"."""
    return (count is not None and count.platelets_10e9_l is not None
            and _decimal(count.platelets_10e9_l) > PLATELET_THRESHOLD_10E9_L
            and count.platelet_transfusion is False)


def _transfusion_free(count: DayCount | None, day: int) -> bool:
    """D7 look-back day: a recorded day whose platelet transfusion is answered "no". Days before day 0 are not
    recorded (transfusions during conditioning are the rule), so they cannot be confirmed: the earliest platelet
    engraftment is day +7, whatever the count on day 0."""
    if day < 0:
        return False
    return count is not None and count.platelet_transfusion is False


def _nadir(by_day: Mapping[int, DayCount]) -> int | None:
    """D7 / §11.1: the first day ≥ 0 with a known ANC < 500/µL (a child may enter day 0 above 500)."""
    for day, count in by_day.items():
        if day >= 0 and count.anc_per_ul is not None and count.anc_per_ul < NEUTROPHIL_THRESHOLD_PER_UL:
            return day
    return None


def _neutrophil_run(by_day: Mapping[int, DayCount], nadir: int | None, last: int) -> tuple[int | None, int | None]:
    """D7: (engraftment day, start of the unfinished run that reaches the last recorded day).

    After the nadir, the first of 3 consecutive calendar days each with ANC > 500; a day with no row or no ANC
    breaks the run.
    """
    if nadir is None:
        return None, None
    start = None
    for day in range(nadir + 1, last + 1):
        if not _anc_engrafted(by_day.get(day)):
            start = None
            continue
        if start is None:
            start = day
        if day - start + 1 == NEUTROPHIL_RUN_DAYS:
            return start, None
    return None, start


def _platelet_day(by_day: Mapping[int, DayCount], last: int) -> int | None:
    """D7: the first of 7 consecutive days ≥ 0 with platelets > 20 ×10⁹/L and no transfusion, the 7 days before
    it transfusion-free too."""
    start = None
    for day in range(0, last + 1):
        if not _platelets_engrafted(by_day.get(day)):
            start = None
            continue
        if start is None:
            lookback = range(day - PLATELET_TRANSFUSION_FREE_DAYS_BEFORE, day)
            if not all(_transfusion_free(by_day.get(d), d) for d in lookback):
                continue  # this day cannot start a run; the next one may
            start = day
        if day - start + 1 == PLATELET_RUN_DAYS:
            return start
    return None


def _primary_graft_failure(neutrophil_day: int | None, open_run_start: int | None, last: int | None) -> bool | None:
    """D7 / ENGR: no neutrophil engraftment by day +30.

    False when engrafted by day 30; True when engrafted later, or when the counts reach day 30 without
    engraftment; None before that. A run still open at the last recorded day that began by day 30 may yet make
    engraftment day ≤ 30, so the answer waits for the next counts (None) rather than flip later.
    """
    if neutrophil_day is not None:
        return neutrophil_day > GRAFT_FAILURE_DAY
    if last is None or last < GRAFT_FAILURE_DAY:
        return None
    if open_run_start is not None and open_run_start <= GRAFT_FAILURE_DAY:
        return None
    return True


def engraftment(counts: Iterable[DayCount]) -> Engraftment:
    """ENGR-1, D7 (strict protocol reading): neutrophil, platelet engraftment and primary graft failure.

    Only days ≥ 0 count. Input order does not matter; a duplicated day raises ValueError. `missing_days` lists
    the days with no count row from day 0 (or the first recorded day if earlier) to the last recorded day.
    """
    by_day = _by_day(counts)
    if not by_day:
        return Engraftment(None, None, None, None, (), None)
    first, last = min(by_day), max(by_day)
    missing = tuple(day for day in range(min(first, 0), last + 1) if day not in by_day)
    nadir = _nadir(by_day)
    neutrophil_day, open_run = _neutrophil_run(by_day, nadir, last)
    return Engraftment(
        neutrophil_day=neutrophil_day,
        platelet_day=_platelet_day(by_day, last),
        nadir_day=nadir,
        primary_graft_failure=_primary_graft_failure(neutrophil_day, open_run, last),
        missing_days=missing,
        last_day=last,
    )


def platelets_look_per_ul(value: Decimal | int | float | str | None) -> bool:
    """Plausibility: a platelet count above 2000 ×10⁹/L was almost surely typed per µL (231000 for 231)."""
    return value is not None and _decimal(value) > PLATELETS_MAX_10E9_L


# ---- Acute GVHD organ staging: MAGIC (CLINICAL-RULES 4.1, D13) -----------------------------------------
def bilirubin_mg_dl(value: Decimal, unit: str) -> Decimal:
    """§4.1 units: total bilirubin in mg/dL from "mg_dl" or "umol_l" (1 mg/dL = 17.1 µmol/L), not rounded."""
    value = _decimal(value)
    if value < 0:
        raise ValueError("bilirubin cannot be negative")
    if unit == "mg_dl":
        return value
    if unit == "umol_l":
        return value / BILIRUBIN_UMOL_PER_MG_DL
    raise ValueError(f"unknown bilirubin unit {unit!r} (mg_dl or umol_l)")


def liver_stage(bilirubin_mg_dl: Decimal | None) -> int | None:
    """MAGIC liver: < 2 → 0; 2–3 → 1; > 3–6 → 2; > 6–15 → 3; > 15 mg/dL → 4 (§4.1 continuous boundaries)."""
    if bilirubin_mg_dl is None:
        return None
    value = _decimal(bilirubin_mg_dl)
    if value < 0:
        raise ValueError("bilirubin cannot be negative")
    if value < 2:
        return 0
    if value <= 3:
        return 1
    if value <= 6:
        return 2
    if value <= 15:
        return 3
    return 4


def _child_volume_stage(ml_per_kg_day: Decimal) -> int:
    """MAGIC child (≤ 50 kg): < 10 → 0; 10–19.9 → 1; 20–30 → 2; > 30 mL/kg/day → 3."""
    return 0 if ml_per_kg_day < 10 else 1 if ml_per_kg_day < 20 else 2 if ml_per_kg_day <= 30 else 3


def _adult_volume_stage(ml_day: Decimal) -> int:
    """MAGIC adult (> 50 kg): < 500 → 0; 500–999 → 1; 1000–1500 → 2; > 1500 mL/day → 3."""
    return 0 if ml_day < 500 else 1 if ml_day < 1000 else 2 if ml_day <= 1500 else 3


def _child_episodes_stage(episodes: int) -> int:
    """MAGIC child: < 4 → 0; 4–6 → 1; 7–10 → 2; > 10 episodes/day → 3."""
    return 0 if episodes < 4 else 1 if episodes <= 6 else 2 if episodes <= 10 else 3


def _adult_episodes_stage(episodes: int) -> int:
    """MAGIC adult: < 3 → 0; 3–4 → 1; 5–7 → 2; > 7 episodes/day → 3."""
    return 0 if episodes < 3 else 1 if episodes <= 4 else 2 if episodes <= 7 else 3


def lower_gi_stage(*, weight_kg: Decimal | None, stool_ml_day: Decimal | int | None = None,
                   stool_episodes_day: int | None = None, severe_pain_or_bloody: bool = False) -> int | None:
    """MAGIC lower GI (§4.1): severe pain or grossly bloody stool → 4; else volume (D13: volume beats episodes),
    per kg up to 50 kg; None when not assessed, or when the weight needed to pick the criteria is unknown."""
    if severe_pain_or_bloody:
        return 4
    if stool_ml_day is None and stool_episodes_day is None:
        return None
    if weight_kg is None:
        return None
    weight = _decimal(weight_kg)
    if weight <= 0:
        raise ValueError("the weight must be positive")
    child = weight <= CHILD_MAX_WEIGHT_KG
    if stool_ml_day is not None:
        volume = _decimal(stool_ml_day)
        if volume < 0:
            raise ValueError("stool volume cannot be negative")
        return _child_volume_stage(volume / weight) if child else _adult_volume_stage(volume)
    episodes = int(stool_episodes_day or 0)  # not None here: one of the two is given
    if episodes < 0:
        raise ValueError("stool episodes cannot be negative")
    return _child_episodes_stage(episodes) if child else _adult_episodes_stage(episodes)


# ---- Acute GVHD overall grade: MAGIC (CLINICAL-RULES 4.2) ----------------------------------------------
_STAGE_RANGE = {"skin": 4, "liver": 4, "upper_gi": 1, "lower_gi": 4}


def magic_grade(skin: int, liver: int, upper_gi: int, lower_gi: int) -> int:
    """AGVHD-1, MAGIC §4.2: any stage 4 → IV; liver or lower GI 2–3 → III; skin 3 or any other 1 → II;
    skin 1–2 → I; else 0."""
    for name, stage in (("skin", skin), ("liver", liver), ("upper_gi", upper_gi), ("lower_gi", lower_gi)):
        if isinstance(stage, bool) or not 0 <= stage <= _STAGE_RANGE[name]:
            raise ValueError(f"{name} stage is 0 to {_STAGE_RANGE[name]}, not {stage!r}")
    if 4 in (skin, liver, lower_gi):
        return 4
    if liver in (2, 3) or lower_gi in (2, 3):
        return 3
    if skin == 3 or 1 in (liver, upper_gi, lower_gi):
        return 2
    if skin in (1, 2):
        return 1
    return 0


@dataclass(frozen=True)
class AcuteGvhdPoint:
    """One acute GVHD assessment: the organ stages and the overall grade given to them."""

    assessed_on: date
    skin: int
    liver: int
    upper_gi: int
    lower_gi: int
    grade: int


def acute_gvhd_point(assessed_on: date, *, skin: int, liver: int, upper_gi: int, lower_gi: int) -> AcuteGvhdPoint:
    """An assessment with its grade derived by magic_grade (§4.2)."""
    return AcuteGvhdPoint(assessed_on, skin, liver, upper_gi, lower_gi, magic_grade(skin, liver, upper_gi, lower_gi))


@dataclass(frozen=True)
class AcuteGvhdSummary:
    max_grade: int | None  # None when no assessment
    onset: date | None  # first assessment graded >= I (1)
    max_skin: int | None
    max_liver: int | None
    max_upper_gi: int | None
    max_lower_gi: int | None
    grade_2_to_4: bool | None
    grade_3_to_4: bool | None
    max_grade_by_day_100: int | None  # needs day0: only assessments with day_relative <= 100


GVHD_LANDMARK_DAY = 100  # §4.2: maximum grade by day +100


def acute_gvhd_summary(points: Iterable[AcuteGvhdPoint], day0: date | None = None) -> AcuteGvhdSummary:
    """§4.2 per patient: onset (first grade ≥ I), maximum grade and organ stages, II–IV / III–IV flags, maximum
    grade by day +100 (when day 0 is known)."""
    ordered = sorted(points, key=lambda p: p.assessed_on)
    if not ordered:
        return AcuteGvhdSummary(None, None, None, None, None, None, None, None, None)
    max_grade = max(p.grade for p in ordered)
    early = [] if day0 is None else [p.grade for p in ordered
                                     if day_relative(p.assessed_on, day0) <= GVHD_LANDMARK_DAY]
    return AcuteGvhdSummary(
        max_grade=max_grade,
        onset=next((p.assessed_on for p in ordered if p.grade >= 1), None),
        max_skin=max(p.skin for p in ordered),
        max_liver=max(p.liver for p in ordered),
        max_upper_gi=max(p.upper_gi for p in ordered),
        max_lower_gi=max(p.lower_gi for p in ordered),
        grade_2_to_4=max_grade >= 2,
        grade_3_to_4=max_grade >= 3,
        max_grade_by_day_100=max(early) if early else None,
    )


# ---- Chronic GVHD: NIH 2014 global severity (CLINICAL-RULES 4.3) ----------------------------------------
class ChronicSeverity(StrEnum):
    NONE = "none"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


SEVERITY_ORDER = {ChronicSeverity.NONE: 0, ChronicSeverity.MILD: 1, ChronicSeverity.MODERATE: 2,
                  ChronicSeverity.SEVERE: 3}


def nih_global_severity(scores: Mapping[str, int | None]) -> ChronicSeverity | None:
    """CGVHD-1, NIH14 §4.3: any 3 or lung ≥ 2 → severe; lung 1, a non-lung 2 or ≥ 3 organs involved → moderate;
    1–2 organs scoring 1 → mild; else none. None until all 8 organs are scored."""
    unknown = set(scores) - set(CGVHD_ORGANS)
    if unknown:
        raise ValueError(f"unknown chronic GVHD organ(s): {', '.join(sorted(unknown))}")
    for organ, score in scores.items():
        if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 3):
            raise ValueError(f"{organ} scores 0 to 3, not {score!r}")
    values: dict[str, int] = {}
    for organ in CGVHD_ORGANS:
        score = scores.get(organ)
        if score is None:
            return None  # not all 8 organs scored yet
        values[organ] = score
    lung = values["lungs"]
    others = [v for organ, v in values.items() if organ != "lungs"]
    involved = sum(v >= 1 for v in values.values())
    if max(values.values()) == 3 or lung >= 2:
        return ChronicSeverity.SEVERE
    if lung == 1 or 2 in others or involved >= 3:
        return ChronicSeverity.MODERATE
    if involved in (1, 2):
        return ChronicSeverity.MILD
    return ChronicSeverity.NONE


@dataclass(frozen=True)
class ChronicGvhdSummary:
    worst: ChronicSeverity | None
    onset: date | None  # first assessment with severity other than none


def chronic_gvhd_summary(points: Iterable[tuple[date, ChronicSeverity | None]]) -> ChronicGvhdSummary:
    """§4.3 per patient: worst global severity and onset (first assessment mild or worse); unscored ones skipped."""
    known = [(day, ChronicSeverity(s)) for day, s in sorted(points, key=lambda p: p[0]) if s is not None]
    if not known:
        return ChronicGvhdSummary(None, None)
    worst = max((s for _, s in known), key=SEVERITY_ORDER.__getitem__)
    onset = next((day for day, s in known if s is not ChronicSeverity.NONE), None)
    return ChronicGvhdSummary(worst, onset)


# ---- Chimerism (CLINICAL-RULES 11.2, D8) ---------------------------------------------------------------
class ChimerismStatus(StrEnum):
    COMPLETE = "complete"
    MIXED = "mixed"


def chimerism_status(*fractions: Decimal | int | None) -> ChimerismStatus | None:
    """CHIM-1, D8: complete when every measured donor fraction (whole blood, CD3+, ...) is ≥ 95 %; else mixed;
    None when nothing was measured."""
    measured = [_decimal(f) for f in fractions if f is not None]
    if not measured:
        return None
    for value in measured:
        if not 0 <= value <= 100:
            raise ValueError(f"a donor fraction is 0 to 100 %, not {value}")
    return ChimerismStatus.COMPLETE if all(v >= COMPLETE_CHIMERISM_PCT for v in measured) else ChimerismStatus.MIXED


def lost_complete_chimerism(previous: ChimerismStatus | None, current: ChimerismStatus | None) -> bool:
    """D8: flag the loss of complete chimerism between timepoints (complete → mixed only)."""
    return previous == ChimerismStatus.COMPLETE and current == ChimerismStatus.MIXED


# ---- Graft ---------------------------------------------------------------------------------------------
def dose_per_kg(total: Decimal, weight_kg: Decimal) -> Decimal:
    """Graft cell dose per kg of recipient weight, same unit scale as the total (CD34+ ×10⁶ → ×10⁶/kg),
    2 decimals, half up."""
    weight = _decimal(weight_kg)
    if weight <= 0:
        raise ValueError("the recipient weight must be positive")
    amount = _decimal(total)
    if amount < 0:
        raise ValueError("a cell dose cannot be negative")
    return (amount / weight).quantize(_CENT, rounding=ROUND_HALF_UP)
