"""A coordinator enters blinatumomab cycle 1 and daily CRS signs; the grades appear as they type and on save."""

import pytest
from django.utils import translation

from tests import enrollment as build
from tests import treatment_forms as treatment
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_enrollment_in_browser import _fill, _login
from treatment.models import BlinatumomabCycle, CrsAssessment
from treatment.models.codes import Grade

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every sign of a CRS day answered "no" / "none", as the coordinator does: nothing starts pre-answered.
NO_SIGNS = {"fever_other_cause": "N", "hypotension": "none", "vasopressin": "N", "oxygen_device": "none",
            "antipyretics": "N", "tocilizumab": "N", "corticosteroids": "N", "death_due_to_crs": "N"}


def _grade(grade: int) -> str:
    with translation.override("es-mx"):
        return str(Grade(grade).label)


def _dose(text: str) -> str:
    with translation.override("es-mx"):
        return translation.gettext("%(dose)s µg/day") % {"dose": text}


def _new_form(page, subject: str, form: str) -> None:
    page.goto(page.url.split("/patients/")[0] + f"/patients/{subject}/")
    page.click(f"a[href='/patients/{subject}/forms/{form}/new/']")


def test_coordinator_enters_a_cycle_with_daily_crs_signs(live_server, browser_page, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    subject = patient.subject_id
    page, base = browser_page, live_server.url
    _login(page, base)
    page.goto(f"{base}/patients/{subject}/")

    _new_form(page, subject, "blinatumomabcycle")
    _fill(page, {"cycle_number": "1", "start_date": "2020-03-20", "weight_kg": "30", "height_cm": "135"})
    # BSA and the planned doses are computed while typing, before anything is saved.
    page.locator("[data-derived=bsa_m2]", has_text="1.06 m²").wait_for()
    page.locator("[data-derived=planned_step_ug_day]", has_text=_dose("5.3")).wait_for()
    page.locator("[data-derived=planned_full_ug_day]", has_text=_dose("15.9")).wait_for()
    _fill(page, {"prescribed_step_ug_day": "5.3", "prescribed_full_ug_day": "15.9", "discontinued_early": "N"})
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    cycle = BlinatumomabCycle.objects.get(patient=patient)
    assert (round(cycle.planned_step_ug_day, 1), round(cycle.planned_full_ug_day, 1)) == (5.3, 15.9)

    # Day 2: fever only — grade 1, shown as typed (once hypotension and oxygen are answered).
    _new_form(page, subject, "crsassessment")
    _fill(page, {"assessment_date": "2020-03-21", "max_temperature_c": "38.4", **NO_SIGNS})
    page.locator("[data-derived=crs_grade]", has_text=_grade(1)).wait_for()
    # Then the child needs a vasopressor: the grade rises to 3 before saving.
    _fill(page, {"hypotension": "vasopressors", "vasopressors": "1"})
    page.locator("[data-derived=crs_grade]", has_text=_grade(3)).wait_for()
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    assert page.locator("[data-derived=crs_grade]").inner_text() == _grade(3)

    # Day 3: afebrile after tocilizumab, still on one vasopressor — the masked fever keeps grade 3 (CRS-F2).
    _new_form(page, subject, "crsassessment")
    _fill(page, {"assessment_date": "2020-03-22", "max_temperature_c": "37.2", **NO_SIGNS,
                 "hypotension": "vasopressors", "vasopressors": "1", "tocilizumab": "Y"})
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    assert page.locator("[data-derived=crs_grade]").inner_text() == _grade(3)
    assert page.locator("[data-derived=crs_ongoing]").inner_text() == "✓"

    # Day 4: the investigator rates the day grade 1, but the findings give 2: the form asks to confirm.
    _new_form(page, subject, "crsassessment")
    _fill(page, {"assessment_date": "2020-03-23", "max_temperature_c": "38.1", **NO_SIGNS, "hypotension": "fluids",
                 "reported_grade": "1"})
    page.click("button[name=save_complete]")
    page.locator("#id_reported_grade-error").wait_for()
    assert CrsAssessment.objects.filter(patient=patient).count() == 2  # nothing saved yet
    page.check("#id_disagreement_confirmed")
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    assert page.locator("[data-derived=crs_grade]").inner_text() == _grade(2)

    page.click(f".crumbs a[href='/patients/{subject}/']")
    summary = page.locator("#treatment-summary")
    assert _grade(3) in summary.locator("[data-cycle='1'] [data-derived=crs]").inner_text()
    assert _grade(3) in summary.locator("[data-derived=worst_crs]").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "treated-patient.png"), full_page=True)
    stored = dict(CrsAssessment.objects.filter(patient=patient).values_list("assessment_date__day", "crs_grade"))
    assert stored == {21: 3, 22: 3, 23: 2}


def test_at_a_bedside_tablet_a_coordinator_finds_an_adverse_event_by_typing_neutrop(
        live_server, browser_page, coordinator, registration_a):
    """Item 6 at 768 × 1024, keyboard only: type "neutrop", Tab to the suggestion, Enter, fill the rest, save."""
    from treatment.models import AdverseEvent

    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": 768, "height": 1024})
    _login(page, base)
    page.goto(f"{base}/patients/{patient.subject_id}/forms/adverseevent/new/")
    page.click("#id_term")
    page.keyboard.type("neutrop")
    suggestion = page.locator("#id_term-suggestions button.suggestion", has_text="Febrile neutropenia")
    suggestion.wait_for()
    assert page.locator("#id_term-suggestions button.suggestion", has_text="Neutrophil count decreased").count() == 1
    suggestion.focus()  # Tab from the field reaches the list; focus the wanted one as Tab and arrow keys would
    page.keyboard.press("Enter")
    page.locator("#id_term[value^='Febrile neutropenia · 10016288']").wait_for()
    # Focus comes back to the field for the next key (htmx focuses it once the swapped field has settled).
    page.wait_for_function("document.activeElement !== null && document.activeElement.id === 'id_term'")
    _fill(page, {"onset_date": "2020-03-25", "resolution_date": "2020-03-30", "grade": "3", "serious": "N",
                 "relationship": "possible", "action_taken": "none", "outcome": "recovered"})
    page.click("button[name=save_complete]")
    page.wait_for_selector(".message.success")
    event = AdverseEvent.objects.get(patient=patient)
    assert (event.term_id, event.grade, event.status) == (10016288, 3, "complete")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
