"""A coordinator logs in, registers a patient, sees the new subject ID, and corrects it with a reason."""

import pytest

from patients.models import Registration
from tests.conftest import PASSWORD
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_registers_then_corrects_with_a_reason(live_server, browser_page, coordinator, site_a):
    page = browser_page
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "coord.a")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == f"{live_server.url}/patients/", page.content()

    page.click("a[href='/patients/register/']")
    page.fill("#id_initials", "mga")
    page.select_option("#id_sex", "F")
    page.fill("#id_date_of_birth", "2013-04-05")
    page.fill("#id_registration_date", "2021-01-10")
    page.click("button[name=save_complete]")

    page.wait_for_url("**/patients/MX01-001/")
    assert page.locator("h1").inner_text().startswith("MX01-001")
    assert "MX01-001" in page.locator(".message").inner_text()
    page.screenshot(path=str(ARTIFACTS / "patient-page.png"), full_page=True) if ARTIFACTS.exists() else None

    page.click("a[href*='/forms/registration/']")
    page.fill("#id_initials", "MGB")
    page.click("button[name=save]")
    page.locator("#id_reason-error").wait_for(state="visible")  # the reason is asked for, nothing saved yet
    assert Registration.objects.get().initials == "MGA"

    page.fill("#id_initials", "MGB")
    page.fill("#id_reason", "Iniciales mal transcritas del expediente")
    page.click("button[name=save]")
    page.wait_for_selector(".message.success")
    audit = page.locator("table.audit").inner_text()
    assert "Iniciales mal transcritas del expediente" in audit and "MGB" in audit and "coord.a" in audit
    stored = Registration.objects.get()
    assert (stored.initials, stored.version) == ("MGB", 2)
