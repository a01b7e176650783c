"""Builders for transplant and follow-up forms in tests: every form goes through the one save path, as users' do.

Dates follow tests.treatment_forms: cycle 1 from 2020-03-20 (CR on 2020-04-20), cycle 2 2020-05-01 to 2020-05-28;
day 0 is 2020-06-15 (a 30 kg child), neutrophils engraft on day +15 and platelets on day +20.
"""

from datetime import date, timedelta
from decimal import Decimal

from patients.models import FollowUp, OffStudy
from tests import treatment_forms as treatment
from transplant.models import (
    AcuteGvhd,
    Chimerism,
    ChronicGvhd,
    DailyCount,
    Donor,
    DonorLymphocyteInfusion,
    Graft,
    ImmuneReconstitution,
    Infection,
    PostTransplantRelapse,
    TransplantProcedure,
    ViralLoad,
)
from transplant.series import CountEntry, save_counts
from trial.crf import save_crf

DAY0 = date(2020, 6, 15)
DONOR = {"donor_type": "haplo", "relationship": "mother", "donor_age_years": 38, "donor_sex": "F", "hla_match": 5,
         "donor_abo": "O", "recipient_abo": "A", "donor_cmv": "pos", "recipient_cmv": "pos"}
GRAFT = {"graft_source": "pbsc", "gcsf_dose_ug_kg_day": Decimal("10.0"), "gcsf_days": 5,
         "collection_date": DAY0, "apheresis_device": "Spectra Optia", "recipient_weight_kg": Decimal("30.0"),
         "dose_basis": "totals", "cd34_total_10e6": Decimal("240.00"), "cd3_total_10e8": Decimal("90.00"),
         "cd19_10e6_kg": Decimal("150.00"), "cd45_viability_pct": Decimal("98.0")}
PROCEDURE = {"transplant_date": DAY0, "tbi_cgy_day": 200, "tbi_days": 3, "cyclophosphamide_mg_kg_day": Decimal("14.5"),
             "cyclophosphamide_days": 2, "etoposide_mg_m2": 200, "conditioning_per_protocol": "Y",
             "ptcy_mg_kg_day": Decimal("50.0"), "ptcy_days": 2, "tacrolimus_start": DAY0 + timedelta(days=5),
             "mycophenolate_start": DAY0 + timedelta(days=5), "prophylaxis_per_protocol": "Y",
             "non_cr_deviation": "N"}
AGVHD_NONE = {"weight_kg": Decimal("30.0"), "skin_stage": 0, "liver_gvhd": "N", "upper_gi_stage": 0,
              "severe_abdominal_pain_or_bloody_stool": "N", "lower_gi_gvhd": "N"}
CGVHD_NONE = {f"{organ}_score": 0 for organ in ("skin", "mouth", "eyes", "gi", "liver", "lungs", "joints", "genital")}


def on_day(day: int) -> date:
    return DAY0 + timedelta(days=day)


def engrafting_counts(last_day: int = 30, *, neutrophils_from: int = 15, platelets_from: int = 20) -> list[dict]:
    """ANC 1,200 on day 0 (before the nadir), 100 from day 1, 800 from `neutrophils_from`; platelets 15 with a
    transfusion every third day until `platelets_from` - 8, 60 and untransfused from `platelets_from`."""
    rows = []
    for day in range(last_day + 1):
        anc = 1200 if day == 0 else (800 if day >= neutrophils_from else 100)
        transfused = day < platelets_from - 8 and day % 3 == 0
        plt = 60 if day >= platelets_from else 15
        rows.append({"count_date": on_day(day), "anc_per_ul": anc, "platelets_10e9_l": plt,
                     "platelet_transfusion": "Y" if transfused else "N", "red_cell_transfusion": "N"})
    return rows


def donor(user, patient, **changes) -> Donor:
    return save_crf(Donor(patient=patient), user=user, data={**DONOR, **changes}, complete=True)


def graft(user, patient, **changes) -> Graft:
    return save_crf(Graft(patient=patient), user=user, data={**GRAFT, **changes}, complete=True)


def procedure(user, patient, **changes) -> TransplantProcedure:
    return save_crf(TransplantProcedure(patient=patient), user=user, data={**PROCEDURE, **changes}, complete=True)


def count(user, patient, **data) -> DailyCount:
    return save_crf(DailyCount(patient=patient), user=user, data=data, complete=True)


def counts(user, patient, rows: list[dict]) -> list[DailyCount]:
    return [count(user, patient, **row) for row in rows]


def acute_gvhd(user, patient, day: int, **changes) -> AcuteGvhd:
    return save_crf(AcuteGvhd(patient=patient), user=user, complete=True,
                    data={"assessment_date": on_day(day), **AGVHD_NONE, **changes})


