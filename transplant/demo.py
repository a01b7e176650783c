"""Demo transplant and follow-up data: what happened to the demo patients after blinatumomab.

Like the paper's cohort (PROTO "Hematopoietic stem cell transplantation outcomes"): the patients whose treatment
ended in complete remission are transplanted, mostly from haploidentical relatives and three from HLA-identical
siblings, and one in partial remission (MRD at the 0.01 % threshold) under a recorded protocol deviation. Day 0
comes 4 to 7 weeks after the latest response, so every date is relative to today like the rest of the demo.

Each transplanted patient has a story (STORIES, given in order of day 0, oldest first): daily counts from day 0 to
+30 that engraft (neutrophils day +13 to +19, platelets later, after transfusions), or do not (one primary graft
failure); weekly acute GVHD (one patient reaching grade III with liver and gut, a few grade I–II skin); chronic GVHD
from day +100 (one severe, fatal: death from GVHD, then off-study); chimerism and immune reconstitution at the
timepoints reached (one loss of complete chimerism, then a DLI); CMV and EBV loads (one CMV reactivation treated
pre-emptively, one EBV reactivation, BK in a haemorrhagic cystitis); a few infections; one relapse after
transplant (monitoring stops, follow-up goes on); follow-up every 3 months. The forms the schedule expects
(trial.visits) are filled near their targets up to today, so nothing is overdue except on purpose: the patient
transplanted about 5 years ago has two follow-up visits recorded as not done and the 60-month one overdue.

The treated patients who were not transplanted (no remission) are followed from enrollment until they die of
progressive disease, as in the paper (none of them survived). Everything goes through the one save path, so the
demo has a real audit trail.
"""

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from patients.models import Baseline, Death, FollowUp, OffStudy
from transplant.models import (
    AcuteGvhd,
    Chimerism,
    ChronicGvhd,
    Donor,
    DonorLymphocyteInfusion,
    Graft,
    ImmuneReconstitution,
    Infection,
    PostTransplantRelapse,
    TransplantProcedure,
    ViralLoad,
)
from transplant.rules import CGVHD_ORGANS, CHILD_MAX_WEIGHT_KG
from transplant.schedule import COUNT_DAYS
from transplant.series import CountEntry, save_counts
from treatment.models import BlinatumomabCycle, ResponseAssessment
from trial.crf import one_rederivation, save_crf
from trial.demo import demo_step
from trial.models import MissedVisit
from trial.reads import shared_reads
from trial.visits import expected_visits, latest_recorded_date

FOLLOW_UP = "patients.FollowUp"
HAPLO_MOTHER = {"donor_type": "haplo", "relationship": "mother", "donor_sex": "F", "hla_match": 5}
HAPLO_FATHER = {"donor_type": "haplo", "relationship": "father", "donor_sex": "M", "hla_match": 5}
HAPLO_SISTER = {"donor_type": "haplo", "relationship": "sibling", "donor_sex": "F", "hla_match": 5}
MATCHED_BROTHER = {"donor_type": "mrd", "relationship": "sibling", "donor_sex": "M", "hla_match": 10}
MATCHED_SISTER = {"donor_type": "mrd", "relationship": "sibling", "donor_sex": "F", "hla_match": 10}

# Acute GVHD weeks as MAGIC stages (skin, bilirubin in mg/dL if the liver is involved, upper GI, lower GI):
# stages are what the site sees; the form gets the findings that give them (stool volume per kg below).
GRADE_I_SKIN = (1, None, 0, 0)
# Chronic GVHD assessments as NIH organ scores; unnamed organs score 0.
MILD_MOUTH = {"mouth": 1}

