"""Browser tests: Playwright drives Debian's Chromium (never a downloaded browser) against live_server."""

import os
from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connections

from tests.conftest import CHROMIUM
from treatment.models import CtcaeTerm

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="es-MX", timezone_id="America/Mexico_City",
                                      viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "last-browser-test.png"), full_page=True)
            browser.close()
            # ORM calls made while Playwright's loop runs may have opened a connection of their own
            # (asgiref's per-context locals); close it so the test database can be dropped.
            connections.close_all()


@pytest.fixture(autouse=True)
def _ctcae_terms(transactional_db):  # every browser test is transactional
    """The CTCAE terms are reference data loaded by a migration; an earlier transactional test flushed them.
    serialized_rollback=True restores them only while no Playwright loop is open in this thread (per-test browsers):
    with the module's Chromium, the ORM reaches a connection without the serialized copy. So they are loaded again
    here, by the migration's own code."""
    if not CtcaeTerm.objects.exists():
        import_module("treatment.migrations.0003_load_ctcae_terms").load(apps, None)
