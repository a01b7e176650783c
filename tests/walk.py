"""What a user types into each registered form, for the walk every form takes on every path (page, API, browser).

Each entry gives, as a user types it (strings, ISO dates, MedDRA codes): the one value a first sitting leaves as a
draft, the values that complete the form, and a correction made later with a reason, plus the forms the patient
needs first. A form registered without an entry fails the walk by name: a new form is covered by adding its entry
here, never by editing the walk.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from tests import enrollment
from tests import transplant_forms as transplant
from tests import treatment_forms as treatment


def _enrolled(user, patient) -> None:
    enrollment.enroll(user, patient)


def _consented(user, patient) -> None:
    enrollment.consent(user, patient)


def _diagnosed(user, patient) -> None:
    enrollment.consent(user, patient)
    enrollment.diagnosis(user, patient)


def _in_cycle_1(user, patient) -> None:
    enrollment.enroll(user, patient)
    treatment.debulking(user, patient)
    treatment.cycle(user, patient, 1)


def _debulked(user, patient) -> None:
    enrollment.enroll(user, patient)
    treatment.debulking(user, patient)


def _treated(user, patient) -> None:
    """Enrolled, debulked, one cycle and its response (CR on 2020-04-20): ready for a transplant."""
    enrollment.enroll(user, patient)
    treatment.debulking(user, patient)
    treatment.cycle(user, patient, 1)
    treatment.response(user, patient)


def _transplanted(user, patient) -> None:
    """Treated, then transplanted: day 0 is 2020-06-15 (tests.transplant_forms.DAY0)."""
    _treated(user, patient)
    transplant.procedure(user, patient)


@dataclass(frozen=True)
class FormWalk:
    draft: dict[str, str]
    complete: dict[str, str]
    correction: dict[str, str]
    before: Callable | None = None


CRS_SIGNS = {"fever_other_cause": "N", "hypotension": "none", "vasopressin": "N", "oxygen_device": "none",
             "antipyretics": "N", "tocilizumab": "N", "corticosteroids": "N", "death_due_to_crs": "N"}
ICANS_CALM = {"baseline": "N", "developmental_delay": "N", "unable_to_perform": "N", "consciousness": "0",
              "seizure": "0", "deep_focal_motor_weakness": "N", "raised_icp": "0", "death_due_to_icans": "N",
              **{f"capd_{n}": "4" if n <= 4 else "0" for n in range(1, 9)}}

WALKS: dict[str, FormWalk] = {
    "patients.Registration": FormWalk(
        # the four items that identify a new patient are asked even in a draft
        draft={"initials": "JLM", "sex": "M", "date_of_birth": "2011-02-14", "registration_date": "2020-03-09"},
        complete={}, correction={"initials": "JLN"}),
    "patients.Consent": FormWalk(
        draft={"consent_date": "2020-03-09"},
        complete={"consent_version": "2.1", "assent_date": "2020-03-09"},
        correction={"consent_version": "2.2"}),
    "patients.DiagnosisHistory": FormWalk(
        before=_consented, draft={"diagnosis_date": "2016-04-20"},
        complete={"immunophenotype": "bcp", "cytogenetics": "etv6_runx1", "frontline_protocol": "St. Jude Total XV",
                  "frontline_status": "completed", "frontline_end_date": "2018-10-01",
                  "last_induction_response": "remission", "prior_chemotherapy_lines": "2", "prior_hsct": "N",
                  "prior_immunotherapy": "N", "high_risk_by_mrd": "not_assessed"},
        correction={"prior_chemotherapy_lines": "3"}),
    "patients.Relapse": FormWalk(
        before=_diagnosed, draft={"relapse_date": "2017-08-01"},
        complete={"relapse_site": "isolated_bm"}, correction={"relapse_date": "2017-08-02"}),
    "patients.Baseline": FormWalk(
        before=_consented, draft={"weight_kg": "30.0"},
        complete={"assessment_date": "2020-03-10", "height_cm": "135.0", "wbc_per_ul": "8400",
                  "hemoglobin_g_dl": "9.8", "platelets_10e9_l": "85", "marrow_blasts_pct": "62.0", "cd19_pct": "96.0",
                  "cns_status": "CNS1", "lumbar_puncture_date": "2020-03-10", "extramedullary_disease": "N",
                  "hla_typing_done": "Y", "hla_typing_date": "2020-03-11", "hla_typing_method": "pcr_ssp",
                  "performance_score": "90"},
        correction={"hemoglobin_g_dl": "9.6"}),
    "patients.Eligibility": FormWalk(
        before=lambda user, patient: (enrollment.consent(user, patient), enrollment.diagnosis(user, patient),
                                      enrollment.relapse(user, patient, date(2017, 8, 1)),
                                      enrollment.relapse(user, patient, date(2019, 11, 5)),
                                      enrollment.baseline(user, patient)),
        draft={"comment": "Reviewed with the PI"}, complete={"assessment_date": "2020-03-12"},
        correction={"assessment_date": "2020-03-13"}),
    "treatment.Debulking": FormWalk(
        before=_enrolled, draft={"start_date": "2020-03-13"},
        complete={"end_date": "2020-03-17", "anthracycline": "N", "asparaginase": "N", "vincristine": "Y",
                  "corticosteroid": "Y"},
        correction={"end_date": "2020-03-18"}),
    "treatment.BlinatumomabCycle": FormWalk(
        before=_debulked, draft={"weight_kg": "30.0"},
        complete={"cycle_number": "1", "start_date": "2020-03-20", "height_cm": "135.0",
                  "prescribed_step_ug_day": "5.3", "prescribed_full_ug_day": "15.9", "end_date": "2020-04-16",
                  "days_infused": "28", "discontinued_early": "N"},
        correction={"days_infused": "27"}),
    "treatment.InfusionInterruption": FormWalk(
        before=_in_cycle_1, draft={"start_date": "2020-03-26"},
        complete={"cycle_number": "1", "end_date": "2020-03-27", "restart_dose_ug_day": "15.9",
                  "interruption_reason": "crs"},
        correction={"end_date": "2020-03-28"}),
    "treatment.CrsAssessment": FormWalk(
        before=_in_cycle_1, draft={"max_temperature_c": "38.6"},
        complete={"assessment_date": "2020-03-21", **CRS_SIGNS},
        correction={"max_temperature_c": "38.2"}),
    "treatment.IcansAssessment": FormWalk(
        before=_in_cycle_1, draft={"assessment_date": "2020-03-21"}, complete=ICANS_CALM,
        correction={"capd_5": "1"}),
    "treatment.AdverseEvent": FormWalk(
        before=_in_cycle_1, draft={"term": "10016288"},
        complete={"onset_date": "2020-03-25", "resolution_date": "2020-03-30", "grade": "3", "serious": "N",
                  "relationship": "possible", "action_taken": "none", "outcome": "recovered"},
        correction={"grade": "4"}),
    "treatment.IntrathecalTherapy": FormWalk(
        before=_in_cycle_1, draft={"administration_date": "2020-04-30"},
        complete={"cycle_number": "1", "methotrexate_mg": "12", "cytarabine_mg": "30", "hydrocortisone_mg": "15"},
        correction={"methotrexate_mg": "10"}),
    "treatment.ResponseAssessment": FormWalk(
        before=_in_cycle_1, draft={"marrow_blasts_pct": "1.0"},
        complete={"cycle_number": "1", "assessment_date": "2020-04-20", "mrd_result": "detected", "mrd_pct": "0.0040",
                  "mrd_lod_pct": "0.0010", "mrd_cells_analysed": "1000000", "extramedullary_disease": "N",
                  "cns_status": "CNS1"},
        correction={"mrd_pct": "0.0050"}),
    "patients.Death": FormWalk(
        before=_in_cycle_1, draft={"death_date": "2020-05-02"},
        complete={"cause": "toxicity", "autopsy_performed": "N"}, correction={"autopsy_performed": "Y"}),
    "patients.FollowUp": FormWalk(
        before=_transplanted, draft={"contact_date": "2020-09-15"},
        complete={"vital_status": "alive", "disease_status": "ccr"},
        correction={"contact_date": "2020-09-16"}),
    "patients.OffStudy": FormWalk(
        before=_transplanted, draft={"off_study_date": "2021-06-15"},
        complete={"off_study_reason": "lost"},
        correction={"off_study_date": "2021-06-16"}),
    "transplant.Donor": FormWalk(
        before=_treated, draft={"donor_type": "haplo"},
        complete={"relationship": "mother", "donor_age_years": "38", "donor_sex": "F", "hla_match": "5",
                  "donor_abo": "O", "recipient_abo": "A", "donor_cmv": "pos", "recipient_cmv": "pos"},
        correction={"donor_age_years": "39"}),
    "transplant.Graft": FormWalk(
        before=_treated, draft={"graft_source": "pbsc"},
        complete={"gcsf_dose_ug_kg_day": "10.0", "gcsf_days": "5", "collection_date": "2020-06-15",
                  "apheresis_device": "Spectra Optia", "recipient_weight_kg": "30.0", "dose_basis": "totals",
                  "cd34_total_10e6": "240.00", "cd3_total_10e8": "90.00", "cd19_10e6_kg": "150.00",
                  "cd45_viability_pct": "98.0"},
        correction={"cd34_total_10e6": "250.00"}),
    "transplant.TransplantProcedure": FormWalk(
        before=_treated, draft={"transplant_date": "2020-06-15"},
        complete={"tbi_cgy_day": "200", "tbi_days": "3", "cyclophosphamide_mg_kg_day": "14.5",
                  "cyclophosphamide_days": "2", "etoposide_mg_m2": "200", "conditioning_per_protocol": "Y",
                  "ptcy_mg_kg_day": "50.0", "ptcy_days": "2", "tacrolimus_start": "2020-06-20",
                  "mycophenolate_start": "2020-06-20", "prophylaxis_per_protocol": "Y", "non_cr_deviation": "N"},
        correction={"tacrolimus_start": "2020-06-21"}),
    "transplant.DailyCount": FormWalk(
        before=_transplanted, draft={"count_date": "2020-06-20"},
        complete={"anc_per_ul": "100", "platelets_10e9_l": "15", "platelet_transfusion": "N",
                  "red_cell_transfusion": "N"},
        correction={"anc_per_ul": "150"}),
    "transplant.AcuteGvhd": FormWalk(
        before=_transplanted, draft={"assessment_date": "2020-06-22"},
        complete={"weight_kg": "30.0", "skin_stage": "1", "liver_gvhd": "N", "upper_gi_stage": "0",
                  "severe_abdominal_pain_or_bloody_stool": "N", "lower_gi_gvhd": "N"},
        correction={"skin_stage": "2"}),
    "transplant.ChronicGvhd": FormWalk(
        before=_transplanted, draft={"assessment_date": "2020-09-23"},
        complete={"skin_score": "0", "mouth_score": "1", "eyes_score": "0", "gi_score": "0", "liver_score": "0",
                  "lungs_score": "0", "joints_score": "0", "genital_score": "0"},
        correction={"mouth_score": "2"}),
    "transplant.Chimerism": FormWalk(
        before=_transplanted, draft={"timepoint_months": "3"},
        complete={"sample_date": "2020-09-15", "whole_blood_donor_pct": "99.0", "cd3_donor_pct": "98.0"},
        correction={"cd3_donor_pct": "97.0"}),
    "transplant.ImmuneReconstitution": FormWalk(
        before=_transplanted, draft={"timepoint_months": "3"},
        complete={"sample_date": "2020-09-15", "cd3_per_ul": "800", "cd4_per_ul": "300", "cd8_per_ul": "450",
                  "cd19_per_ul": "120", "cd16_56_per_ul": "250"},
        correction={"cd4_per_ul": "320"}),
    "transplant.ViralLoad": FormWalk(
        before=_transplanted, draft={"sample_date": "2020-06-22"},
        complete={"virus": "cmv", "specimen": "blood", "result": "detected", "load": "1500",
                  "load_unit": "copies_ml", "preemptive_treatment": "N"},
        correction={"load": "1600"}),
    "transplant.Infection": FormWalk(
        before=_transplanted, draft={"onset_date": "2020-06-20"},
        complete={"pathogen_type": "bacterial", "pathogen": "Escherichia coli", "syndrome": "bloodstream",
                  "resolution_date": "2020-06-27"},
        correction={"resolution_date": "2020-06-28"}),
    "transplant.DonorLymphocyteInfusion": FormWalk(
        before=_transplanted, draft={"infusion_date": "2020-10-03"},
        complete={"indication": "mixed_chimerism", "cd3_dose_10e6_kg": "0.100"},
        correction={"cd3_dose_10e6_kg": "0.500"}),
    "transplant.PostTransplantRelapse": FormWalk(
        before=_transplanted, draft={"relapse_date": "2020-11-02"},
        complete={"relapse_site": "isolated_bm", "cd19_status": "positive", "therapy": "Palliative care"},
        correction={"cd19_status": "dim"}),
    "trial.MissedVisit": FormWalk(
        before=_in_cycle_1, draft={"visit_key": "C1-IT"},
        complete={"form": "treatment.IntrathecalTherapy", "not_done_reason": "Platelets too low for a puncture"},
        correction={"not_done_reason": "Platelets 12 ×10⁹/L; puncture deferred by the PI"}),
}


def walk_for(model) -> FormWalk:
    label = model._meta.label
    if label not in WALKS:
        raise LookupError(f"{label} has no entry in tests/walk.py: add what a user types into it (draft, complete, "
                          f"correction) so the every-form walk covers it on the page, the API and the browser.")
    return WALKS[label]
