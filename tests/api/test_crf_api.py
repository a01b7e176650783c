"""The generic CRF API: create, read, correct with version and reason, never delete; history; filters."""

import pytest
from django.urls import reverse

from patients.models import Registration
from trial.crf import change_status

pytestmark = pytest.mark.django_db

LIST = "crf-registration-list"
DETAIL = "crf-registration-detail"


def _detail(crf) -> str:
    return reverse(DETAIL, args=[crf.pk])


def test_registering_through_the_api_generates_the_subject_id(api_client, coordinator, site_a):
    response = api_client(coordinator).post(reverse(LIST), {
        "initials": "JLM", "sex": "M", "date_of_birth": "2011-02-03", "registration_date": "2021-07-01",
        "complete": True}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["patient"], body["site"], body["status"], body["version"]) == ("MX01-001", "MX01", "complete", 1)
    assert (body["age_years"], body["age_group"]) == (10, "1_to_10")


def test_registration_at_a_site_the_user_does_not_belong_to_is_refused(api_client, coordinator, site_b):
    response = api_client(coordinator).post(reverse(LIST), {
        "site": "MX04", "initials": "JLM", "sex": "M", "date_of_birth": "2011-02-03",
        "registration_date": "2021-07-01"}, format="json")
    assert response.status_code == 400
    assert "site" in response.json()


def test_hard_range_error_names_the_field_and_value(api_client, coordinator, site_a):
    response = api_client(coordinator).post(reverse(LIST), {
        "initials": "JLM", "sex": "M", "date_of_birth": "2022-02-03", "registration_date": "2021-07-01"},
        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "2022-02-03" in response.json()["date_of_birth"][0]


def test_update_needs_the_version(api_client, registration_a, coordinator):
    response = api_client(coordinator).patch(_detail(registration_a), {"initials": "XYZ"}, format="json")
    assert response.status_code == 400 and "version" in response.json()


def test_stale_update_is_409_and_keeps_the_other_change(api_client, registration_a, coordinator, investigator):
    assert api_client(investigator).patch(_detail(registration_a), {"initials": "INV", "version": 1},
                                          format="json").status_code == 200
    response = api_client(coordinator).patch(_detail(registration_a), {"initials": "OLD", "version": 1},
                                             format="json")
    assert response.status_code == 409
    assert response.json()["current"]["initials"] == "INV"
    assert Registration.objects.get(pk=registration_a.pk).initials == "INV"


def test_correcting_a_completed_form_needs_a_reason_then_is_audited(api_client, register, coordinator, site_a):
    crf = register(coordinator, site_a, complete=True)
    client = api_client(coordinator)
    refused = client.patch(_detail(crf), {"initials": "XYZ", "version": 1}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    ok = client.patch(_detail(crf), {"initials": "XYZ", "version": 1, "reason": "Chart says XYZ"}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    history = client.get(reverse("crf-registration-history", args=[crf.pk])).json()
    assert history[-1]["reason"] == "Chart says XYZ"
    assert history[-1]["user"] == "coord.a"
    assert {"field": "initials", "old": "ABC", "new": "XYZ"} in history[-1]["changes"]


def test_a_locked_form_refuses_api_changes(api_client, register, coordinator, data_manager, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=data_manager, transition="lock")
    response = api_client(coordinator).patch(_detail(crf), {"initials": "XYZ", "version": 2, "reason": "x"},
                                             format="json")
    assert response.status_code == 403
    assert Registration.objects.get(pk=crf.pk).initials == "ABC"


def test_forms_are_never_deleted(api_client, registration_a, coordinator, data_manager):
    for user in (coordinator, data_manager):
        assert api_client(user).delete(_detail(registration_a)).status_code == 405
    assert Registration.objects.filter(pk=registration_a.pk).exists()


def test_transition_endpoint_follows_the_roles(api_client, register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    url = reverse("crf-registration-transition", args=[crf.pk])
    assert api_client(coordinator).post(url, {"transition": "verify", "version": 1},
                                        format="json").status_code == 403
    response = api_client(monitor).post(url, {"transition": "verify", "version": 1}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "verified"
    assert api_client(monitor).post(url, {"transition": "verify", "version": 1}, format="json").status_code == 409


def test_lists_filter_by_patient_and_site(api_client, register, coordinator, data_manager, site_a, outsider, site_b):
    first = register(coordinator, site_a)
    register(coordinator, site_a)
    register(outsider, site_b)
    client = api_client(data_manager)
    by_patient = client.get(reverse(LIST), {"patient": first.patient.subject_id}).json()
    assert [r["patient"] for r in by_patient["results"]] == ["MX01-001"]
    by_site = client.get(reverse(LIST), {"site": "MX04"}).json()
    assert [r["patient"] for r in by_site["results"]] == ["MX04-001"]
    assert client.get(reverse("patient-list")).json()["count"] == 3


def test_token_authentication(client, coordinator, registration_a):
    from tests.conftest import PASSWORD

    token = client.post(reverse("api-token"), {"username": "coord.a", "password": PASSWORD}).json()["token"]
    response = client.get(reverse("patient-list"), HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["results"][0]["subject_id"] == "MX01-001"


def test_openapi_schema_lists_every_crf_endpoint(api_client, coordinator):
    response = api_client(coordinator).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/forms/registration/{id}/history/" in paths
    assert "delete" not in paths["/api/v1/forms/registration/{id}/"]


@pytest.mark.parametrize("sent", [{}, {"complete": False}], ids=["left out", "false"])
def test_complete_is_an_instruction_that_nobody_gives_by_default(api_client, register, coordinator, site_a, sent):
    """`complete` is not data: left out or false, a save leaves the status as it is — a draft stays a draft and a
    complete form is never turned back into one. Only `true` completes."""
    draft, done = register(coordinator, site_a), register(coordinator, site_a, initials="XYZ", complete=True)
    client = api_client(coordinator)
    kept = client.patch(reverse("crf-registration-detail", args=[draft.pk]),
                        {"initials": "ABD", "version": draft.version, **sent}, format="json")
    corrected = client.patch(reverse("crf-registration-detail", args=[done.pk]),
                             {"initials": "XYW", "version": done.version, "reason": "typo", **sent}, format="json")
    assert (kept.status_code, kept.json()["status"]) == (200, "draft")
    assert (corrected.status_code, corrected.json()["status"]) == (200, "complete")
    completed = client.patch(reverse("crf-registration-detail", args=[draft.pk]),
                             {"version": kept.json()["version"], "complete": True}, format="json")
    assert completed.json()["status"] == "complete"


def test_the_schema_gives_no_default_to_instructions_and_attestations(api_client, coordinator):
    schemas = api_client(coordinator).get(reverse("api-schema"), {"format": "json"}).json()["components"]["schemas"]
    assert "default" not in schemas["RegistrationRequest"]["properties"]["complete"]
    assert "default" not in schemas["PatchedRegistrationRequest"]["properties"]["complete"]
    assert "default" not in schemas["RegistrationCreateRequest"]["properties"]["confirm_not_duplicate"]
