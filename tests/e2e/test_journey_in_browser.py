"""Issue item 8: the patient's journey reads on a bedside tablet (768 px wide): the engraftment event and the
schedule's overdue marks are in sight, and the page does not scroll sideways."""

import pytest

from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from tests.e2e.test_enrollment_in_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 768, "height": 1024}


def test_the_journey_fits_a_tablet_with_engraftment_and_overdue_visits_in_sight(live_server, browser_page,
                                                                               coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    tx.transplant(coordinator, patient)  # neutrophils engraft on day +15 (2020-06-30)
    tx.acute_gvhd(coordinator, patient, 7, skin_stage=1)  # the later weekly assessments are overdue
    page, base = browser_page, live_server.url
    page.set_viewport_size(TABLET)
    _login(page, base)
    page.goto(f"{base}/patients/{patient.subject_id}/journey/")

    engrafted = page.locator("ol.journey li[data-kind=neutrophils]")
    engrafted.scroll_into_view_if_needed()
    assert engrafted.is_visible()
    assert "2020-06-30" in engrafted.inner_text() and "+15" in engrafted.inner_text()
    overdue = page.locator("#schedule-marks li[data-state=overdue]").first
    overdue.scroll_into_view_if_needed()
    assert overdue.is_visible()
    assert page.locator("#journey-schedule-alert").is_visible()  # said at the top too, with a link to the marks
    box = engrafted.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= TABLET["width"]
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
