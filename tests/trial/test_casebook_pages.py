"""The casebook pages: patient list, registration, patient page, the generic form page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import Patient, Registration
from tests.forms import form_post, form_url
from trial.crf import change_status, save_crf

pytestmark = pytest.mark.django_db


def test_registering_in_the_browser_form_shows_the_new_subject_id(client, coordinator, site_a):
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), {
        "site": site_a.pk, "initials": "mga", "sex": "F", "date_of_birth": "2013-04-05",
        "registration_date": "2021-01-10", "save_complete": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("patients:detail", args=["MX01-001"])
    assert "MX01-001" in response.content.decode()
    assert Registration.objects.get().status == "complete"


def test_an_invalid_registration_shows_the_message_next_to_the_field(client, coordinator, site_a):
    client.force_login(coordinator)
    response = client.post(reverse("patients:register"), {
        "site": site_a.pk, "initials": "MGA", "sex": "F", "date_of_birth": "2022-04-05",
        "registration_date": "2021-01-10"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"] == [
        "The date of birth 2022-04-05 is after the registration date 2021-01-10."]
    assert 'id="id_date_of_birth-error"' in response.content.decode()
    assert Patient.objects.count() == 0


def test_the_patient_page_lists_the_forms_with_their_status(client, registration_a, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("patients:detail", args=[registration_a.patient.subject_id]))
    assert response.status_code == 200
    sections = response.context["groups"][0].sections
    assert sections[0].model is Registration and sections[0].records == [registration_a]
    assert form_url(registration_a) in response.content.decode()


def test_the_form_page_shows_fields_derived_values_and_the_audit_trail(client, registration_a, coordinator):
    client.force_login(coordinator)
    response = client.get(form_url(registration_a), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert 'name="initials"' in body and 'value="ABC"' in body
    assert 'data-derived="age_group"' in body and "1–10 years" in body
    assert "coord.a" in body and len(response.context["history"]) == 1


def test_a_draft_is_corrected_without_reason(client, registration_a, coordinator):
    client.force_login(coordinator)
    response = client.post(form_url(registration_a), form_post(registration_a, initials="XYZ"))
    assert response.status_code == 302
    assert Registration.objects.get(pk=registration_a.pk).initials == "XYZ"


def test_a_completed_form_asks_for_the_reason_then_records_it(client, register, coordinator, site_a):
    crf = register(coordinator, site_a, complete=True)
    client.force_login(coordinator)
    refused = client.post(form_url(crf), form_post(crf, initials="XYZ"))
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    assert Registration.objects.get(pk=crf.pk).initials == "ABC"
    client.post(form_url(crf), form_post(crf, initials="XYZ", reason="Source: admission note"))
    stored = Registration.objects.get(pk=crf.pk)
    assert (stored.initials, stored.history.latest("history_id").history_change_reason) == (
        "XYZ", "Source: admission note")


def test_a_stale_page_does_not_overwrite_and_shows_both_versions(client, registration_a, coordinator, investigator):
    save_crf(registration_a, user=investigator, data={"initials": "INV"})
    client.force_login(coordinator)
    client.cookies["django_language"] = "en"
    response = client.post(form_url(registration_a), form_post(registration_a, initials="OLD", version=1))
    assert response.status_code == 200
    assert response.context["stale"]["current"].initials == "INV"
    assert [(str(label), theirs, mine) for label, theirs, mine in response.context["stale"]["conflicts"]] == [
        ("Initials", "INV", "OLD")]
    assert Registration.objects.get(pk=registration_a.pk).initials == "INV"


def test_a_stale_page_lists_only_what_the_other_person_changed_and_keeps_the_rest_typed(
        client, register, coordinator, investigator, site_a):
    """Item 8: their change of sex is listed with labels and values as the form shows them; the coordinator's own
    change of initials and their reason for change stay typed in the form, now on the newer version."""
    crf = register(coordinator, site_a, complete=True)
    save_crf(crf, user=investigator, data={"sex": "M"}, reason="Source says male", expected_version=crf.version)
    client.force_login(coordinator)
    client.cookies["django_language"] = "en"
    response = client.post(form_url(crf), form_post(crf, initials="ABD", sex="F", version=1,
                                                    reason="Initials from the chart"))
    page = response.content.decode()
    assert [(str(label), theirs, mine) for label, theirs, mine in response.context["stale"]["conflicts"]] == [
        ("Sex", "Male", "Female")]
    assert "Sex: theirs <strong>Male</strong>, yours <strong>Female</strong>" in page
    form = response.context["form"]
    assert (form["initials"].value(), form["sex"].value(), form["reason"].value(), form["version"].value()) == (
        "ABD", "M", "Initials from the chart", 2)
    stored = Registration.objects.get(pk=crf.pk)
    assert (stored.initials, stored.sex, stored.version) == ("ABC", "M", 2)


def test_a_locked_form_is_read_only_on_the_page(client, register, coordinator, data_manager, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=data_manager, transition="lock")
    client.force_login(coordinator)
    page = client.get(form_url(crf))
    assert page.context["can_edit"] is False and all(f.disabled for f in page.context["form"].fields.values())
    assert client.post(form_url(crf), form_post(crf, initials="XYZ", reason="x")).status_code == 403
    assert Registration.objects.get(pk=crf.pk).initials == "ABC"


def test_status_buttons_follow_the_role(client, register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    client.force_login(coordinator)
    assert [t.name for t in client.get(form_url(crf)).context["transitions"]] == []
    client.force_login(monitor)
    assert [t.name for t in client.get(form_url(crf)).context["transitions"]] == ["verify"]
    url = reverse("casebook:form-status", args=[crf.patient.subject_id, "registration", crf.pk])
    client.post(url, {"transition": "verify", "version": crf.version})
    assert Registration.objects.get(pk=crf.pk).status == "verified"


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url_name", ["patients:list", "patient-list", "crf-registration-list"])
def test_list_pages_run_a_constant_number_of_queries(client, register, coordinator, site_a, url_name,
                                                      django_assert_max_num_queries):
    client.force_login(coordinator)
    register(coordinator, site_a)
    url = reverse(url_name)
    few = _count_queries(client, url)
    for _ in range(12):
        register(coordinator, site_a)
    assert _count_queries(client, url) == few
    with django_assert_max_num_queries(12):
        client.get(url)


def test_the_audit_trail_on_the_page_is_in_mexico_city_time_as_the_page_says(client, registration_a, coordinator):
    """Item 8: stored in UTC, shown in Mexico City time with its offset (the footer says so)."""
    from zoneinfo import ZoneInfo

    client.force_login(coordinator)
    page = client.get(form_url(registration_a)).content.decode()
    saved = registration_a.history.earliest("history_id").history_date
    local = saved.astimezone(ZoneInfo("America/Mexico_City"))
    assert local.strftime("%Y-%m-%d %H:%M:%S %z") in page
    assert saved.strftime("%Y-%m-%d %H:%M:%S +0000") not in page