# One story per transplanted patient, oldest day 0 first. gap: days from the latest response to day 0;
# neutrophils / platelets: engraftment days (None: not by day +30); agvhd: {week: stages}; cgvhd: {visit: scores},
# cgvhd_extra: [(day, scores)] unscheduled; chimerism: {month: (whole blood %, CD3 %)} (default complete);
# viral: {visit: [(virus, specimen, load or None, pre-emptive)]} replacing that visit's usual CMV/EBV;
# infections: [(onset day, days to resolve or None, data)]; dli: (day, why); relapse: (day, data); death: (day,
# cause, details); missed: {follow-up visit: reason}; overdue: follow-up visits left unrecorded; notes: {follow-up
# visit: comment}.
STORIES = [
    {"name": "five years in remission after a transplant in PR", "donor": HAPLO_MOTHER, "gap": 35,
     "neutrophils": 15, "platelets": 19, "cgvhd": {"CGD100": MILD_MOUTH, "CGM6": {"mouth": 1, "eyes": 1}},
     "viral": {"VL12": [("cmv", "blood", None, "N"), ("ebv", "blood", 650, "N")]},
     "missed": {"FU09": "The family could not travel to the clinic (road closures in their state) and could not be "
                        "reached by telephone within the window; seen at the next visit.",
                "FU14": "Visit not held: the outpatient transplant clinic was closed for the national holiday "
                        "period; status confirmed at the next visit."},
     "overdue": {"FU20"},
     "notes": {"FU01": "Tacrolimus tapering; good oral intake.", "FU04": "Immunosuppression stopped; "
               "re-vaccination schedule started.", "FU08": "Back at school full time."}},
    {"name": "death from chronic GVHD", "donor": HAPLO_FATHER, "gap": 30, "neutrophils": 14, "platelets": 18,
     "agvhd": {4: (2, None, 1, 0), 5: GRADE_I_SKIN},
     "cgvhd": {"CGD100": MILD_MOUTH, "CGM6": {"skin": 2, "mouth": 2, "eyes": 1},
               "CGM12": {"skin": 3, "mouth": 2, "eyes": 2, "lungs": 2, "joints": 2}},
     "cgvhd_extra": [(430, {"skin": 3, "mouth": 2, "eyes": 2, "gi": 2, "lungs": 3, "joints": 2})],
     "infections": [(438, None, {"pathogen_type": "fungal", "pathogen": "Aspergillus fumigatus",
                                 "syndrome": "pneumonia", "syndrome_detail": "Probable invasive aspergillosis "
                                 "(galactomannan positive) on high-dose steroids"})],
     "death": (452, "gvhd", "Respiratory failure from bronchiolitis obliterans (severe chronic GVHD of the "
                            "lungs), with probable invasive pulmonary aspergillosis."),
     "notes": {"FU02": "Chronic GVHD of skin and mouth; on prednisone and ruxolitinib.",
               "FU04": "Severe chronic GVHD with lung involvement (FEV1 38 %); home oxygen."}},
    {"name": "acute GVHD grade III (skin, liver, gut)", "donor": HAPLO_MOTHER, "gap": 40, "neutrophils": 16,
     "platelets": 21,
     "agvhd": {3: GRADE_I_SKIN, 4: (2, None, 1, 1), 5: (2, "3.6", 1, 2), 6: (1, "2.4", 0, 1), 7: GRADE_I_SKIN},
     "cgvhd": {"CGM6": {"skin": 1, "mouth": 1, "liver": 1}, "CGM12": MILD_MOUTH},
     "viral": {"VL07": [("cmv", "blood", 420, "N"), ("ebv", "blood", None, "N")]},
     "notes": {"FU01": "Acute GVHD resolved on methylprednisolone; steroids tapered off."}},
    {"name": "HLA-identical sibling, uneventful", "donor": MATCHED_BROTHER, "gap": 32, "neutrophils": 13,
     "platelets": 15, "cmv": ("neg", "pos")},
    {"name": "HLA-identical sibling, acute GVHD grade I", "donor": MATCHED_SISTER, "gap": 38, "neutrophils": 14,
     "platelets": 17, "agvhd": {5: GRADE_I_SKIN}},
    {"name": "relapse after transplant", "donor": HAPLO_SISTER, "gap": 36, "neutrophils": 15, "platelets": 20,
     "relapse": (268, {"relapse_site": "isolated_bm", "cd19_status": "positive",
                       "therapy": "Blinatumomab re-treatment outside the study, then inotuzumab ozogamicin; second "
                                  "remission, referred for a second transplant."}),
     "notes": {"FU03": "Bone-marrow relapse at day +268 (CD19+); on salvage therapy."}},
    {"name": "acute GVHD grade II (skin)", "donor": HAPLO_FATHER, "gap": 41, "neutrophils": 17, "platelets": 22,
     "agvhd": {2: (3, None, 0, 0), 3: (2, None, 0, 0), 4: GRADE_I_SKIN}, "cgvhd": {"CGD100": {"skin": 1}}},
    {"name": "TBI shortened (conditioning deviation)", "donor": {**HAPLO_MOTHER, "hla_match": 6}, "gap": 33,
     "neutrophils": 15, "platelets": 19, "agvhd": {6: GRADE_I_SKIN},
     "conditioning": {"tbi_days": 2, "conditioning_per_protocol": "N",
                      "conditioning_deviation": "TBI of day −5 not given: the linear accelerator was out of service. "
                                                "Cyclophosphamide and etoposide given as planned."}},
    {"name": "HLA-identical sibling, bone-marrow graft", "donor": MATCHED_SISTER, "gap": 45, "neutrophils": 19,
     "platelets": 24, "marrow": True},
    {"name": "EBV reactivation treated pre-emptively", "donor": HAPLO_MOTHER, "gap": 37, "neutrophils": 14,
     "platelets": 18,
     "viral": {"VL08": [("cmv", "blood", None, "N"), ("ebv", "blood", 2400, "N")],
               "VL09": [("cmv", "blood", None, "N"), ("ebv", "blood", 14500, "Y")],
               "VL10": [("cmv", "blood", None, "N"), ("ebv", "blood", 3100, "N")],
               "VL11": [("cmv", "blood", None, "N"), ("ebv", "blood", None, "N")]}},
    {"name": "primary graft failure, autologous recovery", "donor": HAPLO_FATHER, "gap": 34, "neutrophils": None,
     "platelets": None,
     "chimerism": {3: ("6.0", "11.0"), 6: ("3.0", "7.5"), 12: ("1.5", "4.0"), 18: ("1.0", "3.0")},
     "infections": [(12, 12, {"pathogen_type": "bacterial", "pathogen": "Klebsiella pneumoniae (ESBL)",
                              "syndrome": "bloodstream"})],
     "notes": {"FU01": "Primary graft failure; autologous recovery of the counts from day +41 (donor chimerism "
                       "6 %). In remission; a second transplant was discussed and not planned."}},
    {"name": "loss of complete chimerism, then DLI", "donor": HAPLO_MOTHER, "gap": 39, "neutrophils": 15,
     "platelets": 20, "chimerism": {3: ("98.0", "96.5"), 6: ("88.0", "79.5"), 12: ("97.5", "95.5")},
     "dli": (201, "Donor chimerism fell to 88 % (CD3+ 79.5 %) at 6 months"),
     "viral": {"VL06": [("cmv", "blood", None, "N"), ("ebv", "blood", None, "N"), ("bk", "urine", 240000000, "N"),
                        ("bk", "blood", 3200, "N")]},
     "infections": [(40, 23, {"pathogen_type": "viral", "pathogen": "BK polyomavirus", "syndrome": "urinary",
                              "syndrome_detail": "Haemorrhagic cystitis, grade 2"})],
     "notes": {"FU03": "Mixed chimerism at 6 months after BK cystitis; donor lymphocyte infusion on day +201."}},
    {"name": "slow platelet recovery", "donor": HAPLO_FATHER, "gap": 44, "neutrophils": 18, "platelets": 24},
    {"name": "CMV reactivation treated pre-emptively", "donor": HAPLO_MOTHER, "gap": 38, "neutrophils": 14,
     "platelets": 19, "agvhd": {3: GRADE_I_SKIN, 4: GRADE_I_SKIN},
     "viral": {"VL05": [("cmv", "blood", 1850, "N")],
               "VL06": [("cmv", "blood", 6400, "Y"), ("ebv", "blood", None, "N")],
               "VL07": [("cmv", "blood", 2100, "N")],
               "VL08": [("cmv", "blood", 350, "N"), ("ebv", "blood", None, "N")],
               "VL09": [("cmv", "blood", None, "N")]}},
]
# Treated patients who were not transplanted: days from the latest response to death from progression.
NOT_TRANSPLANTED_DEATH_DAYS = {"NR": (60, 150), "PR": (200, 300)}


