"""The enrollment pages: duplicate warning, patient page banners, new-form previews, scale, screening log."""

from datetime import date

import pytest
from django.urls import reverse

from patients.models import Consent, Patient, Registration
from tests import enrollment as build
from trial.crf import crf_models, save_crf

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client, settings):
    """Pages in English here, so the assertions read like the code (es-MX is covered elsewhere)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client

REGISTER = {"initials": "JLM", "sex": "M", "date_of_birth": "2011-02-03", "registration_date": "2021-07-01"}


def test_a_possible_duplicate_must_be_confirmed_or_cancelled(client, coordinator, site_a, register):
    existing = register(coordinator, site_a, initials="JLM", sex="M", date_of_birth=date(2011, 2, 3)).patient
    client.force_login(coordinator)
    url = reverse("patients:register")
    form = {**REGISTER, "site": site_a.pk}
    warned = client.post(url, {**form, "save_complete": ""})
    assert warned.status_code == 200
    page = warned.content.decode()
    assert 'id="possible-duplicates"' in page and existing.subject_id in page
    assert Patient.objects.count() == 1
    unticked = client.post(url, {**form, "duplicate_check": "shown", "save_complete": ""})
    assert unticked.status_code == 200 and Patient.objects.count() == 1
    assert 'id="id_confirm_not_duplicate-error"' in unticked.content.decode()
    confirmed = client.post(url, {**form, "duplicate_check": "shown", "confirm_not_duplicate": "on",
                                  "save_complete": ""})
    assert confirmed.status_code == 302
    created = Registration.objects.get(patient__subject_id="MX01-002")
    assert existing.subject_id in created.history.get().history_change_reason


def test_same_child_at_another_site_is_not_a_duplicate(client, outsider, site_b, coordinator, site_a, register):
    register(coordinator, site_a, initials="JLM", sex="M", date_of_birth=date(2011, 2, 3))
    client.force_login(outsider)
    response = client.post(reverse("patients:register"), {**REGISTER, "site": site_b.pk, "save_complete": ""})
    assert response.status_code == 302
    assert Patient.objects.filter(site=site_b).count() == 1


def test_patient_page_before_consent_offers_only_the_consent(client, coordinator, registration_a):
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[registration_a.patient.subject_id])).content.decode()
    subject = registration_a.patient.subject_id
    assert f"/patients/{subject}/forms/consent/new/" in page
    assert f"/patients/{subject}/forms/diagnosishistory/new/" not in page
    assert "Record the consent first" in page


def test_withdrawn_patient_page_says_so_and_offers_no_new_form(client, coordinator, registration_a):
    patient = registration_a.patient
    consent = build.consent(coordinator, patient)
    save_crf(consent, user=coordinator, expected_version=consent.version, reason="Withdrawn",
             data={"withdrawal_date": date(2020, 4, 1), "withdrawal_reason": "Family decision"})
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[patient.subject_id])).content.decode()
    assert 'id="withdrawn-banner"' in page and "2020-04-01" in page and "Family decision" in page
    assert "/new/" not in page
    refused = client.get(reverse("casebook:form-new", args=[patient.subject_id, "baseline"]))
    assert refused.status_code == 200 and b"Consent was withdrawn" in refused.content
    assert b'name="save_complete"' not in refused.content


def test_screen_failure_page_lists_the_failed_criteria(client, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient, performance_score=80)
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[patient.subject_id])).content.decode()
    assert 'id="screen-failure-banner"' in page
    assert "Performance status above 80" in page
    assert f"/patients/{patient.subject_id}/forms/debulking/new/" not in page


def test_every_new_form_page_opens_with_its_computed_preview(client, coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    client.force_login(coordinator)
    for model in crf_models():
        if model.crf_addable and model is not Consent:
            response = client.get(reverse("casebook:form-new", args=[patient.subject_id, model.crf_slug()]))
            assert response.status_code == 200, model
    build.enroll(coordinator, Patient.objects.get(pk=registration_a.patient.pk), consent_given=True)
    for model in crf_models():
        if model.crf_repeating:
            response = client.get(reverse("casebook:form-new", args=[patient.subject_id, model.crf_slug()]))
            assert response.status_code == 200, model


def test_eligibility_preview_shows_the_evaluation_before_saving(client, coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    build.relapse(coordinator, patient, date(2019, 11, 5))
    build.baseline(coordinator, patient, performance_score=70)
    client.force_login(coordinator)
    page = client.get(reverse("casebook:form-new", args=[patient.subject_id, "eligibility"])).content.decode()
    assert 'data-derived="outcome">Screen failure<' in page


@pytest.mark.parametrize(("born", "scale", "wording"), [
    pytest.param(date(2004, 3, 11), "Lansky", "Minor restrictions in physically strenuous activity", id="15 y"),
    pytest.param(date(2004, 3, 10), "Karnofsky", "Able to carry on normal activity", id="16th birthday"),
])
def test_baseline_form_offers_the_scale_for_the_age_on_the_assessment_date(client, coordinator, register, site_a,
                                                                           born, scale, wording):
    patient = register(coordinator, site_a, date_of_birth=born).patient
    build.consent(coordinator, patient)
    client.force_login(coordinator)
    url = reverse("casebook:form-new", args=[patient.subject_id, "baseline"])
    # Completing it with only the date is refused: the form is shown again, with the scale for that date.
    page = client.post(url, {"assessment_date": "2020-03-10", "save_complete": ""}).content.decode()
    assert scale in page and f"90 — {wording}" in page


def test_screening_log_counts_per_site_and_lists_reasons(client, coordinator, register, site_a, data_manager,
                                                         outsider, site_b):
    eligible = register(coordinator, site_a).patient
    build.enroll(coordinator, eligible)
    failure = register(coordinator, site_a, initials="XYZ").patient
    build.enroll(coordinator, failure, performance_score=80)
    register(coordinator, site_a, initials="QRS")  # registered only
    other = register(outsider, site_b).patient
    build.enroll(outsider, other)
    client.force_login(data_manager)
    page = client.get(reverse("patients:screening-log")).content.decode()
    assert 'data-site="MX01"' in page and 'data-site="MX04"' in page
    for count, value in [("registered", 3), ("eligible", 1), ("screen_failure", 1), ("awaiting_consent", 1)]:
        assert f'<td data-count="{count}">{value}</td>' in page.split('data-site="MX01"')[1].split("</tr>")[0]
    assert failure.subject_id in page.split('id="screen-failures"')[1]
    client.force_login(outsider)
    page = client.get(reverse("patients:screening-log")).content.decode()
    assert 'data-site="MX01"' not in page and eligible.subject_id not in page


def test_patient_list_shows_each_patients_enrollment_state(client, coordinator, registration_a):
    build.enroll(coordinator, registration_a.patient)
    Consent.objects.get(patient=registration_a.patient)
    client.force_login(coordinator)
    page = client.get(reverse("patients:list")).content.decode()
    assert '<span class="badge eligible">Eligible</span>' in page


def test_a_new_baseline_offers_the_scale_for_the_age_at_registration_not_today(client, coordinator, register,
                                                                               site_a):
    patient = register(coordinator, site_a, date_of_birth=date(2004, 6, 1)).patient  # 15 at registration 2020
    build.consent(coordinator, patient)
    client.force_login(coordinator)
    page = client.get(reverse("casebook:form-new", args=[patient.subject_id, "baseline"])).content.decode()
    assert "Lansky" in page and "the patient is 15 years old on 2020-03-09" in page


def test_the_preview_computes_derived_values_from_the_typed_ones_without_saving(client, coordinator,
                                                                               registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    client.force_login(coordinator)
    url = reverse("casebook:form-preview", args=[patient.subject_id, "baseline"])
    typed = {"assessment_date": "2020-03-10", "weight_kg": "50", "height_cm": "165", "wbc_per_ul": "52000"}
    fragment = client.post(url, typed, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-derived="bsa_m2">1.51 m²<' in fragment
    assert 'data-derived="wbc_category">&gt; 50,000 /µL<' in fragment
    assert 'data-derived="performance_scale">Lansky' in fragment
    half_typed = client.post(url, {"weight_kg": "5x", "height_cm": "165"}).content.decode()
    assert 'data-derived="bsa_m2">—<' in half_typed
    from patients.models import Baseline

    assert not Baseline.objects.exists()


def test_the_preview_of_a_saved_form_starts_from_its_stored_values(client, coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    baseline = build.baseline(coordinator, patient)
    client.force_login(coordinator)
    url = reverse("casebook:form-preview", args=[patient.subject_id, "baseline"])
    fragment = client.post(url, {"record": baseline.pk, "wbc_per_ul": "60000"}).content.decode()
    assert 'data-derived="wbc_category">&gt; 50,000 /µL<' in fragment
    baseline.refresh_from_db()
    assert baseline.wbc_category == "lt_10000" and baseline.version == 1


def test_entering_a_one_per_patient_form_again_opens_the_existing_one(client, coordinator, registration_a):
    consent = build.consent(coordinator, registration_a.patient)
    client.force_login(coordinator)
    response = client.get(reverse("casebook:form-new", args=[registration_a.patient.subject_id, "consent"]))
    assert response.status_code == 302
    assert response["Location"] == reverse("casebook:form", args=[registration_a.patient.subject_id, "consent",
                                                                  consent.pk])


def test_screening_log_downloads_as_csv_with_the_reasons(client, coordinator, registration_a):
    build.enroll(coordinator, registration_a.patient, performance_score=80)
    client.force_login(coordinator)
    response = client.get(reverse("patients:screening-log"), {"download": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Subject ID,Site,Registration date")
    assert lines[1] == (f"{registration_a.patient.subject_id},MX01,2020-03-09,2020-03-09,,2020-03-12,Screen failure,"
                        '"Performance status above 80 (Lansky under 16 years, Karnofsky from 16) — recorded: Lansky '
                        'play-performance 80"')


def test_incomplete_eligibility_says_which_data_and_forms_are_missing(client, coordinator, registration_a):
    patient = registration_a.patient
    build.consent(coordinator, patient)
    build.diagnosis(coordinator, patient)
    build.relapse(coordinator, patient, date(2019, 11, 5))
    build.eligibility(coordinator, patient)
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[patient.subject_id])).content.decode()
    banner = page.split('id="eligibility-pending-banner"')[1].split("</div>")[0]
    assert "Performance status above 80" in banner and "(Baseline)" in banner
    assert "Age 0 to 18 years" not in banner


def test_screening_log_reads_a_constant_number_of_queries(client, coordinator, register, site_a,
                                                          django_assert_max_num_queries):
    for initials in ("AAA", "BBB", "CCC", "DDD"):
        build.enroll(coordinator, register(coordinator, site_a, initials=initials).patient, performance_score=80)
    client.force_login(coordinator)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("patients:screening-log")).content.decode()
    assert page.count("recorded: Lansky play-performance 80") == 4


def test_typing_the_assessment_date_re_offers_the_performance_scale(client, coordinator, register, site_a):
    patient = register(coordinator, site_a, date_of_birth=date(2004, 3, 10)).patient  # 15 at registration
    build.consent(coordinator, patient)
    client.force_login(coordinator)
    url = reverse("casebook:form-preview", args=[patient.subject_id, "baseline"])
    before = client.post(url, {"assessment_date": "2020-03-09", "performance_score": "90"}).content.decode()
    same = client.post(url, {"assessment_date": "2020-03-09", "performance_score": "90",
                             "_offer_performance_score": "lansky"}).content.decode()
    assert 'id="field-performance_score"' not in same  # nothing changed: the field is left alone
    after = client.post(url, {"assessment_date": "2020-03-10", "performance_score": "90",
                              "_offer_performance_score": "lansky"}).content.decode()
    assert 'id="field-performance_score" class="field required" hx-swap-oob="true"' in after
    assert "90 — Minor restrictions in physically strenuous activity" in before
    assert '<option value="90" selected>90 — Able to carry on normal activity' in after
    assert 'class="error"' not in after.split('id="field-performance_score"')[1]
