"""Enrollment through the API: the same forms, checks and derivations as the casebook pages."""

import pytest
from django.urls import reverse

from patients.models import Eligibility
from tests import enrollment as build

pytestmark = pytest.mark.django_db


def _post(client, form: str, body: dict):
    return client.post(reverse(f"crf-{form}-list"), body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_a_coordinator_enrolls_a_patient_end_to_end_through_the_api(api_client, coordinator, site_a):
    client = api_client(coordinator)
    registered = _post(client, "registration", {"initials": "MAG", "sex": "F", "date_of_birth": "2012-05-03",
                                                "registration_date": "2020-03-09", "complete": True})
    assert registered.status_code == 201, registered.json()
    subject = registered.json()["patient"]
    steps = [
        ("consent", {"consent_date": "2020-03-09", "consent_version": "2.1"}),
        ("diagnosishistory", {"diagnosis_date": "2016-04-20", "immunophenotype": "bcp", "cytogenetics": "not_done",
                              "frontline_protocol": "BFM 2009", "frontline_status": "completed",
                              "frontline_end_date": "2018-10-01", "last_induction_response": "remission",
                              "prior_chemotherapy_lines": 2, "prior_hsct": "N", "prior_immunotherapy": "N",
                                  "high_risk_by_mrd": "not_assessed"}),
        ("relapse", {"relapse_date": "2017-08-01", "relapse_site": "isolated_bm"}),
        ("relapse", {"relapse_date": "2019-11-05", "relapse_site": "combined", "extramedullary_location": "cns"}),
        ("baseline", {"assessment_date": "2020-03-10", "weight_kg": "30.0", "height_cm": "135.0",
                      "wbc_per_ul": 10000, "hemoglobin_g_dl": "9.8", "platelets_10e9_l": 85,
                      "marrow_blasts_pct": "62.0", "cd19_pct": "96.0", "cns_status": "CNS1",
                      "lumbar_puncture_date": "2020-03-10", "extramedullary_disease": "N", "hla_typing_done": "N",
                      "performance_score": 90}),
        ("eligibility", {"assessment_date": "2020-03-12"}),
    ]
    bodies = {}
    for form, body in steps:
        response = _post(client, form, {"patient": subject, "complete": True, **body})
        assert response.status_code == 201, (form, response.json())
        bodies[form] = response.json()
    assert (bodies["baseline"]["wbc_category"], bodies["baseline"]["performance_scale"]) == ("10000_50000", "lansky")
    assert bodies["baseline"]["bsa_m2"] == pytest.approx(1.0607, abs=5e-5)
    assert (bodies["eligibility"]["outcome"], bodies["eligibility"]["failed_criteria"]) == ("eligible", "")
    diagnosis = client.get(reverse("crf-diagnosishistory-list"), {"patient": subject}).json()["results"][0]
    assert (diagnosis["relapse_count"], diagnosis["disease_status"], diagnosis["bfm_group"]) == (
        2, "second_or_later_relapse", "S2")


def test_derived_values_cannot_be_typed_through_the_api(api_client, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient, performance_score=80)
    eligibility = Eligibility.objects.get(patient=patient)
    response = api_client(coordinator).patch(reverse("crf-eligibility-detail", args=[eligibility.pk]), {
        "outcome": "eligible", "version": eligibility.version, "reason": "Investigator says so"}, format="json")
    assert response.status_code == 200
    assert Eligibility.objects.get(pk=eligibility.pk).outcome == "screen_failure"


def test_hard_range_answers_400_with_field_value_and_range(api_client, coordinator, registration_a):
    build.consent(coordinator, registration_a.patient)
    response = _post(api_client(coordinator), "baseline", {
        **{k: str(v) for k, v in build.BASELINE.items()}, "patient": registration_a.patient.subject_id,
        "weight_kg": "250.0"})
    assert response.status_code == 400
    assert response.json()["weight_kg"] == ["Weight: 250 kg is outside the allowed range 0.5 to 200 kg."]


def test_forms_before_consent_and_treatment_for_a_screen_failure_are_refused(api_client, coordinator, register,
                                                                             site_a):
    client = api_client(coordinator)
    first = register(coordinator, site_a).patient
    response = _post(client, "diagnosishistory", {**{k: str(v) for k, v in build.DIAGNOSIS.items()},
                                                  "patient": first.subject_id})
    assert response.status_code == 400
    assert "Record the consent first" in response.json()["non_field_errors"][0]
    build.enroll(coordinator, first, performance_score=80)
    response = _post(client, "debulking", {"patient": first.subject_id, "start_date": "2020-03-13",
                                           "anthracycline": "N", "asparaginase": "N", "vincristine": "Y",
                                           "corticosteroid": "Y"})
    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("Screen failure (not met: Performance status")


def test_duplicate_registration_needs_confirmation(api_client, coordinator, site_a):
    client = api_client(coordinator)
    body = {"initials": "JLM", "sex": "M", "date_of_birth": "2011-02-03", "registration_date": "2021-07-01"}
    assert _post(client, "registration", body).status_code == 201
    again = _post(client, "registration", body)
    assert again.status_code == 400
    assert "Possible duplicate of MX01-001" in again.json()["confirm_not_duplicate"][0]
    confirmed = _post(client, "registration", {**body, "confirm_not_duplicate": True})
    assert confirmed.status_code == 201
    assert confirmed.json()["patient"] == "MX01-002"


def test_screening_log_through_the_api_is_site_scoped(api_client, coordinator, outsider, register, site_a, site_b):
    failure = register(coordinator, site_a).patient
    build.enroll(coordinator, failure, performance_score=80)
    register(outsider, site_b)
    rows = api_client(coordinator).get(reverse("screening-log-list")).json()
    assert rows == [{"subject_id": failure.subject_id, "site": "MX01", "state": "screen_failure",
                     "registration_date": "2020-03-09", "consent_date": "2020-03-09", "withdrawal_date": None,
                     "eligibility_review_date": "2020-03-12", "failed_criteria": ["performance"]}]
    assert [r["site"] for r in api_client(outsider).get(reverse("screening-log-list")).json()] == ["MX04"]
