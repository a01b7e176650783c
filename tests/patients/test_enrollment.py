"""Enrollment through the one save path: consent first, derivations, re-derivation, eligibility gating."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from patients.models import Baseline, Consent, DiagnosisHistory, Eligibility, Relapse
from tests import enrollment as build
from treatment.models import Debulking
from trial.crf import RECOMPUTED_REASON, CrfStatus, change_status, save_crf
from trial.quality.engine import check_patients

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages in English here, so the assertions read like the code; es-MX is checked where it matters."""
    with translation.override("en"):
        yield

DEBULKING = {"start_date": date(2020, 3, 13), "end_date": date(2020, 3, 17), "anthracycline": "N",
             "asparaginase": "N", "vincristine": "Y", "corticosteroid": "Y"}


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def test_no_other_form_before_consent(coordinator, registration_a):
    patient = registration_a.patient
    with pytest.raises(ValidationError, match="Record the consent first"):
        build.diagnosis(coordinator, patient)
    assert not DiagnosisHistory.objects.filter(patient=patient).exists()
    build.consent(coordinator, patient)
    assert build.diagnosis(coordinator, patient).pk


@pytest.mark.parametrize(("born", "required"), [
    pytest.param(date(2011, 3, 9), True, id="9th birthday on the consent date: assent required"),
    pytest.param(date(2011, 3, 10), False, id="one day short of 9: no assent needed"),
])
def test_assent_is_required_from_9_years_on_the_consent_date(coordinator, register, site_a, born, required):
    patient = register(coordinator, site_a, date_of_birth=born).patient
    if required:
        with pytest.raises(ValidationError) as refused:
            build.consent(coordinator, patient, assent_date=None)
        assert "assent_date" in refused.value.message_dict
        assert "9 years old on the consent date" in _messages(refused.value)
    else:
        consent = build.consent(coordinator, patient, assent_date=None)
        assert consent.assent_required is False and consent.age_at_consent_years == 8


def test_withdrawal_blocks_new_forms_but_keeps_and_allows_correcting_recorded_data(coordinator, registration_a):
    patient = registration_a.patient
    consent = build.consent(coordinator, patient)
    diagnosis = build.diagnosis(coordinator, patient)
    save_crf(consent, user=coordinator, data={"withdrawal_date": date(2020, 4, 1),
                                              "withdrawal_reason": "Family decision"},
             reason="Guardian withdrew consent", expected_version=consent.version)
    with pytest.raises(ValidationError, match="Consent was withdrawn on 2020-04-01"):
        build.baseline(coordinator, patient)
    save_crf(diagnosis, user=coordinator, data={"prior_chemotherapy_lines": 3}, reason="Source shows 3 lines",
             expected_version=diagnosis.version)
    assert DiagnosisHistory.objects.get(pk=diagnosis.pk).prior_chemotherapy_lines == 3


def test_withdrawal_needs_its_reason_and_cannot_precede_consent(coordinator, registration_a):
    with pytest.raises(ValidationError) as refused:
        build.consent(coordinator, registration_a.patient, withdrawal_date=date(2020, 3, 1))
    assert set(refused.value.message_dict) == {"withdrawal_date", "withdrawal_reason"}


def test_a_draft_relapse_without_its_date_yet_is_saved_beside_a_dated_one(coordinator, registration_a):
    """A draft saves what was typed: the diagnosis's check of the first relapse skips a relapse with no date."""
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    build.relapse(coordinator, patient, date(2017, 8, 1))
    draft = save_crf(Relapse(patient=patient), user=coordinator, data={"relapse_site": "isolated_bm"})
    assert draft.pk and draft.relapse_date is None and draft.status == CrfStatus.DRAFT
    assert DiagnosisHistory.objects.get(patient=patient).relapse_count == 1


