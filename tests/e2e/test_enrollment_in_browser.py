"""A coordinator enrolls a patient end to end in the browser; a second patient fails on Lansky 80."""

from datetime import date

import pytest
from django.utils import translation

from patients.models import Eligibility
from patients.models.eligibility import Outcome
from patients.services import register_patient
from tests import enrollment as build
from tests.conftest import PASSWORD, REGISTRATION
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DIAGNOSIS = {"diagnosis_date": "2016-04-20", "immunophenotype": "bcp", "cytogenetics": "etv6_runx1",
             "frontline_protocol": "St. Jude Total XV", "frontline_status": "completed",
             "frontline_end_date": "2018-10-01", "last_induction_response": "remission",
             "prior_chemotherapy_lines": "2", "prior_hsct": "N", "prior_immunotherapy": "N",
             "high_risk_by_mrd": "not_assessed"}
BASELINE = {"assessment_date": "2020-03-10", "weight_kg": "30", "height_cm": "135", "wbc_per_ul": "8400",
            "hemoglobin_g_dl": "9.8", "platelets_10e9_l": "85", "marrow_blasts_pct": "62", "cd19_pct": "96",
            "cns_status": "CNS1", "lumbar_puncture_date": "2020-03-10", "extramedullary_disease": "N",
            "hla_typing_done": "Y", "hla_typing_date": "2020-03-11", "hla_typing_method": "pcr_ssp"}


def _label(choice) -> str:
    with translation.override("es-mx"):
        return str(choice.label)


def _fill(page, values: dict) -> None:
    for name, value in values.items():
        selector = f"#id_{name}"
        if page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            page.select_option(selector, value)
        else:
            page.fill(selector, value)


def _enter(page, subject: str, form: str, values: dict) -> None:
    """From the patient page: open a new form, fill it, save it complete, and come back."""
    page.click(f"a[href='/patients/{subject}/forms/{form}/new/']")
    _fill(page, values)
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    page.click(f".crumbs a[href='/patients/{subject}/']")
    page.wait_for_url(f"**/patients/{subject}/")


def _login(page, base: str) -> None:
    page.goto(f"{base}/")
    page.fill("#id_username", "coord.a")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def _register(page, base: str, initials: str) -> str:
    page.goto(f"{base}/patients/register/")
    _fill(page, {"initials": initials, "sex": "F", "date_of_birth": "2012-05-03", "registration_date": "2020-03-09"})
    page.click("button[name=save_complete]")
    page.wait_for_url("**/patients/MX01-*/")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def _enroll(page, base: str, initials: str, performance: str) -> str:
    subject = _register(page, base, initials)
    assert page.locator("a[href$='/forms/diagnosishistory/new/']").count() == 0  # consent first
    _enter(page, subject, "consent", {"consent_date": "2020-03-09", "consent_version": "2.1"})
    _enter(page, subject, "diagnosishistory", DIAGNOSIS)
    _enter(page, subject, "relapse", {"relapse_date": "2017-08-01", "relapse_site": "isolated_bm"})
    _enter(page, subject, "relapse", {"relapse_date": "2019-11-05", "relapse_site": "combined",
                                      "extramedullary_location": "cns"})
    page.click(f"a[href='/patients/{subject}/forms/baseline/new/']")
    assert "Lansky" in page.locator("label[for=id_performance_score]").inner_text()  # the scale for a 7-year-old
    _fill(page, {**BASELINE, "performance_score": performance})
    page.locator("[data-derived=bsa_m2]", has_text="1.06 m²").wait_for()  # computed as typed, before saving
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    assert page.locator("[data-derived=wbc_category]").inner_text() == "< 10,000 /µL"
    assert page.locator("[data-derived=bsa_m2]").inner_text() == "1.06 m²"
    page.click(f".crumbs a[href='/patients/{subject}/']")
    page.click(f"a[href='/patients/{subject}/forms/eligibility/new/']")
    _fill(page, {"assessment_date": "2020-03-12"})
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    return subject


def test_coordinator_enrolls_an_eligible_patient_then_a_lansky_screen_failure(live_server, browser_page,
                                                                              coordinator, site_a):
    page, base = browser_page, live_server.url
    _login(page, base)

    eligible = _enroll(page, base, "MGA", "90")
    assert page.locator("[data-derived=outcome]").inner_text() == _label(Outcome.ELIGIBLE)
    assert page.locator("[data-derived=failed_criteria]").inner_text() == "—"
    page.click(f".crumbs a[href='/patients/{eligible}/']")
    page.locator("#eligible-banner").wait_for(state="visible")  # after the navigation the click started
    assert page.locator("[data-derived=relapse_count]").inner_text() == "2"
    # Treatment forms open: debulking is offered in the casebook, and on the schedule (its window has passed).
    assert page.locator("a[href$='/forms/debulking/new/']").count() == 2
    assert page.locator("#schedule [data-visit=DEB] a[href$='/forms/debulking/new/']").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "enrolled-patient.png"), full_page=True)

    failure = _enroll(page, base, "LRT", "80")
    assert page.locator("[data-derived=outcome]").inner_text() == _label(Outcome.SCREEN_FAILURE)
    assert "80" in page.locator("[data-derived=failed_criteria]").inner_text()
    page.click(f".crumbs a[href='/patients/{failure}/']")
    page.locator("#screen-failure-banner").wait_for(state="visible")
    assert page.locator("a[href$='/forms/debulking/new/']").count() == 0  # no treatment forms

    page.goto(f"{base}/patients/screening-log/")
    assert failure in page.locator("#screen-failures").inner_text()
    assert page.locator("[data-site=MX01] [data-count=eligible]").inner_text() == "1"
    assert page.locator("[data-site=MX01] [data-count=screen_failure]").inner_text() == "1"
    page.screenshot(path=str(ARTIFACTS / "screening-log.png"), full_page=True)
    outcomes = dict(Eligibility.objects.values_list("patient__subject_id", "outcome"))
    assert outcomes == {eligible: "eligible", failure: "screen_failure"}


def test_the_performance_scale_follows_the_assessment_date_as_it_is_typed(live_server, browser_page, coordinator,
                                                                          site_a):
    patient = register_patient(user=coordinator, site=site_a,
                               data={**REGISTRATION, "date_of_birth": date(2004, 3, 10)}).patient  # 15 on 2020-03-09
    build.consent(coordinator, patient)
    page, base = browser_page, live_server.url
    _login(page, base)
    page.goto(f"{base}/patients/{patient.subject_id}/forms/baseline/new/")
    assert "Lansky" in page.locator("label[for=id_performance_score]").inner_text()
    page.fill("#id_assessment_date", "2020-03-10")  # the 16th birthday
    page.locator("label[for=id_performance_score]", has_text="Karnofsky").wait_for()
    page.select_option("#id_performance_score", "90")
    assert "Karnofsky" in page.locator("[data-derived=performance_scale]").inner_text()