def _save(model, patient, user, data):
    return save_crf(model(patient=patient), user=user, data=data, complete=True)


def _latest_response(patient) -> ResponseAssessment | None:
    return ResponseAssessment.objects.filter(patient=patient).order_by("assessment_date", "pk").last()


def _mrd(response: ResponseAssessment) -> Decimal:
    return response.mrd_pct if response.mrd_pct is not None else Decimal(0)


def _candidates(patients: list) -> list:
    """The patients transplanted in the demo, oldest latest response first: those whose treatment ended in CR,
    and the one in PR with the lowest MRD (transplanted under a recorded protocol deviation)."""
    treated = [p for p in patients if BlinatumomabCycle.objects.filter(patient=p).exists()]
    latest = {p.pk: _latest_response(p) for p in treated}
    chosen = [p for p in treated if latest[p.pk] is not None and latest[p.pk].response == "CR"]
    partial = sorted((p for p in treated if latest[p.pk] is not None and latest[p.pk].response == "PR"),
                     key=lambda p: _mrd(latest[p.pk]))
    chosen += partial[:1]
    return sorted(chosen, key=lambda p: (latest[p.pk].assessment_date, p.subject_id))


# ---- What the site records -----------------------------------------------------------------------------------
def _donor(patient, user, story: dict, day0: date, rng: random.Random) -> None:
    age = (day0 - patient.registration.date_of_birth).days // 365
    donor = story["donor"]
    donor_age = age + rng.randint(22, 36) if donor["relationship"] in ("mother", "father") \
        else max(3, age + rng.randint(-6, 8))
    donor_cmv, recipient_cmv = story.get("cmv", ("pos", "pos"))
    _save(Donor, patient, user, {**donor, "donor_age_years": donor_age,
                                 "donor_abo": rng.choice("OOOOAAB"), "recipient_abo": rng.choice("OOOAAB"),
                                 "donor_cmv": donor_cmv, "recipient_cmv": recipient_cmv})


