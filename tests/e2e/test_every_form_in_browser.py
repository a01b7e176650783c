"""Every registered form, discovered, walked in Chromium as a coordinator types it: a draft with one value, completed
with the rest, a correction refused without a reason and saved with one, the reason read back in the audit trail.
What is typed comes from tests/walk.py (the same walk tests/trial/test_every_form_walk.py does with the test client
and the API). Then the Baseline form entered in two sittings, the draft reopened from the patient page."""


import pytest
from django.db import connections
from django.utils import translation

from patients.models import Baseline, Registration
from tests import enrollment as build
from tests.conftest import CHROMIUM
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS
from tests.e2e.test_enrollment_in_browser import _login
from tests.trial.test_every_form_walk import REASON, _stored_differs
from tests.walk import WALKS, walk_for
from trial.crf import CrfStatus, crf_models

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the whole file (launching it per test costs about a second); each test gets a fresh
    context, with its own cookies, in `page`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(locale="es-MX", timezone_id="America/Mexico_City",
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        if context.pages:  # the tab the test ended on (it may have closed the first one)
            ARTIFACTS.mkdir(exist_ok=True)
            context.pages[-1].screenshot(path=str(ARTIFACTS / "last-every-form-browser-test.png"), full_page=True)
        context.close()
        # ORM calls made while Playwright's loop runs may have opened a connection of their own: close it so the
        # test database can be flushed and dropped.
        connections.close_all()


def _label(model) -> str:
    return model._meta.label


def _fill(page, values: dict[str, str]) -> None:
    """Type each value into the visible widget named after the field: input, select (optgroups too), textarea,
    radio buttons or a checkbox."""
    for name, value in values.items():
        widget = page.locator(f"form.crf [name='{name}']:not([type=hidden])")
        widget.first.wait_for()  # the page may still be loading; a field not shown at all fails here by its name
        kind = widget.first.evaluate("e => e.tagName === 'INPUT' ? e.type : e.tagName.toLowerCase()")
        if kind == "select":
            widget.select_option(value=value)
        elif kind == "radio":
            widget.and_(page.locator(f"[value='{value}']")).check()
        elif kind == "checkbox":
            widget.set_checked(value not in ("", "N", "false", "False", "0"))
        else:
            widget.fill(value)


def _submit(page, button: str) -> None:
    """Click a save button and wait for the page the server answers with (a redirect, or the form with errors)."""
    with page.expect_navigation():
        page.click(f"form.crf button[name={button}]")


def _saved(page) -> None:
    assert page.locator(".message.success").count() == 1, _page_errors(page)


def _page_errors(page) -> str:
    errors = page.locator("form.crf .error, .message.error")
    return f"{page.url}: " + " | ".join(errors.all_inner_texts()) if errors.count() else f"{page.url}: no error shown"


@pytest.mark.parametrize("model", crf_models(), ids=_label)
def test_every_form_in_the_browser(model, page, live_server, coordinator, register, site_a):
    walk = walk_for(model)
    base = live_server.url
    _login(page, base)
    if model is Registration:
        page.goto(f"{base}/patients/register/")
        assert page.locator("form.crf [name=site]").get_attribute("type") == "hidden"  # the user has one site
        _fill(page, walk.draft)
        _submit(page, "save_draft")
        _saved(page)
        subject = page.url.rstrip("/").rsplit("/", 1)[-1]
        record = Registration.objects.get(patient__subject_id=subject)
        page.click(f"a[href='/patients/{subject}/forms/registration/{record.pk}/']")
    else:
        patient = register(coordinator, site_a).patient
        if walk.before is not None:
            walk.before(coordinator, patient)
        subject, slug = patient.subject_id, model.crf_slug()
        page.goto(f"{base}/patients/{subject}/")
        page.locator(f"a[href='/patients/{subject}/forms/{slug}/new/']").first.click()
        page.wait_for_url(f"**/patients/{subject}/forms/{slug}/new/")
        _fill(page, walk.draft)
        _submit(page, "save_draft")
        _saved(page)
        record = model.objects.filter(patient=patient).latest("pk")
    url = f"/patients/{record.patient.subject_id}/forms/{model.crf_slug()}/{record.pk}/"
    page.wait_for_url(f"**{url}")
    assert (record.status, record.version, _stored_differs(record, walk.draft)) == (CrfStatus.DRAFT, 1, {})

    typed = {**walk.draft, **walk.complete}
    _fill(page, walk.complete)
    _submit(page, "save_complete")
    _saved(page)
    record = model.objects.get(pk=record.pk)
    assert (record.status, _stored_differs(record, typed)) == (CrfStatus.COMPLETE, {})

    corrected = {**typed, **walk.correction}
    _fill(page, walk.correction)
    _submit(page, "save")
    assert page.locator("#field-reason.has-error .error").count() >= 1, _page_errors(page)
    assert page.locator(".message.success").count() == 0
    unchanged = model.objects.get(pk=record.pk)
    assert (unchanged.version, _stored_differs(unchanged, typed)) == (record.version, {})  # nothing half-written

    page.fill("#id_reason", REASON)
    _submit(page, "save")
    _saved(page)
    newest = page.locator("table.audit tbody tr").first.locator("td")
    assert newest.last.inner_text() == REASON
    record = model.objects.get(pk=record.pk)
    assert (record.status, record.version, _stored_differs(record, corrected)) == (
        CrfStatus.COMPLETE, unchanged.version + 1, {})


def test_baseline_in_two_sittings_names_the_item_still_empty(page, live_server, coordinator, register, site_a):
    patient = register(coordinator, site_a).patient
    build.consent(coordinator, patient)
    subject, base = patient.subject_id, live_server.url
    walk = WALKS["patients.Baseline"]
    every = {**walk.draft, **walk.complete}
    first = {name: every[name] for name in ("weight_kg", "height_cm")}

    # First sitting: weight and height only, saved as a draft; then the coordinator logs out and closes the tab.
    _login(page, base)
    page.goto(f"{base}/patients/{subject}/")
    page.locator(f"a[href='/patients/{subject}/forms/baseline/new/']").first.click()
    _fill(page, first)
    _submit(page, "save_draft")
    _saved(page)
    draft = Baseline.objects.get(patient=patient)
    assert (draft.status, _stored_differs(draft, first)) == (CrfStatus.DRAFT, {})
    with page.expect_navigation():
        page.click("header form[action$='/logout/'] button")
    assert page.locator("#id_username").count() == 1
    context = page.context
    page.close()

    # Later, a new tab and a new login: the draft is opened from the patient page with what was typed kept.
    page = context.new_page()
    _login(page, base)
    page.goto(f"{base}/patients/{subject}/")
    page.click(f"a[href='/patients/{subject}/forms/baseline/{draft.pk}/']")
    for name, value in first.items():
        assert page.locator(f"#id_{name}").input_value() == value

    # Everything else but the haemoglobin: marking it complete is refused, naming that one item.
    left_out = "hemoglobin_g_dl"
    _fill(page, {name: value for name, value in every.items() if name not in first and name != left_out})
    _submit(page, "save_complete")
    assert page.locator(".message.success").count() == 0
    with translation.override("es-mx"):
        required = translation.gettext("Required to complete the form: answer it, or code it as missing (not done, "
                                       "unknown or not applicable).")
    assert page.locator(".field.has-error").evaluate_all("fields => fields.map(f => f.id)") == [f"field-{left_out}"]
    assert page.locator(f"#field-{left_out} .error").inner_text() == required
    assert Baseline.objects.get(pk=draft.pk).status == CrfStatus.DRAFT
    assert page.locator("#id_weight_kg").input_value() == first["weight_kg"]  # nothing typed is lost

    _fill(page, {left_out: every[left_out]})
    _submit(page, "save_complete")
    _saved(page)
    record = Baseline.objects.get(pk=draft.pk)
    assert (record.status, _stored_differs(record, every)) == (CrfStatus.COMPLETE, {})
