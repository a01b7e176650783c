"""Paths that must not lose data or write an unexplained audit row."""

import pytest
from django.db import transaction
from django.urls import reverse

from patients.models import Registration
from sites.apps import UserDeletionRefused
from tests.forms import form_post, form_url
from trial.crf import AuditBypassError, CrfStatus, change_status, save_crf

pytestmark = pytest.mark.django_db


def test_a_page_posted_without_its_version_is_refused(client, registration_a, coordinator, investigator):
    save_crf(registration_a, user=investigator, data={"initials": "INV"})
    client.force_login(coordinator)
    response = client.post(form_url(registration_a), form_post(registration_a, initials="OLD", version=None))
    assert response.status_code == 200 and "version" in response.context["form"].errors
    assert Registration.objects.get(pk=registration_a.pk).initials == "INV"


def test_a_status_change_without_version_is_refused(client, register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    client.force_login(monitor)
    url = reverse("casebook:form-status", args=[crf.patient.subject_id, "registration", crf.pk])
    client.post(url, {"transition": "verify"})
    assert Registration.objects.get(pk=crf.pk).status == CrfStatus.COMPLETE


@pytest.mark.parametrize("body", [
    {"transition": "unlock", "version": 2, "reason": None},
    {"transition": "unlock", "version": 2, "reason": ["x"]},
    {"transition": ["unlock"], "version": 2, "reason": "x"},
    {"transition": "unlock", "version": True, "reason": "x"},
    [1, 2],
], ids=["null reason", "list reason", "list transition", "boolean version", "list body"])
def test_bad_transition_bodies_get_400(api_client, register, coordinator, data_manager, site_a, body):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=data_manager, transition="lock")
    response = api_client(data_manager).post(reverse("crf-registration-transition", args=[crf.pk]), body,
                                             format="json")
    assert response.status_code == 400
    assert Registration.objects.get(pk=crf.pk).status == CrfStatus.LOCKED


def test_unlock_through_the_api_needs_a_real_reason(api_client, register, coordinator, data_manager, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=data_manager, transition="lock")
    url = reverse("crf-registration-transition", args=[crf.pk])
    assert api_client(data_manager).post(url, {"transition": "unlock", "version": 2, "reason": "  "},
                                         format="json").status_code == 400
    ok = api_client(data_manager).post(url, {"transition": "unlock", "version": 2, "reason": "Query 7"},
                                       format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "complete"


def test_retyping_the_same_value_in_other_case_changes_nothing(register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=monitor, transition="verify")
    save_crf(crf, user=coordinator, data={"initials": "abc"}, reason="retyped", expected_version=2)
    stored = Registration.objects.get(pk=crf.pk)
    assert (stored.status, stored.version, stored.history.count()) == (CrfStatus.VERIFIED, 2, 2)


def test_saving_an_unchanged_form_says_so_and_writes_nothing(client, register, coordinator, site_a):
    crf = register(coordinator, site_a, complete=True)
    client.force_login(coordinator)
    response = client.post(form_url(crf), form_post(crf), follow=True)
    assert Registration.objects.get(pk=crf.pk).version == 1
    assert [m.level_tag for m in response.context["messages"]] == ["info"]


def test_ambiguous_dates_are_refused_not_guessed(client, registration_a, coordinator):
    client.force_login(coordinator)
    response = client.post(form_url(registration_a), form_post(registration_a, date_of_birth="03/05/2012"))
    assert "date_of_birth" in response.context["form"].errors
    assert Registration.objects.get(pk=registration_a.pk).version == 1


def test_read_only_viewers_are_not_asked_for_a_reason(client, register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    client.force_login(monitor)
    assert "reason" not in client.get(form_url(crf)).context["form"].fields


def test_people_named_in_the_audit_trail_cannot_be_deleted(register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=monitor, transition="verify")
    save_crf(crf, user=coordinator, data={"sex": "M"}, reason="chart", expected_version=2)  # now only in history
    with pytest.raises(UserDeletionRefused), transaction.atomic():
        monitor.delete()
    assert crf.history.filter(history_user=monitor).count() == 1


def test_a_single_form_cannot_be_deleted(registration_a):
    with pytest.raises(AuditBypassError):
        registration_a.delete()
    with pytest.raises(AuditBypassError):
        registration_a.patient.delete()
    assert Registration.objects.filter(pk=registration_a.pk).exists()
