"""Builders for enrollment forms in tests: every form goes through the one save path, as users' do."""

from datetime import date
from decimal import Decimal

from patients.models import Baseline, Consent, DiagnosisHistory, Eligibility, Relapse
from trial.crf import save_crf

CONSENT = {"consent_date": date(2020, 3, 9), "consent_version": "2.1", "assent_date": date(2020, 3, 9)}
DIAGNOSIS = {
    "diagnosis_date": date(2016, 4, 20), "immunophenotype": "bcp", "cytogenetics": "etv6_runx1",
    "frontline_protocol": "St. Jude Total XV", "frontline_status": "completed",
    "frontline_end_date": date(2018, 10, 1), "last_induction_response": "remission",
    "prior_chemotherapy_lines": 2, "prior_hsct": "N", "prior_immunotherapy": "N", "high_risk_by_mrd": "not_assessed",
}
BASELINE = {
    "assessment_date": date(2020, 3, 10), "weight_kg": Decimal("30.0"), "height_cm": Decimal("135.0"),
    "wbc_per_ul": 8_400, "hemoglobin_g_dl": Decimal("9.8"), "platelets_10e9_l": 85,
    "marrow_blasts_pct": Decimal("62.0"), "cd19_pct": Decimal("96.0"), "cns_status": "CNS1",
    "lumbar_puncture_date": date(2020, 3, 10), "extramedullary_disease": "N", "hla_typing_done": "Y",
    "hla_typing_date": date(2020, 3, 11), "hla_typing_method": "pcr_ssp", "performance_score": 90,
}


def consent(user, patient, **changes) -> Consent:
    return save_crf(Consent(patient=patient), user=user, data={**CONSENT, **changes}, complete=True)


def diagnosis(user, patient, **changes) -> DiagnosisHistory:
    return save_crf(DiagnosisHistory(patient=patient), user=user, data={**DIAGNOSIS, **changes}, complete=True)


def relapse(user, patient, when: date, site: str = "isolated_bm", location: str = "") -> Relapse:
    return save_crf(Relapse(patient=patient), user=user, complete=True,
                    data={"relapse_date": when, "relapse_site": site, "extramedullary_location": location})


def baseline(user, patient, **changes) -> Baseline:
    return save_crf(Baseline(patient=patient), user=user, data={**BASELINE, **changes}, complete=True)


def eligibility(user, patient, when: date = date(2020, 3, 12)) -> Eligibility:
    return save_crf(Eligibility(patient=patient), user=user, data={"assessment_date": when}, complete=True)


def enroll(user, patient, *, relapses=(date(2017, 8, 1), date(2019, 11, 5)), consent_given: bool = False,
           **baseline_changes) -> Eligibility:
    """Consent, diagnosis with relapses, baseline and eligibility: by default an eligible second relapse."""
    if not consent_given:
        consent(user, patient)
    diagnosis(user, patient)
    for when in relapses:
        relapse(user, patient, when)
    baseline(user, patient, **baseline_changes)
    return eligibility(user, patient)
