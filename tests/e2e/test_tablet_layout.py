"""Item 11: every page is usable on a bedside tablet (768 × 1024): no sideways scroll of the page, touch targets of
44 px, a skip link, a visible focus ring, and the computed values in sight while a dose is typed."""

from datetime import date

import pytest

from tests import enrollment as build
from tests import treatment_forms as treatment
from tests.e2e.test_enrollment_in_browser import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 768, "height": 1024}
# Controls a finger has to hit: buttons, fields, the menu and the casebook's links.
TARGETS = ("main button:visible, main input:not([type=hidden]):visible, main select:visible, .topbar nav a, "
           "table.grid a:visible, .skip-link")


def _too_small(page) -> list[str]:
    return page.evaluate("""(selector) => [...document.querySelectorAll(selector)]
        .filter(e => e.offsetParent !== null || e.classList.contains('skip-link'))
        .map(e => [e, (['checkbox', 'radio'].includes(e.type) && e.closest('label') || e).getBoundingClientRect()])
        .filter(([e, r]) => r.width > 0 && (r.height < 44 || r.width < 44) && !e.classList.contains('skip-link'))
        .map(([e, r]) => `${e.tagName.toLowerCase()}${e.name ? '[name=' + e.name + ']' : ''} "${
            (e.innerText || e.value || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`)""",
                         TARGETS.replace(":visible", ""))


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_every_page_fits_a_bedside_tablet(live_server, browser_page, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.crs(coordinator, patient, date(2020, 3, 21), grade=2)
    treatment.response(coordinator, patient)
    treatment.cycle(coordinator, patient, 2)
    page, base = browser_page, live_server.url
    page.set_viewport_size(TABLET)
    _login(page, base)
    subject = patient.subject_id
    pages = {
        "patient page": f"/patients/{subject}/",
        "cycle form": f"/patients/{subject}/forms/blinatumomabcycle/new/",
        "adverse event form": f"/patients/{subject}/forms/adverseevent/new/",
        "patient list": "/patients/",
        "screening log": "/patients/screening-log/",
        "overdue visits": "/visits/overdue/",
        "data review": "/review/",
    }
    problems = {}
    for name, path in pages.items():
        page.goto(base + path)
        overflow, small = _overflow(page), _too_small(page)
        if overflow > 0 or small:
            problems[name] = {"scrolls sideways by (px)": overflow, "targets under 44 px": small[:8]}
    assert problems == {}


def test_the_skip_link_and_the_focus_ring(live_server, browser_page, coordinator, registration_a):
    page, base = browser_page, live_server.url
    page.set_viewport_size(TABLET)
    _login(page, base)
    page.goto(f"{base}/patients/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()  # shown once focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")  # the menu was skipped
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_the_planned_dose_stays_in_sight_while_the_prescribed_dose_is_typed(
        live_server, browser_page, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    page, base = browser_page, live_server.url
    page.set_viewport_size(TABLET)
    _login(page, base)
    page.goto(f"{base}/patients/{patient.subject_id}/forms/blinatumomabcycle/new/")
    page.fill("#id_weight_kg", "30")
    page.fill("#id_height_cm", "135")
    page.select_option("#id_cycle_number", "1")
    page.fill("#id_start_date", "2020-03-20")
    page.locator("[data-derived=planned_full_ug_day]", has_text="15.9").wait_for()
    page.click("#id_prescribed_full_ug_day")
    planned = page.locator("[data-derived=planned_full_ug_day]").bounding_box()
    assert planned is not None and planned["y"] >= 0 and planned["y"] + planned["height"] <= TABLET["height"]
