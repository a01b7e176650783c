"""Issue 12's "done": the data manager runs the checks from the dashboard and sees the rule's query; a monitor raises
a query next to a field; the coordinator answers it from the patient page; the monitor closes it. In Chromium."""

from decimal import Decimal

import pytest

from tests import enrollment as build
from tests.conftest import PASSWORD
from trial.quality.hooks import checks_paused
from trial.quality.models import Query

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def _logout(page) -> None:
    with page.expect_navigation():
        page.click("form[action$='/accounts/logout/'] button")


def test_checks_then_a_query_raised_answered_and_closed_in_the_browser(live_server, browser_page, coordinator,
                                                                       monitor, data_manager, registration_a):
    patient = registration_a.patient
    with checks_paused():  # the data manager's run finds it, not the save's re-check
        build.consent(coordinator, patient)
        build.diagnosis(coordinator, patient)
        baseline = build.baseline(coordinator, patient, weight_kg=Decimal("160.0"))
    page, base = browser_page, live_server.url

    _login(page, base, "dm")
    page.goto(f"{base}/quality/")
    assert page.locator("#quality-by-site").is_visible()
    page.click("#run-checks")
    page.click("#start-run button[type=submit]")
    page.wait_for_selector("#runs tbody tr")
    assert "160 kg" in page.goto(f"{base}/quality/queries/?status=open&rule=QC-001").text()
    rule_query = Query.objects.get(rule="QC-001", field="weight_kg")
    assert page.locator(f"#queries a[href='/quality/queries/{rule_query.pk}/']").is_visible()
    _logout(page)

    _login(page, base, "monitor.a")
    page.goto(f"{base}/patients/{patient.subject_id}/forms/baseline/{baseline.pk}/")
    page.click("#field-height_cm a.raise-query")
    page.fill("#query-text", "La historia clínica dice 134 cm; por favor verifique.")
    with page.expect_navigation():
        page.click("#query-new button[type=submit]")
    query = Query.objects.get(rule="", field="height_cm")
    assert page.url.endswith(f"/quality/queries/{query.pk}/")
    _logout(page)

    _login(page, base, "coord.a")
    page.goto(f"{base}/patients/{patient.subject_id}/")
    page.click(f"#patient-queries a[href='/quality/queries/{query.pk}/']")
    page.fill("#text-answer", "Verificado: 135 cm en la hoja de somatometría del 10/03/2020.")
    with page.expect_navigation():
        page.click("#step-answer button[type=submit]")
    assert page.locator("#query-status").inner_text().strip() == "Respondida"
    assert page.locator("#step-close").count() == 0  # the site answers; the raiser closes
    _logout(page)

    _login(page, base, "monitor.a")
    page.goto(f"{base}/quality/queries/{query.pk}/")
    assert "135 cm" in page.locator("#thread").inner_text()
    with page.expect_navigation():
        page.click("#step-close button[type=submit]")
    assert page.locator("#query-status").inner_text().strip() == "Cerrada"
    query.refresh_from_db()
    assert (query.status, query.closed_by) == ("closed", monitor)
