"""Accounts and memberships have their own audit trail; patient data is never cached; no HTML API in production."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from sites.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_who_had_which_role_at_which_site_and_when_is_kept(make_user, data_manager, site_a):
    person = make_user("new.coordinator")
    membership = Membership(user=person, site=site_a, role=Role.COORDINATOR)
    membership._history_user = data_manager
    membership.save()
    membership.is_active = False
    membership._history_user = data_manager
    membership.save()
    trail = list(membership.history.order_by("history_id").values_list("history_type", "is_active", "role",
                                                                         "site__code", "history_user__username"))
    assert trail == [("+", True, "coordinator", "MX01", "dm"), ("~", False, "coordinator", "MX01", "dm")]


def test_account_changes_are_kept_without_the_password_or_log_ins(client, make_user):
    from tests.conftest import PASSWORD

    person = make_user("someone")
    person.first_name = "Ana"
    person.save()
    person.set_password("another-password-456")
    person.save()
    client.post(reverse("login"), {"username": "someone", "password": PASSWORD})  # refused: the old password
    assert "_auth_user_id" not in client.session
    client.post(reverse("login"), {"username": "someone", "password": "another-password-456"})
    assert client.session["_auth_user_id"] == str(person.pk)
    person.refresh_from_db()
    assert person.last_login is not None
    history = get_user_model().history.filter(id=person.pk).order_by("history_id")
    assert [(h.history_type, h.first_name) for h in history] == [("+", ""), ("~", "Ana"), ("~", "Ana")]
    assert not hasattr(history.first(), "password")  # the hash is never copied into the trail


def test_patient_pages_and_api_answers_are_never_stored(client, api_client, coordinator, registration_a):
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[registration_a.patient.subject_id]))
    answer = api_client(coordinator).get(reverse("patient-list"))
    for response in (page, answer):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_api_answers_json_even_to_a_browser(api_client, coordinator):
    """The browsable HTML API is for development (DEBUG) only."""
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = api_client(coordinator).get(reverse("patient-list"), HTTP_ACCEPT=browser)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert api_client(coordinator).get(reverse("patient-list"), HTTP_ACCEPT="text/html").status_code == 406


def test_a_json_answer_carries_the_strictest_content_security_policy(api_client, client, coordinator):
    answer = api_client(coordinator).get(reverse("patient-list"))
    assert answer["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    page = client.get(reverse("login"))
    assert "default-src 'self'" in page["Content-Security-Policy"]
