"""Demo treatment data for the eligible demo patients: one or two cycles, CRS, ICANS, AEs and responses.

A mix like the paper's (PROTO Tables 2 and 4): mostly CR after one or two cycles, some PR and NR; CRS of
grades 1–4 (one fever masked by tocilizumab), one ICANS with a seizure, a few adverse events (two serious),
one dose deviation with its reason, one interruption, one intrathecal therapy out of its window and one
grade the investigator rated differently (confirmed, so it shows in Data review). Saved through the one
save path, so the audit trail is real.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from patients import rules as enrollment_rules
from patients.entry import consent_of, eligibility_of
from patients.models import Baseline
from treatment import rules
from treatment.models import (
    AdverseEvent,
    BlinatumomabCycle,
    CrsAssessment,
    CtcaeTerm,
    Debulking,
    IcansAssessment,
    InfusionInterruption,
    IntrathecalTherapy,
    ResponseAssessment,
)
from trial.crf import save_crf
from trial.demo import demo_step

MEXICO = ZoneInfo("America/Mexico_City")
# Every question of a CRS day answered (nothing starts pre-answered); each grade below adds its signs.
CRS_NO_SIGNS = {"fever_other_cause": "N", "hypotension": "none", "vasopressin": "N", "oxygen_device": "none",
                "antipyretics": "N", "tocilizumab": "N", "corticosteroids": "N", "death_due_to_crs": "N"}
CRS_SIGNS = {
    0: {"max_temperature_c": Decimal("37.1")},
    1: {"max_temperature_c": Decimal("38.7"), "antipyretics": "Y"},
    2: {"max_temperature_c": Decimal("39.2"), "hypotension": "fluids", "antipyretics": "Y"},
    3: {"max_temperature_c": Decimal("39.6"), "hypotension": "vasopressors", "vasopressors": 1,
        "oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("2.0"), "tocilizumab": "Y"},
    4: {"max_temperature_c": Decimal("40.1"), "hypotension": "vasopressors", "vasopressors": 2,
        "oxygen_device": "cpap_bipap", "tocilizumab": "Y", "corticosteroids": "Y"},
    # Afebrile after tocilizumab, still needing fluids: the fever is masked, the day is grade 2 (CRS-F2).
    "masked": {"max_temperature_c": Decimal("37.4"), "hypotension": "fluids", "tocilizumab": "Y",
               "corticosteroids": "Y"},
}
RESPONSES = {
    "CR": {"marrow_blasts_pct": Decimal("0.8"), "mrd_result": "not_detected", "mrd_lod_pct": Decimal("0.0010")},
    "CR_low": {"marrow_blasts_pct": Decimal("1.2"), "mrd_result": "detected", "mrd_pct": Decimal("0.0030"),
               "mrd_lod_pct": Decimal("0.0010")},
    "PR": {"marrow_blasts_pct": Decimal("2.5"), "mrd_result": "detected", "mrd_pct": Decimal("0.8500"),
           "mrd_lod_pct": Decimal("0.0010")},
    "PR_edge": {"marrow_blasts_pct": Decimal("1.5"), "mrd_result": "detected", "mrd_pct": Decimal("0.0100"),
                "mrd_lod_pct": Decimal("0.0010")},  # exactly 0.01 %: not below it, so PR
    "NR": {"marrow_blasts_pct": Decimal("38.0"), "mrd_result": "detected", "mrd_pct": Decimal("31.0000"),
           "mrd_lod_pct": Decimal("0.0010")},
}
# One plan per treated patient, in subject-ID order: responses per cycle, CRS by infusion day, extras.
PLANS = [
    {"responses": ["CR"], "crs": {2: 1, 3: 1, 4: 0}},
    {"responses": ["PR", "CR"], "crs": {1: 2, 2: 2, 3: 1, 5: 0}, "reported": {1: 1}},
    {"responses": ["NR", "NR"], "crs": {2: 1, 3: 0}},
    {"responses": ["CR_low"], "crs": {}},
    {"responses": ["CR", "CR"], "crs": {1: 3, 2: 3, 3: 1, 4: 0}, "interruption": (2, 2, "crs")},
    {"responses": ["PR", "PR"], "crs": {1: 1, 2: 0}, "seizure_day": 4},
    {"responses": ["CR"], "crs": {1: 4, 2: 4, 3: "masked", 4: 1, 6: 0}, "interruption": (1, 4, "crs")},
    {"responses": ["NR", "PR_edge"], "crs": {}},
    {"responses": ["CR"], "crs": {2: 1, 3: 0}, "deviation": True},
    {"responses": ["CR"], "crs": {}, "late_intrathecal": True},
    {"responses": ["PR", "CR"], "crs": {3: 2, 4: 1, 5: 0}},
    {"responses": ["CR_low"], "crs": {1: 1, 2: 0}},
    {"responses": ["CR"], "crs": {}},
    {"responses": ["NR", "NR"], "crs": {2: 3, 3: 2, 4: 0}},
    {"responses": ["CR"], "crs": {1: 1, 2: 1, 3: 0}},
    {"responses": ["PR", "CR"], "crs": {}},
    {"responses": ["CR"], "crs": {2: 2, 3: 0}},
]
ADVERSE_EVENTS = {  # plan index → (CTCAE term, grade, serious criterion, day of cycle 1, days to resolve)
    0: [("Febrile neutropenia", 3, "hospitalization", 9, 5)],
    2: [("Alanine aminotransferase increased", 2, "", 6, 10)],
    5: [("Seizure", 3, "important", 4, 1)],
    6: [("Hypokalemia", 3, "", 3, 4), ("Capillary leak syndrome", 3, "life_threatening", 2, 6)],
    10: [("Infusion related reaction", 2, "", 1, 1)],
    13: [("Febrile neutropenia", 3, "hospitalization", 12, 6), ("Headache", 1, "", 3, 2)],
}


def _save(model, patient, user, data):
    return save_crf(model(patient=patient), user=user, data=data, complete=True)


def _cycle(patient, user, number: int, start, baseline: Baseline, plan: dict) -> BlinatumomabCycle:
    weight = baseline.weight_kg + Decimal("0.3") * (number - 1)
    height = baseline.height_cm + Decimal("0.5") * (number - 1)
    bsa = enrollment_rules.bsa_mosteller(height_cm=height, weight_kg=weight)
    planned = rules.planned_doses(cycle=number, weight_kg=float(weight), bsa_m2=bsa)
    full = Decimal(f"{planned.full_ug_per_day:.1f}")
    deviation = plan.get("deviation") and number == 1
    interrupted = plan.get("interruption")
    data = {
        "cycle_number": number, "start_date": start, "weight_kg": weight, "height_cm": height,
        "prescribed_step_ug_day": Decimal(f"{planned.step_ug_per_day:.1f}") if planned.step_ug_per_day else None,
        "prescribed_full_ug_day": (full * Decimal("1.2")).quantize(Decimal("0.1")) if deviation else full,
        "deviation_reason": "Prescribed from the weight of the previous week (32 kg); corrected in cycle 2."
        if deviation else "",
        "end_date": start + timedelta(days=rules.CYCLE_INFUSION_DAYS - 1),
        "days_infused": rules.CYCLE_INFUSION_DAYS - (interrupted[1] if interrupted and number == 1 else 0),
        "discontinued_early": "N",
    }
    return _save(BlinatumomabCycle, patient, user, data)


ICANS_NO_SIGNS = {"baseline": "N", "developmental_delay": "N", "unable_to_perform": "N", "consciousness": 0,
                  "seizure": 0, "deep_focal_motor_weakness": "N", "raised_icp": 0, "death_due_to_icans": "N"}


def _normal_icans(patient, on) -> dict:
    """A calm child's ICANS findings with the tool that fits their age on that day (ICE from 12 years)."""
    age = enrollment_rules.age_at(patient.registration.date_of_birth, on)[0]
    if rules.icans_tool(age_years=age) is rules.IcansTool.CAPD:
        return ICANS_NO_SIGNS | {f"capd_{n}": 4 if n <= 4 else 0 for n in range(1, 9)}
    return ICANS_NO_SIGNS | {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1,
                             "ice_attention": 1}