def chronic_gvhd(user, patient, day: int, **changes) -> ChronicGvhd:
    return save_crf(ChronicGvhd(patient=patient), user=user, complete=True,
                    data={"assessment_date": on_day(day), **CGVHD_NONE, **changes})


def chimerism(user, patient, months: int, day: int, whole_blood: str = "99.0", cd3: str = "98.0") -> Chimerism:
    return save_crf(Chimerism(patient=patient), user=user, complete=True, data={
        "timepoint_months": months, "sample_date": on_day(day), "whole_blood_donor_pct": Decimal(whole_blood),
        "cd3_donor_pct": Decimal(cd3)})


def immune(user, patient, months: int, day: int) -> ImmuneReconstitution:
    return save_crf(ImmuneReconstitution(patient=patient), user=user, complete=True, data={
        "timepoint_months": months, "sample_date": on_day(day), "cd3_per_ul": 800, "cd4_per_ul": 300,
        "cd8_per_ul": 450, "cd19_per_ul": 120, "cd16_56_per_ul": 250})


def viral_load(user, patient, day: int, virus: str = "cmv", load: int | None = None) -> ViralLoad:
    result = {"result": "detected", "load": load, "load_unit": "copies_ml"} if load else {"result": "not_detected"}
    return save_crf(ViralLoad(patient=patient), user=user, complete=True, data={
        "sample_date": on_day(day), "virus": virus, "specimen": "blood", "preemptive_treatment": "N", **result})


def infection(user, patient, day: int, **changes) -> Infection:
    return save_crf(Infection(patient=patient), user=user, complete=True, data={
        "onset_date": on_day(day), "pathogen_type": "bacterial", "pathogen": "Escherichia coli",
        "syndrome": "bloodstream", "resolution_date": on_day(day + 7), **changes})


def dli(user, patient, day: int) -> DonorLymphocyteInfusion:
    return save_crf(DonorLymphocyteInfusion(patient=patient), user=user, complete=True, data={
        "infusion_date": on_day(day), "indication": "mixed_chimerism", "cd3_dose_10e6_kg": Decimal("0.100")})


def relapse_after(user, patient, day: int) -> PostTransplantRelapse:
    return save_crf(PostTransplantRelapse(patient=patient), user=user, complete=True, data={
        "relapse_date": on_day(day), "relapse_site": "isolated_bm", "cd19_status": "positive",
        "therapy": "Palliative care"})


def follow_up(user, patient, when: date, **changes) -> FollowUp:
    return save_crf(FollowUp(patient=patient), user=user, complete=True, data={
        "contact_date": when, "vital_status": "alive", "disease_status": "ccr", **changes})


def off_study(user, patient, when: date, reason: str = "death") -> OffStudy:
    return save_crf(OffStudy(patient=patient), user=user, complete=True,
                    data={"off_study_date": when, "off_study_reason": reason})


def series(user, patient, rows: list[dict]) -> None:
    """Days of counts saved as one series, as the grid and the API save them (transplant.series)."""
    fields = ("anc_per_ul", "platelets_10e9_l", "platelet_transfusion", "red_cell_transfusion")
    save_counts(patient, [CountEntry(row["count_date"], {k: row[k] for k in fields if k in row}) for row in rows],
                user=user)


def transplant(user, patient) -> TransplantProcedure:
    """After treatment: donor, graft, day 0 and 31 days of counts that engraft (neutrophils +15, platelets +20)."""
    donor(user, patient)
    graft(user, patient)
    procedure(user, patient)
    series(user, patient, engrafting_counts())
    return TransplantProcedure.objects.get(patient=patient)


def every_form(user, patient) -> None:
    """After enrollment: a record of every treatment, transplant and follow-up form, with a month of counts. The
    patient dies on 2021-02-01 (tests.treatment_forms.every_form), after everything else."""
    treatment.every_form(user, patient)
    transplant(user, patient)
    _after_the_counts(user, patient)


def one_of_each(user, patient) -> None:
    """After enrollment: one record of every form (day 0's count alone), the least that every route needs (the
    schema fuzz and the site-isolation walk)."""
    treatment.every_form(user, patient)
    donor(user, patient)
    graft(user, patient)
    procedure(user, patient)
    count(user, patient, **engrafting_counts(0)[0])
    _after_the_counts(user, patient)


def _after_the_counts(user, patient) -> None:
    acute_gvhd(user, patient, 7, skin_stage=1)
    chronic_gvhd(user, patient, 100, mouth_score=1)
    chimerism(user, patient, 3, 92)
    immune(user, patient, 3, 92)
    viral_load(user, patient, 7)
    infection(user, patient, 5)
    dli(user, patient, 110)
    relapse_after(user, patient, 140)
    follow_up(user, patient, on_day(183))
    off_study(user, patient, date(2021, 2, 1))
