"""Log-in, lockout (django-axes), idle timeout, CSRF."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_with_the_right_password_reaches_the_patient_list(client, coordinator):
    response = _login(client, "coord.a", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("patients:list")


@pytest.mark.parametrize("username", ["coord.a", "nobody-by-this-name"], ids=["known user", "unknown user"])
def test_lockout_comes_exactly_at_the_limit_and_looks_the_same_for_unknown_users(client, coordinator, username):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _login(client, username, "wrong-password")
        assert response.status_code == 200  # the form again, with the error
    locked = _login(client, username, "wrong-password")
    assert locked.status_code == 429
    assert _login(client, username, PASSWORD).status_code == 429  # even the right password, while locked


def test_a_lockout_of_one_user_name_does_not_lock_out_another(client, coordinator, make_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "attacked-name", "wrong-password")
    assert _login(client, "coord.a", PASSWORD).status_code == 302


def test_sessions_end_after_30_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_forms_refuse_posts_without_csrf_token(coordinator, site_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), {"initials": "AB"})
    assert response.status_code == 403


def test_passwords_are_hashed_with_argon2(coordinator):
    assert coordinator.password.startswith("argon2")
