"""A coordinator pastes 31 days of counts from a spreadsheet into the grid, types the transfusion column with the
keyboard only, saves, and reads both engraftment days with their rule (D7)."""

import pytest

from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_enrollment_in_browser import _login
from transplant.models import DailyCount, TransplantProcedure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASTE = """([selector, text]) => {
    const target = document.querySelector(selector);
    target.focus();
    const data = new DataTransfer();
    data.setData("text/plain", text);
    target.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
}"""


def test_coordinator_pastes_a_month_of_counts_and_sees_both_engraftment_days(live_server, browser_page, coordinator,
                                                                               registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.response(coordinator, patient)
    tx.procedure(coordinator, patient)
    rows = tx.engrafting_counts()
    page, base = browser_page, live_server.url
    _login(page, base)
    page.goto(f"{base}/patients/{patient.subject_id}/")
    with page.expect_navigation():
        page.click(f"a[href='/patients/{patient.subject_id}/daily-counts/']")
    # ANC and platelets copied from a spreadsheet: two tab-separated columns, one line per day, pasted in day 0's ANC.
    sheet = "\r\n".join(f"{r['anc_per_ul']:,}\t{r['platelets_10e9_l']}" for r in rows) + "\r\n"
    page.evaluate(PASTE, ["input[name='anc_per_ul-0']", sheet])
    assert page.input_value("input[name='anc_per_ul-30']") == "800"
    assert page.input_value("input[name='platelets_10e9_l-30']") == "60"
    # The transfusion columns by keyboard only: a letter picks the answer, Enter moves to the next day.
    page.focus("select[name='platelet_transfusion-0']")
    for row in rows:
        page.keyboard.press("S" if row["platelet_transfusion"] == "Y" else "N")
        page.keyboard.press("Enter")
    page.evaluate(PASTE, ["select[name='red_cell_transfusion-0']", "\n".join("no" for _ in rows)])
    assert page.input_value("select[name='platelet_transfusion-3']") == "Y"
    assert page.input_value("select[name='platelet_transfusion-4']") == "N"
    with page.expect_navigation():
        page.click("button.primary")
    derived = page.locator("#derived")
    assert "+15" in derived.inner_text() and "+20" in derived.inner_text()
    assert "500/µL" in derived.inner_text() and "20 ×10⁹/L" in derived.inner_text()
    page.screenshot(path=str(ARTIFACTS / "daily-counts-grid.png"), full_page=True)
    assert DailyCount.objects.filter(patient=patient, status="complete").count() == 31
    transplant = TransplantProcedure.objects.get(patient=patient)
    assert (transplant.neutrophil_engraftment_day, transplant.platelet_engraftment_day) == (15, 20)
