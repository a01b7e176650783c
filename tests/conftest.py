"""Shared fixtures: sites, people in each role, registered patients; service-backed test gating.

Tests marked `postgres`, `worker` or `browser` need a real PostgreSQL, Celery worker on Redis, or
Debian's Chromium. Without them such a test is skipped with the reason, unless the environment
variable TRIAL_REQUIRE names the service (CI does), in which case it fails loudly.
"""

import os
import shutil
from datetime import date

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from patients.services import register_patient
from sites.models import Membership, Role, Site
from trial.access import forget_memberships

REQUIRED = {s.strip() for s in os.environ.get("TRIAL_REQUIRE", "").split(",") if s.strip()}
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PASSWORD = "a-long-test-password-42"


def _unavailable(service: str) -> str | None:
    if service == "postgres":
        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            return "needs PostgreSQL (set DATABASE_URL=postgres://...)"
    elif service == "worker":
        if not settings.CELERY_BROKER_URL:
            return "needs a Celery broker (set CELERY_BROKER_URL=redis://...)"
        import redis

        try:
            redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            return f"Redis at {settings.CELERY_BROKER_URL} does not answer: {exc}"
    elif service == "browser":
        if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
            return f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for service in ("postgres", "worker", "browser"):
        if item.get_closest_marker(service):
            reason = _unavailable(service)
            if reason and service in REQUIRED:
                pytest.fail(f"TRIAL_REQUIRE={service} but it is unavailable: {reason}", pytrace=False)
            if reason:
                pytest.skip(reason)


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Jobs run in-process in tests unless a test starts a real worker."""
    from trial.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def site_a(db) -> Site:
    return Site.objects.create(code="MX01", name="Hospital A", city="Ciudad de México")


@pytest.fixture
def site_b(db) -> Site:
    return Site.objects.create(code="MX04", name="Hospital B", city="Querétaro")


@pytest.fixture
def make_user(db):
    def make(username: str, role: str | None = None, site: Site | None = None):
        user = get_user_model().objects.create_user(username=username, password=PASSWORD)
        if role is not None:
            Membership.objects.create(user=user, role=role, site=site)
        forget_memberships(user)
        return user

    return make


@pytest.fixture
def coordinator(make_user, site_a):
    return make_user("coord.a", Role.COORDINATOR, site_a)


@pytest.fixture
def investigator(make_user, site_a):
    return make_user("inv.a", Role.INVESTIGATOR, site_a)


@pytest.fixture
def monitor(make_user, site_a):
    return make_user("monitor.a", Role.MONITOR, site_a)


@pytest.fixture
def outsider(make_user, site_b):
    """A coordinator at another site: must never see site A's patients."""
    return make_user("coord.b", Role.COORDINATOR, site_b)


@pytest.fixture
def data_manager(make_user):
    return make_user("dm", Role.DATA_MANAGER, None)


REGISTRATION = {"initials": "ABC", "sex": "F", "date_of_birth": date(2012, 5, 3),
                "registration_date": date(2020, 3, 9)}


@pytest.fixture
def registration_data() -> dict:
    return dict(REGISTRATION)


@pytest.fixture
def register(registration_data):
    def do(user, site: Site, complete: bool = False, confirm_not_duplicate: bool = True, **changes):
        # Tests register many children with the same data; the duplicate warning has its own tests.
        return register_patient(user=user, site=site, data={**registration_data, **changes}, complete=complete,
                                confirm_not_duplicate=confirm_not_duplicate)

    return do


@pytest.fixture
def registration_a(register, coordinator, site_a):
    return register(coordinator, site_a)


@pytest.fixture
def registration_b(register, outsider, site_b):
    return register(outsider, site_b)


@pytest.fixture
def api_client():
    def client_for(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for