def _graft(patient, user, story: dict, day0: date, weight: Decimal, rng: random.Random) -> None:
    if story.get("marrow"):  # harvested on day 0; the laboratory reports the doses per kg
        _save(Graft, patient, user, {
            "graft_source": "bm", "collection_date": day0, "recipient_weight_kg": weight, "dose_basis": "per_kg",
            "cd34_reported_10e6_kg": Decimal("3.80"), "cd3_reported_10e8_kg": Decimal("0.35"),
            "cd19_10e6_kg": Decimal("42.00"), "cd45_viability_pct": Decimal("97.5")})
        return
    cd34, cd3 = Decimal(f"{rng.uniform(4.5, 8.5):.2f}"), Decimal(f"{rng.uniform(2.0, 4.5):.2f}")
    _save(Graft, patient, user, {  # PROTO: G-CSF 10 µg/kg/day for 4 days, apheresis (COBE Spectra) on day 5 = day 0
        "graft_source": "pbsc", "gcsf_dose_ug_kg_day": Decimal("10.0"), "gcsf_days": 4, "collection_date": day0,
        "apheresis_device": "COBE Spectra 7.0", "recipient_weight_kg": weight, "dose_basis": "totals",
        "cd34_total_10e6": (cd34 * weight).quantize(Decimal("0.01")),
        "cd3_total_10e8": (cd3 * weight).quantize(Decimal("0.01")),
        "cd19_10e6_kg": Decimal(f"{rng.uniform(80, 200):.2f}"),
        "cd45_viability_pct": Decimal(f"{rng.uniform(94, 99):.1f}")})


def _procedure(patient, user, story: dict, day0: date, latest: ResponseAssessment) -> None:
    in_cr = latest.response == "CR"
    reason = "" if in_cr else (
        f"MRD {latest.mrd_pct} % after cycle {latest.cycle_number} (marrow blasts {latest.marrow_blasts_pct} %): at "
        "the CR threshold, with the haploidentical donor ready. The transplant committee and the principal "
        "investigator decided not to delay the transplant for another cycle.")
    _save(TransplantProcedure, patient, user, {  # PROTO conditioning and PTCy-based prophylaxis
        "transplant_date": day0, "tbi_cgy_day": 200, "tbi_days": 3, "cyclophosphamide_mg_kg_day": Decimal("60.0"),
        "cyclophosphamide_days": 2, "etoposide_mg_m2": 1200, "conditioning_per_protocol": "Y",
        "ptcy_mg_kg_day": Decimal("60.0"), "ptcy_days": 2, "tacrolimus_start": day0 + timedelta(days=5),
        "mycophenolate_start": day0 + timedelta(days=5), "prophylaxis_per_protocol": "Y",
        "non_cr_deviation": "N" if in_cr else "Y", "non_cr_deviation_reason": reason,
        **story.get("conditioning", {})})


