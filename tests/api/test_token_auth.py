"""Token authentication reads the user's memberships with the token, in one statement, and keeps DRF's rules."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from sites.models import Membership, Role

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")
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
    assert sum("knox_authtoken" in s for s in sql) == 1
    assert not any("sites_membership" in s and "knox_authtoken" not in s for s in sql)  # not read a second time


def test_the_request_carries_the_token_as_stored(coordinator):
    client = _client(coordinator)
    response = client.get(reverse("patient-list"))
    assert response.status_code == 200
    token = response.wsgi_request.auth
    stored = AuthToken.objects.get(user=coordinator)
    assert (token.digest, token.user_id, token.created) == (stored.digest, stored.user_id, stored.created)
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
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
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


# ---- Tokens (item 12): only a hash is stored; idle and absolute lifetimes; revoked by their user -------------
def test_a_token_is_issued_for_a_password_and_only_its_hash_is_stored(client, coordinator):
    from tests.conftest import PASSWORD

    issued = client.post(reverse("api-token"), {"username": "coord.a", "password": PASSWORD}).json()
    token = issued["token"]
    stored = AuthToken.objects.get(user=coordinator)
    assert token not in (stored.digest, stored.token_key) and stored.token_key == token[:15]
    assert set(issued) == {"token", "expiry"}
    assert client.get(reverse("patient-list"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    refused = client.post(reverse("api-token"), {"username": "coord.a", "password": "wrong-password"})
    assert refused.status_code == 400


def test_using_a_token_keeps_it_alive_and_idleness_or_age_ends_it(coordinator, settings):
    from datetime import timedelta

    from django.utils import timezone

    idle = settings.REST_KNOX["TOKEN_TTL"]
    assert idle == timedelta(minutes=30) and settings.REST_KNOX["AUTO_REFRESH_MAX_TTL"] == timedelta(hours=12)
    instance, token = AuthToken.objects.create(coordinator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # Used 20 minutes after its last use: still valid, and its idle lifetime starts again.
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() + idle - timedelta(minutes=20))
    assert client.get(reverse("patient-list")).status_code == 200
    assert AuthToken.objects.get(pk=instance.pk).expiry > timezone.now() + idle - timedelta(minutes=1)
    # 31 minutes without use: expired.
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - timedelta(minutes=1))
    assert client.get(reverse("patient-list")).json()["detail"] == "Invalid token."
    # In use all along, but issued 12 hours ago: renewal stops at the absolute limit.
    instance, token = AuthToken.objects.create(coordinator)
    AuthToken.objects.filter(pk=instance.pk).update(created=timezone.now() - timedelta(hours=12),
                                                    expiry=timezone.now() + timedelta(minutes=5))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get(reverse("patient-list")).status_code == 200
    assert AuthToken.objects.get(pk=instance.pk).expiry <= timezone.now() + timedelta(minutes=5)


def test_a_user_revokes_a_token_or_all_of_theirs(coordinator):
    tokens = [AuthToken.objects.create(coordinator)[1] for _ in range(3)]
    clients = []
    for token in tokens:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clients.append(client)
    assert clients[0].post(reverse("api-logout")).status_code == 204
    assert clients[0].get(reverse("patient-list")).status_code == 403
    assert clients[1].get(reverse("patient-list")).status_code == 200
    assert clients[1].post(reverse("api-logout-all")).status_code == 204
    assert [c.get(reverse("patient-list")).status_code for c in clients] == [403, 403, 403]
    assert not AuthToken.objects.filter(user=coordinator).exists()
