"""Builders for treatment forms in tests: every form goes through the one save path, as users' do.

Dates follow tests.enrollment: eligible on 2020-03-12, debulking from 2020-03-13, cycle 1 from 2020-03-20
(a 30 kg, 135 cm child: BSA 1.0607 m², planned 5.3 then 15.9 µg/day), response 2020-04-20, cycle 2 from
2020-05-01.
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from patients.models import Death
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
from trial.models import MissedVisit

MEXICO = ZoneInfo("America/Mexico_City")
DEBULKING = {"start_date": date(2020, 3, 13), "end_date": date(2020, 3, 17), "anthracycline": "N",
             "asparaginase": "N", "vincristine": "Y", "corticosteroid": "Y"}
CYCLES = {
    1: {"cycle_number": 1, "start_date": date(2020, 3, 20), "weight_kg": Decimal("30.0"), "height_cm": Decimal("135.0"),
        "prescribed_step_ug_day": Decimal("5.3"), "prescribed_full_ug_day": Decimal("15.9"),
        "end_date": date(2020, 4, 16), "days_infused": 28, "discontinued_early": "N"},
    2: {"cycle_number": 2, "start_date": date(2020, 5, 1), "weight_kg": Decimal("30.5"), "height_cm": Decimal("135.5"),
        "prescribed_full_ug_day": Decimal("16.0"), "end_date": date(2020, 5, 28), "days_infused": 28,
        "discontinued_early": "N"},
}
# Every question answered, as a coordinator completing the form does (nothing starts pre-answered).
CRS_NO_SIGNS = {"fever_other_cause": "N", "hypotension": "none", "vasopressin": "N", "oxygen_device": "none",
                "antipyretics": "N", "tocilizumab": "N", "corticosteroids": "N", "death_due_to_crs": "N"}
CRS_NONE = {**CRS_NO_SIGNS, "max_temperature_c": Decimal("37.0")}
# The raw findings of each ASTCT grade (CLINICAL-RULES 1.1), for forms that need a given grade.
CRS_GRADE = {
    0: CRS_NONE,
    1: {**CRS_NO_SIGNS, "max_temperature_c": Decimal("38.6")},
    2: {**CRS_NO_SIGNS, "max_temperature_c": Decimal("39.1"), "hypotension": "fluids"},
    3: {**CRS_NO_SIGNS, "max_temperature_c": Decimal("39.4"), "hypotension": "vasopressors", "vasopressors": 1},
    4: {**CRS_NO_SIGNS, "max_temperature_c": Decimal("40.0"), "hypotension": "vasopressors", "vasopressors": 2,
        "oxygen_device": "mechanical_ventilation"},
}
ICANS_NO_SIGNS = {"baseline": "N", "developmental_delay": "N", "unable_to_perform": "N", "consciousness": 0,
                  "seizure": 0, "deep_focal_motor_weakness": "N", "raised_icp": 0, "death_due_to_icans": "N"}
# "always" 1–4, "never" 5–8: score 0
CAPD_CALM = {**ICANS_NO_SIGNS, **{f"capd_{n}": 4 if n <= 4 else 0 for n in range(1, 9)}}
RESPONSE = {"cycle_number": 1, "assessment_date": date(2020, 4, 20), "marrow_blasts_pct": Decimal("1.0"),
            "mrd_result": "detected", "mrd_pct": Decimal("0.0040"), "mrd_lod_pct": Decimal("0.0010"),
            "mrd_cells_analysed": 1_000_000, "extramedullary_disease": "N", "cns_status": "CNS1"}
AE = {"term": 10016288, "onset_date": date(2020, 3, 25), "resolution_date": date(2020, 3, 30), "grade": 3,
      "serious": "N", "relationship": "possible", "action_taken": "none", "outcome": "recovered"}


def debulking(user, patient, **changes) -> Debulking:
    return save_crf(Debulking(patient=patient), user=user, data={**DEBULKING, **changes}, complete=True)


def cycle(user, patient, number: int = 1, **changes) -> BlinatumomabCycle:
    return save_crf(BlinatumomabCycle(patient=patient), user=user, data={**CYCLES[number], **changes}, complete=True)


def crs(user, patient, day: date, grade: int | None = None, **signs) -> CrsAssessment:
    data = {"assessment_date": day, **(CRS_GRADE[grade] if grade is not None else CRS_NONE), **signs}
    return save_crf(CrsAssessment(patient=patient), user=user, data=data, complete=True)


def icans(user, patient, day: date, **changes) -> IcansAssessment:
    return save_crf(IcansAssessment(patient=patient), user=user, data={"assessment_date": day, **CAPD_CALM, **changes},
                    complete=True)


def response(user, patient, **changes) -> ResponseAssessment:
    return save_crf(ResponseAssessment(patient=patient), user=user, data={**RESPONSE, **changes}, complete=True)


def intrathecal(user, patient, **changes) -> IntrathecalTherapy:
    data = {"cycle_number": 1, "administration_date": date(2020, 4, 30), "methotrexate_mg": Decimal("12"),
            "cytarabine_mg": Decimal("30"), "hydrocortisone_mg": Decimal("15"), **changes}
    return save_crf(IntrathecalTherapy(patient=patient), user=user, data=data, complete=True)


def adverse_event(user, patient, **changes) -> AdverseEvent:
    data = {**AE, **changes}
    data["term"] = CtcaeTerm.objects.get(meddra_code=data["term"])  # given by MedDRA code, as in the API
    return save_crf(AdverseEvent(patient=patient), user=user, data=data, complete=True)


def death(user, patient, when: date, cause: str = "toxicity") -> Death:
    return save_crf(Death(patient=patient), user=user, complete=True,
                    data={"death_date": when, "cause": cause, "autopsy_performed": "N"})


def aware(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=MEXICO)


def treat(user, patient) -> None:
    """Debulking, cycle 1 with a day of CRS, an ICANS baseline, an AE, its response and intrathecal therapy."""
    debulking(user, patient)
    cycle(user, patient, 1)
    crs(user, patient, date(2020, 3, 21), grade=1)
    icans(user, patient, date(2020, 3, 20), baseline="Y")
    adverse_event(user, patient)
    response(user, patient)
    intrathecal(user, patient)


def every_form(user, patient) -> None:
    """After enrollment: a record of every treatment and follow-up form (site-isolation and schema tests)."""
    treat(user, patient)
    save_crf(InfusionInterruption(patient=patient), user=user, data={
        "cycle_number": 1, "start_date": date(2020, 3, 26), "end_date": date(2020, 3, 27),
        "restart_dose_ug_day": Decimal("15.9"), "interruption_reason": "crs"})
    cycle(user, patient, 2)
    save_crf(MissedVisit(patient=patient), user=user, complete=True, data={
        "visit_key": "C2-IT", "form": "treatment.IntrathecalTherapy", "not_done_reason": "Platelets too low"})
    death(user, patient, date(2021, 2, 1))