def test_diagnosis_with_two_relapses_derives_count_status_and_bfm_group(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    first = build.relapse(coordinator, patient, date(2017, 8, 1))
    assert (first.relapse_number, first.timepoint, first.bfm_group) == (1, "very_early", "S4")
    dx = DiagnosisHistory.objects.get(patient=patient)
    assert (dx.relapse_count, dx.disease_status, dx.bfm_group) == (1, "first_hr_relapse", "S4")
    build.relapse(coordinator, patient, date(2019, 11, 5), site="combined", location="cns")
    dx = DiagnosisHistory.objects.get(patient=patient)
    assert dx.relapse_count == 2
    assert dx.disease_status == "second_or_later_relapse"
    assert (dx.latest_relapse_timepoint, dx.latest_relapse_site, dx.bfm_group) == ("late", "combined", "S2")
    history = list(dx.history.order_by("history_id"))
    assert history[-1].history_change_reason == RECOMPUTED_REASON
    assert history[-1].history_user == coordinator


def test_an_earlier_relapse_entered_later_renumbers_the_others(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    later = build.relapse(coordinator, patient, date(2019, 11, 5))
    build.relapse(coordinator, patient, date(2017, 8, 1))
    assert Relapse.objects.get(pk=later.pk).relapse_number == 2


def test_changing_the_diagnosis_date_reclassifies_the_relapses(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    dx = build.diagnosis(coordinator, patient, frontline_status="ongoing", frontline_end_date=None)
    relapse = build.relapse(coordinator, patient, date(2017, 8, 1))
    assert relapse.timepoint == "very_early"
    dx.refresh_from_db()  # the relapse re-derived it (version 2)
    save_crf(dx, user=coordinator, data={"diagnosis_date": date(2015, 6, 1)}, reason="Typing error",
             expected_version=dx.version)
    relapse = Relapse.objects.get(pk=relapse.pk)
    assert (relapse.months_from_diagnosis, relapse.timepoint, relapse.bfm_group) == (26, "early", "S3")
    assert relapse.status == CrfStatus.COMPLETE  # a recomputation is not a correction of typed data


def test_relapse_needs_the_diagnosis_first_and_must_follow_it(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    with pytest.raises(ValidationError, match="Enter Diagnosis and history first"):
        build.relapse(coordinator, patient, date(2017, 8, 1))
    build.diagnosis(coordinator, patient)
    with pytest.raises(ValidationError) as refused:
        build.relapse(coordinator, patient, date(2016, 4, 20))
    assert "is not after the initial diagnosis (2016-04-20)" in _messages(refused.value)


def test_baseline_derives_wbc_category_bsa_and_the_scale_from_age(coordinator, register, site_a):
    patient = register(coordinator, site_a, date_of_birth=date(2004, 3, 10)).patient  # 16 on 2020-03-10
    build.consent(coordinator, patient)
    baseline = build.baseline(coordinator, patient, wbc_per_ul=10_000, weight_kg=Decimal("50"),
                              height_cm=Decimal("165"))
    assert baseline.wbc_category == "10000_50000"
    assert baseline.bsa_m2 == pytest.approx(1.5138, abs=5e-5)
    assert (baseline.age_at_assessment_years, baseline.performance_scale) == (16, "karnofsky")
    save_crf(baseline, user=coordinator, data={"assessment_date": date(2020, 3, 9)}, reason="Date was the 9th",
             expected_version=baseline.version)
    assert Baseline.objects.get(pk=baseline.pk).performance_scale == "lansky"


def test_hard_range_refuses_with_field_value_and_range_in_both_languages(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    with pytest.raises(ValidationError) as refused:
        build.baseline(coordinator, patient, weight_kg=Decimal("250.0"))
    assert refused.value.message_dict["weight_kg"] == ["Weight: 250 kg is outside the allowed range 0.5 to 200 kg."]
    with translation.override("es-mx"):
        with pytest.raises(ValidationError) as rechazado:
            build.baseline(coordinator, patient, wbc_per_ul=1_000_001)
        assert rechazado.value.message_dict["wbc_per_ul"] == [
            "Leucocitos: 1,000,001 /µL está fuera del intervalo permitido de 0 a 1,000,000 /µL."]
    assert not Baseline.objects.filter(patient=patient).exists()


def test_soft_range_value_is_kept_and_marked_for_review(coordinator, registration_a, client):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    baseline = build.baseline(coordinator, patient, wbc_per_ul=400_000)
    assert baseline.wbc_per_ul == 400_000
    check_patients([patient.pk])  # the data-quality run asks the site to confirm it (rule QC-001)
    client.force_login(coordinator)
    page = client.get("/quality/queries/", {"rule": "QC-001"}).content.decode()
    assert patient.subject_id in page and "400,000 /µL" in page and "500–300,000 /µL" in page
    form_page = client.get(f"/patients/{patient.subject_id}/forms/baseline/{baseline.pk}/").content.decode()
    assert 'id="id_wbc_per_ul-warning"' in form_page


def test_eligible_patient_gets_treatment_forms(coordinator, registration_a):
    patient = registration_a.patient
    eligibility = build.enroll(coordinator, patient)
    assert eligibility.outcome == "eligible"
    assert eligibility.failed_criteria == "" and eligibility.missing_criteria == ""
    assert save_crf(Debulking(patient=patient), user=coordinator, data=DEBULKING).pk


def test_lansky_80_is_a_screen_failure_without_treatment_forms(coordinator, registration_a):
    patient = registration_a.patient
    eligibility = build.enroll(coordinator, patient, performance_score=80)
    assert eligibility.outcome == "screen_failure"
    assert eligibility.failed_criteria == "performance"
    assert eligibility.failed_wording() == [
        "Performance status above 80 (Lansky under 16 years, Karnofsky from 16)"]
    with pytest.raises(ValidationError, match="Screen failure"):
        save_crf(Debulking(patient=patient), user=coordinator, data=DEBULKING)


def test_eligibility_follows_a_correction_of_its_sources_with_an_audit_record(coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    baseline = Baseline.objects.get(patient=patient)
    save_crf(baseline, user=coordinator, data={"performance_score": 70}, reason="Source says 70",
             expected_version=baseline.version)
    eligibility = Eligibility.objects.get(patient=patient)
    assert (eligibility.outcome, eligibility.performance_met) == ("screen_failure", False)
    last = eligibility.history.order_by("-history_id").first()
    assert (last.history_change_reason, last.outcome) == (RECOMPUTED_REASON, "screen_failure")


def test_eligibility_before_baseline_is_incomplete_and_says_what_is_missing(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    build.relapse(coordinator, patient, date(2017, 8, 1))
    eligibility = build.eligibility(coordinator, patient)
    assert eligibility.outcome == "incomplete"
    assert eligibility.missing_criteria == "cd19_pre_b,performance"
    with pytest.raises(ValidationError, match="Treatment forms open once"):
        save_crf(Debulking(patient=patient), user=coordinator, data=DEBULKING)
    build.baseline(coordinator, patient)
    assert Eligibility.objects.get(patient=patient).outcome == "eligible"


def test_isolated_extramedullary_relapse_is_excluded(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    build.relapse(coordinator, patient, date(2019, 11, 5), site="isolated_em", location="testis")
    build.baseline(coordinator, patient)
    eligibility = build.eligibility(coordinator, patient)
    assert (eligibility.outcome, eligibility.failed_criteria) == ("screen_failure", "not_isolated_em")


def test_future_dates_are_refused_with_the_field_named(coordinator, registration_a):
    tomorrow = date.today() + timedelta(days=2)
    with pytest.raises(ValidationError) as refused:
        build.consent(coordinator, registration_a.patient, consent_date=tomorrow, assent_date=None)
    assert refused.value.message_dict["consent_date"] == [
        f"Parent/guardian consent date: {tomorrow.isoformat()} is in the future."]
    assert not Consent.objects.exists()


def test_a_change_that_would_alter_a_locked_form_is_refused(coordinator, data_manager, registration_a):
    patient = registration_a.patient
    eligibility = build.enroll(coordinator, patient)
    change_status(eligibility, user=data_manager, transition="lock", expected_version=eligibility.version)
    baseline = Baseline.objects.get(patient=patient)
    with pytest.raises(ValidationError, match="locked eligibility form"):
        save_crf(baseline, user=coordinator, data={"performance_score": 70}, reason="Source says 70",
                 expected_version=baseline.version)
    assert Baseline.objects.get(pk=baseline.pk).performance_score == 90  # nothing half-written
    locked = Eligibility.objects.get(patient=patient)
    assert (locked.status, locked.outcome, locked.version) == ("locked", "eligible", eligibility.version)
    save_crf(baseline, user=coordinator, data={"hemoglobin_g_dl": Decimal("9.9")}, reason="Typo",
             expected_version=baseline.version)  # a change eligibility does not read goes through


def test_a_recomputed_verified_form_returns_to_complete(coordinator, monitor, registration_a):
    patient = registration_a.patient
    eligibility = build.enroll(coordinator, patient)
    change_status(eligibility, user=monitor, transition="verify", expected_version=eligibility.version)
    baseline = Baseline.objects.get(patient=patient)
    save_crf(baseline, user=coordinator, data={"performance_score": 70}, reason="Source says 70",
             expected_version=baseline.version)
    assert Eligibility.objects.get(pk=eligibility.pk).status == CrfStatus.COMPLETE


def test_a_correction_that_would_invalidate_another_form_is_refused(coordinator, register, site_a):
    patient = register(coordinator, site_a, date_of_birth=date(2011, 6, 1)).patient  # 8 on 2020-03-09
    build.consent(coordinator, patient, assent_date=None)
    registration = patient.registration
    with pytest.raises(ValidationError, match="would make the consent form invalid"):
        save_crf(registration, user=coordinator, data={"date_of_birth": date(2009, 6, 1)}, reason="Typo",
                 expected_version=registration.version)
    assert Consent.objects.get(patient=patient).assent_required is False


def test_birth_cannot_move_after_a_recorded_diagnosis(coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    with pytest.raises(ValidationError) as refused:
        save_crf(registration_a, user=coordinator, data={"date_of_birth": date(2017, 6, 1)}, reason="Typo",
                 expected_version=registration_a.version)
    assert refused.value.message_dict["date_of_birth"] == [
        "The date of birth 2017-06-01 is after the initial diagnosis date (2016-04-20) already recorded for this "
        "patient."]


def test_a_value_outside_the_soft_range_is_listed_once_per_field(coordinator, registration_a):
    from trial.ranges import queryset_findings

    build.consent(coordinator, registration_a.patient)
    build.baseline(coordinator, registration_a.patient, hemoglobin_g_dl=Decimal("4.6"), wbc_per_ul=400_000)
    findings = list(queryset_findings(Baseline.objects.all()))
    assert sorted((f.field, f.expected) for f in findings) == [
        ("hemoglobin_g_dl", "5–18 g/dL"), ("wbc_per_ul", "500–300,000 /µL")]


def test_only_a_change_other_forms_read_looks_for_forms_to_re_derive(coordinator, registration_a):
    """Other forms read the date of birth and the age at registration, never the initials (crf_reads): correcting
    the initials writes the registration and its audit record, and looks for nothing else to re-derive."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patients.models import Registration

    patient = registration_a.patient
    build.enroll(coordinator, patient)

    def correct(**data) -> list[str]:
        registration = Registration.objects.get(patient=patient)
        with CaptureQueriesContext(connection) as queries:
            save_crf(registration, user=coordinator, data=data, reason="Source says so",
                     expected_version=registration.version)
        return [q["sql"] for q in queries.captured_queries if "patients_consent" in q["sql"]]

    consent_version = Consent.objects.get(patient=patient).version
    assert correct(initials="ABD") == []
    assert Consent.objects.get(patient=patient).version == consent_version
    found = correct(date_of_birth=date(2012, 5, 4))  # the earliest date check, the dependents, the consent read
    assert sum("UNION ALL" in sql and "patients_baseline" in sql for sql in found) == 2
    assert correct(sex="M") == []