def count_rows(neutrophil_day: int | None, platelet_day: int | None, rng: random.Random) -> list[dict]:
    """Days 0 to +30: aplasia after conditioning, then ANC > 500/µL from `neutrophil_day` and platelets > 20 ×10⁹/L
    without transfusion from `platelet_day` (the last platelet transfusion 8 to 10 days before, D7); with no
    neutrophil day, a graft that fails (ANC above 500 on two days only, around day +22)."""
    last_transfusion = platelet_day - rng.randint(8, 10) if platelet_day else COUNT_DAYS
    transfused, day = set(), 3
    while day <= last_transfusion:
        transfused.add(day)
        day += rng.choice((2, 3, 3))
    transfused.add(last_transfusion)
    red_cells = {rng.randint(3, 6), rng.randint(9, 13)} if neutrophil_day else set(range(4, COUNT_DAYS, 6))
    rows, since = [], 0
    for day in range(COUNT_DAYS + 1):
        if neutrophil_day is None:
            anc = {22: 540, 23: 610}.get(day, rng.randint(0, 150) if day else rng.randint(300, 800))
        elif day == 0:
            anc = rng.randint(300, 900)
        elif day < neutrophil_day - 3:
            anc = rng.choice((0, 0, 10, 20, 40, 60, 90))
        elif day < neutrophil_day:
            anc = rng.randint(100, 450)
        else:
            anc = min(6000, 600 + (day - neutrophil_day) * rng.randint(150, 350))
        since = 0 if day in transfused else since + 1
        if day in transfused:
            platelets = rng.randint(7, 18)
        elif day < 3:
            platelets = (46, 33, 24)[day] + rng.randint(-2, 2)
        elif platelet_day is not None and day >= platelet_day:
            platelets = 22 + (day - platelet_day) * rng.randint(5, 11)
        elif day <= last_transfusion + 7:
            platelets = max(12, 40 - 8 * since + rng.randint(-3, 3))
        else:
            platelets = rng.randint(13, 19)
        rows.append({"anc_per_ul": anc, "platelets_10e9_l": platelets,
                     "platelet_transfusion": "Y" if day in transfused else "N",
                     "red_cell_transfusion": "Y" if day in red_cells else "N"})
    return rows


def _stool_ml_day(stage: int, weight: Decimal) -> int:
    """A stool volume that gives the MAGIC lower-GI stage: per kg up to 50 kg, in mL/day above."""
    if weight <= CHILD_MAX_WEIGHT_KG:
        return int(weight * {1: 15, 2: 25, 3: 35}[stage])
    return {1: 700, 2: 1200, 3: 1800}[stage]


def _acute_gvhd(on: date, weight: Decimal, stages: tuple, rng: random.Random) -> dict:
    skin, bilirubin, upper_gi, lower_gi = stages
    data = {"assessment_date": on, "weight_kg": weight, "skin_stage": skin,
            "bilirubin": Decimal(bilirubin) if bilirubin else Decimal(f"{rng.uniform(0.3, 0.9):.2f}"),
            "bilirubin_unit": "mg_dl", "liver_gvhd": "Y" if bilirubin else "N", "upper_gi_stage": upper_gi,
            "severe_abdominal_pain_or_bloody_stool": "N", "lower_gi_gvhd": "Y" if lower_gi else "N"}
    if lower_gi:
        data["stool_ml_day"] = _stool_ml_day(lower_gi, weight)
    return data


def _chronic_gvhd(on: date, scores: dict) -> dict:
    return {"assessment_date": on, **{f"{organ}_score": scores.get(organ, 0) for organ in CGVHD_ORGANS}}


IMMUNE = {3: (250, 450), 6: (500, 800), 12: (900, 1400), 18: (1200, 1800)}  # CD3+/µL at each timepoint


def _immune(month: int, on: date, rng: random.Random) -> dict:
    cd3 = rng.randint(*IMMUNE[month])
    cd4 = int(cd3 * rng.uniform(0.3, 0.45))
    return {"timepoint_months": month, "sample_date": on, "cd3_per_ul": cd3, "cd4_per_ul": cd4,
            "cd8_per_ul": int(cd3 * rng.uniform(0.45, 0.6)),
            "cd19_per_ul": {3: rng.randint(5, 40), 6: rng.randint(60, 160), 12: rng.randint(300, 600),
                            18: rng.randint(450, 800)}[month],
            "cd16_56_per_ul": rng.randint(200, 400)}


