"""Token authentication reads the user's memberships with the token, in one statement, and keeps DRF's rules."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sites.models import Membership, Role

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _subjects(response) -> list[str]:
    return [row["subject_id"] for row in response.json()["results"]]


def test_a_study_member_is_authenticated_with_their_memberships_in_one_statement(
        coordinator, registration_a, registration_b):
    client = _client(coordinator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("patient-list"))
    assert response.status_code == 200 and _subjects(response) == ["MX01-001"]  # site B's patient is not listed
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("authtoken_token" in s for s in sql) == 1
    assert not any("sites_membership" in s and "authtoken_token" not in s for s in sql)  # not read a second time


def test_the_request_carries_the_token_as_stored(coordinator):
    client = _client(coordinator)
    response = client.get(reverse("patient-list"))
    assert response.status_code == 200
    token = response.wsgi_request.auth
    stored = Token.objects.get(user=coordinator)
    assert (token.key, token.user_id, token.created) == (stored.key, stored.user_id, stored.created)
    assert response.wsgi_request.user.pk == coordinator.pk


def test_a_study_wide_member_sees_every_site(data_manager, registration_a, registration_b):
    response = _client(data_manager).get(reverse("patient-list"))
    assert response.status_code == 200 and _subjects(response) == ["MX01-001", "MX04-001"]


def test_only_active_memberships_at_active_sites_count(make_user, site_a, site_b, registration_a, registration_b):
    user = make_user("two.sites", Role.COORDINATOR, site_a)
    Membership.objects.create(user=user, site=site_b, role=Role.COORDINATOR, is_active=False)
    client = _client(user)
    assert _subjects(client.get(reverse("patient-list"))) == ["MX01-001"]
    site_a.is_active = False
    site_a.save()
    assert client.get(reverse("patient-list")).status_code == 403  # no membership left that counts


@pytest.mark.parametrize(("case", "detail"), [
    ("unknown token", "Invalid token."),
    ("inactive account", "User inactive or deleted."),
    ("no membership", "You do not have permission to perform this action."),
])
def test_refusals_are_drfs(make_user, site_a, case, detail):
    """403 for all three: session authentication comes first and sends no WWW-Authenticate challenge."""
    user = make_user("someone", None if case == "no membership" else Role.COORDINATOR, site_a)
    client = _client(user)
    if case == "unknown token":
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    if case == "inactive account":
        user.is_active = False
        user.save()
    response = client.get(reverse("patient-list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and response.json()["detail"] == detail


def _statements(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")
            and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_registering_through_the_api_reads_only_what_a_new_patient_can_have(coordinator, site_a, register):
    """The new patient has no other form and nothing derived from its registration: the save asks nothing about
    them. What remains: token and memberships, the site's next number, the duplicate check, and the four rows."""
    register(coordinator, site_a)  # the site's counter exists
    client = _client(coordinator)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("crf-registration-list"), {
            "initials": "QRS", "sex": "F", "date_of_birth": "2013-02-01", "registration_date": "2020-03-09"},
            format="json")
    assert response.status_code == 201, response.content
    assert response.json()["patient"] == "MX01-002"
    statements = _statements(queries)
    assert len(statements) == 7, "\n".join(statements)
    assert sum(s.startswith("INSERT") for s in statements) == 4  # patient, registration and their audit rows


def test_correcting_through_the_api_reads_the_record_once_under_lock(coordinator, registration_a):
    client = _client(coordinator)
    url = reverse("crf-registration-detail", args=[registration_a.pk])
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(url, {"initials": "ABD", "version": registration_a.version, "reason": "typo"},
                                format="json")
    assert response.status_code == 200, response.content
    statements = _statements(queries)
    reads = [s for s in statements if s.startswith("SELECT") and "patients_registration" in s.split("WHERE")[0]]
    assert len(reads) == 1, "\n".join(statements)
    assert sum(s.startswith(("UPDATE", "INSERT")) for s in statements) == 2  # the row and its audit row