def _crs_and_icans(patient, user, cycle: BlinatumomabCycle, plan: dict) -> None:
    _save(IcansAssessment, patient, user, {"assessment_date": cycle.start_date, "baseline": "Y",
                                           **_normal_icans(patient, cycle.start_date)})
    if cycle.cycle_number != 1:
        return
    for day, grade in sorted(plan["crs"].items()):
        data = {"assessment_date": cycle.start_date + timedelta(days=day - 1), **CRS_NO_SIGNS, **CRS_SIGNS[grade]}
        reported = plan.get("reported", {}).get(day)
        if reported is not None:
            data |= {"reported_grade": reported, "disagreement_confirmed": True}
        _save(CrsAssessment, patient, user, data)
    if plan.get("seizure_day"):
        day = cycle.start_date + timedelta(days=plan["seizure_day"] - 1)
        _save(IcansAssessment, patient, user, {"assessment_date": day, **_normal_icans(patient, day),
                                               "consciousness": 2, "seizure": 3})


def _adverse_events(patient, user, cycle: BlinatumomabCycle, index: int) -> None:
    for term, grade, criterion, day, lasting in ADVERSE_EVENTS.get(index, []):
        onset = cycle.start_date + timedelta(days=day - 1)
        _save(AdverseEvent, patient, user, {
            "term": CtcaeTerm.objects.get(term=term), "onset_date": onset,
            "resolution_date": onset + timedelta(days=lasting), "grade": grade,
            "serious": "Y" if criterion else "N", "seriousness": criterion,
            "aware_at": datetime.combine(onset, time(10, 30), tzinfo=MEXICO) if criterion else None,
            # Reported on paper when it happened, copied in now: not an event entered late.
            "transcribed_retrospectively": "Y" if criterion else "",
            "relationship": "possible" if term != "Febrile neutropenia" else "unlikely",
            "action_taken": "interrupted" if term == "Capillary leak syndrome" else "none",
            "outcome": "recovered"})