def _viral_load(on: date, virus: str, specimen: str, load: int | None, preemptive: str) -> dict:
    result = {"result": "detected", "load": load, "load_unit": "copies_ml"} if load else {"result": "not_detected"}
    return {"sample_date": on, "virus": virus, "specimen": specimen, "preemptive_treatment": preemptive, **result}


def _on(visit, rng: random.Random, until: date) -> date | None:
    """A day near the visit's target inside its window, never after `until`; None when the target is later."""
    if visit.target > until:
        return None
    day = visit.target + timedelta(days=rng.choice((-1, 0, 0, 0, 1, 2)))
    return max(visit.window_start, min(day, visit.window_end, until))


# ---- One transplanted patient ---------------------------------------------------------------------------------
def transplant_demo_patient(patient, user, story: dict, rng: random.Random) -> None:
    latest = _latest_response(patient)
    day0 = latest.assessment_date + timedelta(days=story["gap"])
    weight = (Baseline.objects.get(patient=patient).weight_kg + Decimal("0.5")).quantize(Decimal("0.1"))
    today = timezone.localdate()

    def day(n: int) -> date:
        return day0 + timedelta(days=n)

    death = day(story["death"][0]) if "death" in story else None
    relapse = day(story["relapse"][0]) if "relapse" in story else None
    # Follow-up goes on to death; the transplant monitoring stops at a relapse too (D14).
    follow_until = min(today, death - timedelta(days=1)) if death else today
    monitor_until = min(follow_until, relapse - timedelta(days=1)) if relapse else follow_until

    _donor(patient, user, story, day0, rng)
    _graft(patient, user, story, day0, weight, rng)
    _procedure(patient, user, story, day0, latest)
    # The transplant's engraftment and GVHD summaries are derived once, at the end; the patient-level reads that the
    # forms' checks share (day 0, the series) are read once and again only after a write to them (trial.reads).
    with one_rederivation(), shared_reads():
        save_counts(patient, [CountEntry(day(n), row) for n, row in enumerate(
            count_rows(story["neutrophils"], story["platelets"], rng))], user=user)

        visits = defaultdict(list)
        for expected in expected_visits([patient.pk]).get(patient.pk, []):
            visits[expected.form].append(expected)

        for number, visit in enumerate(visits["transplant.AcuteGvhd"], start=1):
            if (on := _on(visit, rng, monitor_until)) is not None:
                stages = story.get("agvhd", {}).get(number, (0, None, 0, 0))
                _save(AcuteGvhd, patient, user, _acute_gvhd(on, weight, stages, rng))
        for visit in visits["transplant.ChronicGvhd"]:
            if (on := _on(visit, rng, monitor_until)) is not None:
                _save(ChronicGvhd, patient, user, _chronic_gvhd(on, story.get("cgvhd", {}).get(visit.key, {})))
        for n, scores in story.get("cgvhd_extra", []):
            _save(ChronicGvhd, patient, user, _chronic_gvhd(day(n), scores))

        for visit in visits["transplant.Chimerism"]:
            if (on := _on(visit, rng, monitor_until)) is not None:
                month = int(visit.key[1:])
                whole, cd3 = story.get("chimerism", {}).get(month) or (f"{rng.uniform(98, 100):.1f}",
                                                                        f"{rng.uniform(96, 99.5):.1f}")
                _save(Chimerism, patient, user, {"timepoint_months": month, "sample_date": on,
                                                 "whole_blood_donor_pct": Decimal(whole),
                                                 "cd3_donor_pct": Decimal(cd3)})
                _save(ImmuneReconstitution, patient, user, _immune(month, on, rng))
        if "dli" in story:
            infused, why = story["dli"]
            _save(DonorLymphocyteInfusion, patient, user, {
                "infusion_date": day(infused), "indication": "mixed_chimerism", "indication_detail": why,
                "cd3_dose_10e6_kg": Decimal("0.100")})

        for number, visit in enumerate(visits["transplant.ViralLoad"], start=1):
            if (on := _on(visit, rng, monitor_until)) is None:
                continue
            # CMV at every visit; EBV at every other one (monthly ones all), both by PCR in blood
            usual = [("cmv", "blood", 150 if rng.random() < 0.05 else None, "N")]
            if number % 2 == 0 or visit.target > day(365):
                usual.append(("ebv", "blood", None, "N"))
            for virus, specimen, load, preemptive in story.get("viral", {}).get(visit.key, usual):
                _save(ViralLoad, patient, user, _viral_load(on, virus, specimen, load, preemptive))

        for onset, lasting, data in story.get("infections", []):
            _save(Infection, patient, user, {
                "onset_date": day(onset), "resolution_date": day(onset + lasting) if lasting else None, **data})
        if relapse:
            _save(PostTransplantRelapse, patient, user, {"relapse_date": relapse, **story["relapse"][1]})

        notes = story.get("notes", {})
        for visit in visits[FOLLOW_UP]:
            if visit.key in story.get("missed", {}) or visit.key in story.get("overdue", ()):
                continue
            if (on := _on(visit, rng, follow_until)) is not None:
                _save(FollowUp, patient, user, {
                    "contact_date": on, "vital_status": "alive",
                    "disease_status": "relapsed" if relapse and on >= relapse else "ccr",
                    "comment": notes.get(visit.key, "")})
        for key, reason in story.get("missed", {}).items():
            _save(MissedVisit, patient, user, {"visit_key": key, "form": FOLLOW_UP, "not_done_reason": reason})

        if death:
            _day, cause, detail = story["death"]
            _save(Death, patient, user, {"death_date": death, "cause": cause, "cause_detail": detail,
                                         "autopsy_performed": "N"})
            _save(OffStudy, patient, user, {"off_study_date": death, "off_study_reason": "death"})