def treat_demo_patient(patient, user, index: int) -> None:
    plan = PLANS[index % len(PLANS)]
    eligible_on = eligibility_of(patient).assessment_date
    baseline = Baseline.objects.get(patient=patient)
    _save(Debulking, patient, user, {"start_date": eligible_on + timedelta(days=1),
                                     "end_date": eligible_on + timedelta(days=5), "anthracycline": "N",
                                     "asparaginase": "N", "vincristine": "Y", "corticosteroid": "Y"})
    start = eligible_on + timedelta(days=7)
    for number, label in enumerate(plan["responses"], start=1):
        cycle = _cycle(patient, user, number, start, baseline, plan)
        _crs_and_icans(patient, user, cycle, plan)
        if number == 1:
            _adverse_events(patient, user, cycle, index)
            if plan.get("interruption"):
                day, days, reason = plan["interruption"]
                stopped = cycle.start_date + timedelta(days=day - 1)
                _save(InfusionInterruption, patient, user, {"cycle_number": 1, "start_date": stopped,
                                                            "end_date": stopped + timedelta(days=days),
                                                            "restart_dose_ug_day": (
                                                                cycle.prescribed_step_ug_day if day + days <= 7
                                                                else cycle.prescribed_full_ug_day),
                                                            "interruption_reason": reason})
        _save(ResponseAssessment, patient, user, {
            "cycle_number": number, "assessment_date": cycle.end_date + timedelta(days=3),
            "mrd_cells_analysed": 500_000, "extramedullary_disease": "N", "cns_status": "CNS1",
            **RESPONSES[label]})
        late = plan.get("late_intrathecal") and number == 1
        _save(IntrathecalTherapy, patient, user, {
            "cycle_number": number, "administration_date": cycle.end_date + timedelta(days=25 if late else 13),
            "methotrexate_mg": Decimal("12"), "cytarabine_mg": Decimal("30"), "hydrocortisone_mg": Decimal("15")})
        start = cycle.end_date + timedelta(days=rules.CYCLE_FREE_DAYS + 1)


@demo_step(order=20, name="treated")
def load_treatment(patients: list, coordinators: dict) -> int:
    """Treat every eligible, consenting demo patient that has no cycle yet; returns how many were treated."""
    done = 0
    treatable = [p for p in patients if (e := eligibility_of(p)) is not None and e.is_eligible
                 and not consent_of(p).withdrawn]
    for index, patient in enumerate(treatable):
        if BlinatumomabCycle.objects.filter(patient=patient).exists():
            continue
        treat_demo_patient(patient, coordinators[patient.site_id], index)
        done += 1
    return done