@demo_step(order=30, name="transplant")
def load_transplant(patients: list, coordinators: dict) -> int:
    """Transplant the demo patients in remission (and one in PR) that have no transplant yet; returns how many."""
    done = 0
    for index, patient in enumerate(_candidates(patients)):
        if TransplantProcedure.objects.filter(patient=patient).exists():
            continue
        rng = random.Random(7000 + index)  # noqa: S311 - the same demo data on every machine
        transplant_demo_patient(patient, coordinators[patient.site_id], STORIES[index % len(STORIES)], rng)
        done += 1
    return done


# ---- The treated patients who were not transplanted ------------------------------------------------------------
def follow_demo_patient(patient, user, latest: ResponseAssessment, days_to_death: int, rng: random.Random) -> None:
    """Follow-up from enrollment (no day 0) until death from progressive disease, then off-study."""
    recorded = latest_recorded_date(patient.pk)
    death = max(latest.assessment_date + timedelta(days=days_to_death), recorded[0] + timedelta(days=1))
    death = min(death, timezone.localdate())
    comment = (f"Not transplanted: partial response only (MRD {latest.mrd_pct} %); salvage chemotherapy at the "
               "referring hospital." if latest.response == "PR"
               else "Not transplanted: no remission after blinatumomab; palliative care.")
    with one_rederivation(), shared_reads():
        for number, visit in enumerate(v for v in expected_visits([patient.pk]).get(patient.pk, [])
                                       if v.form == FOLLOW_UP):
            if (on := _on(visit, rng, death - timedelta(days=1))) is not None:
                _save(FollowUp, patient, user, {"contact_date": on, "vital_status": "alive",
                                                "disease_status": "no_cr", "comment": comment if number == 0 else ""})
        _save(Death, patient, user, {"death_date": death, "cause": "relapse", "autopsy_performed": "N",
                                     "cause_detail": "Progressive leukaemia."})
        _save(OffStudy, patient, user, {"off_study_date": death, "off_study_reason": "death"})


@demo_step(order=35, name="followed up")
def load_follow_up(patients: list, coordinators: dict) -> int:
    """Follow the treated patients who were not transplanted until their death; returns how many were added."""
    done = 0
    transplanted = {p.pk for p in _candidates(patients)}
    for index, patient in enumerate(p for p in patients if p.pk not in transplanted
                                    and BlinatumomabCycle.objects.filter(patient=p).exists()):
        if (TransplantProcedure.objects.filter(patient=patient).exists()
                or FollowUp.objects.filter(patient=patient).exists() or Death.objects.filter(patient=patient).exists()):
            continue
        latest = _latest_response(patient)
        rng = random.Random(8000 + index)  # noqa: S311 - the same demo data on every machine
        days_to_death = rng.randint(*NOT_TRANSPLANTED_DEATH_DAYS.get(latest.response, (60, 150)))
        follow_demo_patient(patient, coordinators[patient.site_id], latest, days_to_death, rng)
        done += 1
    return done
