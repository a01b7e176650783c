"""The query workflow between the site and the study team: who may do what, every step audited and in the thread,
the right people notified, and the queries shown where people work (the form, the patient page, the lists, the API)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from tests import enrollment
from trial.quality.models import (
    Delivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    Query,
    QueryAction,
    QueryStatus,
)
from trial.quality.notify import send_digests
from trial.quality.workflow import close_many, open_query, take_step


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def baseline(coordinator, registration_a):
    coordinator.email = "coord.a@example.org"
    coordinator.save()
    enrollment.consent(coordinator, registration_a.patient)
    enrollment.diagnosis(coordinator, registration_a.patient)
    return enrollment.baseline(coordinator, registration_a.patient)


@pytest.fixture
def query(monitor, baseline, django_capture_on_commit_callbacks):
    monitor.email = "monitor.a@example.org"
    monitor.save()
    with django_capture_on_commit_callbacks(execute=True):  # emails leave once the query is committed
        return open_query(monitor, patient=baseline.patient, form="patients.Baseline", record_id=baseline.pk,
                          field="weight_kg", text="The source says 31 kg; please check.")


def test_a_monitor_opens_a_query_on_a_field_and_the_sites_coordinators_hear_of_it(query, baseline, coordinator):
    assert (query.status, query.form, query.record_id, query.field, query.rule) == (
        QueryStatus.OPEN, "patients.Baseline", baseline.pk, "weight_kg", "")
    assert query.visit == baseline.visit
    assert [e.action for e in query.events.all()] == [QueryAction.OPENED]
    assert query.history.count() == 1
    note = Notification.objects.get(user=coordinator)
    assert note.kind == NotificationKind.QUERY_OPENED and "31 kg" in note.body
    assert [m.to for m in mail.outbox] == [["coord.a@example.org"]]


def test_a_coordinator_may_not_open_a_query(coordinator, baseline):
    with pytest.raises(PermissionDenied):
        open_query(coordinator, patient=baseline.patient, text="?")


def test_a_query_on_a_field_the_form_does_not_have_is_refused_by_name(monitor, baseline):
    with pytest.raises(ValidationError) as refused:
        open_query(monitor, patient=baseline.patient, form="patients.Baseline", record_id=baseline.pk,
                   field="shoe_size", text="?")
    assert "shoe_size is not a field of baseline" in str(refused.value).lower()


def test_the_site_answers_the_raiser_is_told_and_closes_then_re_opens_with_a_reason(query, coordinator, monitor):
    take_step(coordinator, query, "answer", text="Corrected to 31 kg from the clinic chart.")
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED and query.answered_at is not None
    assert Notification.objects.filter(user=monitor, kind=NotificationKind.QUERY_ANSWERED).count() == 1
    take_step(monitor, query, "close")
    query.refresh_from_db()
    assert (query.status, query.closed_by) == (QueryStatus.CLOSED, monitor)
    take_step(monitor, query, "reopen", text="The form still says 30 kg.")
    query.refresh_from_db()
    assert (query.status, query.closed_by, query.closed_at) == (QueryStatus.OPEN, None, None)
    assert [e.action for e in query.events.all()] == [
        QueryAction.OPENED, QueryAction.ANSWERED, QueryAction.CLOSED, QueryAction.REOPENED]
    reasons = [h.history_change_reason for h in query.history.order_by("history_id")]
    assert reasons[1:] == ["Corrected to 31 kg from the clinic chart.", "close", "The form still says 30 kg."]


@pytest.mark.parametrize(("who", "step", "text", "refusal"), [
    ("coordinator", "close", "", PermissionDenied),
    ("monitor", "answer", "fine", PermissionDenied),
    ("coordinator", "answer", "   ", ValidationError),
    ("monitor", "reopen", "why", ValidationError),  # an open query cannot be re-opened
    ("coordinator", "answer", "x" * 2001, ValidationError),
])
def test_steps_the_role_or_the_state_does_not_allow_are_refused(query, request, who, step, text, refusal):
    with pytest.raises(refusal):
        take_step(request.getfixturevalue(who), query, step, text=text)
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN and query.events.count() == 1


def test_the_data_manager_closes_many_at_once(query, data_manager, monitor, baseline):
    second = open_query(monitor, patient=baseline.patient, text="Is the consent version right?")
    assert close_many(data_manager, [query, second], text="Resolved at the monitoring visit.") == 2
    assert set(Query.objects.values_list("status", flat=True)) == {QueryStatus.CLOSED}


def test_an_outsider_gets_404_for_another_sites_query_on_pages_and_api(client, api_client, query, outsider):
    client.force_login(outsider)
    assert client.get(reverse("quality:query", args=[query.pk])).status_code == 404
    page = client.get(reverse("quality:queries")).content.decode()
    assert query.patient.subject_id not in page
    api = api_client(outsider)
    assert api.get(f"/api/v1/queries/{query.pk}/").status_code == 404
    assert api.post(f"/api/v1/queries/{query.pk}/answer/", {"text": "x"}, format="json").status_code == 404
    assert api.get("/api/v1/queries/").json()["count"] == 0


def test_the_form_shows_the_query_next_to_its_field_and_the_patient_page_lists_it(client, query, coordinator,
                                                                                  baseline):
    client.force_login(coordinator)
    form = client.get(reverse("casebook:form", args=[baseline.patient.subject_id, "baseline", baseline.pk]))
    html = form.content.decode()
    assert f'id="id_weight_kg-query-{query.pk}"' in html and "The source says 31 kg" in html
    assert "Raise a query" not in html  # a coordinator answers; monitors raise
    patient = client.get(reverse("patients:detail", args=[baseline.patient.subject_id])).content.decode()
    assert 'id="patient-queries"' in patient and reverse("quality:query", args=[query.pk]) in patient


def test_a_monitor_raises_a_query_from_the_form_page(client, monitor, baseline):
    client.force_login(monitor)
    form = client.get(reverse("casebook:form", args=[baseline.patient.subject_id, "baseline", baseline.pk]))
    assert "field=weight_kg" in form.content.decode()
    new = reverse("quality:query-new")
    response = client.post(new, {"subject": baseline.patient.subject_id, "form": "patients.Baseline",
                                 "record": baseline.pk, "field": "height_cm", "text": "Height dropped 5 cm?"})
    query = Query.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("quality:query", args=[query.pk])
    assert (query.field, query.opened_by) == ("height_cm", monitor)


def test_the_query_page_shows_the_correction_made_since_the_query_was_opened(client, query, coordinator, baseline):
    from decimal import Decimal

    from trial.crf import save_crf

    save_crf(baseline, user=coordinator, data={"weight_kg": Decimal("31.0")}, reason="Chart says 31 kg")
    client.force_login(coordinator)
    page = client.get(reverse("quality:query", args=[query.pk])).content.decode()
    assert 'id="record-changes"' in page and "Chart says 31 kg" in page and "31.0" in page
    assert 'id="step-answer"' in page and 'id="step-close"' not in page


@pytest.mark.parametrize(("days", "bucket"), [(0, "0-7"), (7, "0-7"), (8, "8-30"), (30, "8-30"), (31, "31+")])
def test_the_list_filters_by_age_at_the_edges_of_each_bucket(client, query, data_manager, days, bucket):
    Query.objects.filter(pk=query.pk).update(opened_at=timezone.now() - timedelta(days=days, hours=1))
    client.force_login(data_manager)
    for age in ("0-7", "8-30", "31+"):
        page = client.get(reverse("quality:queries"), {"age": age, "status": "open"}).content.decode()
        shown = reverse("quality:query", args=[query.pk]) in page
        assert shown == (age == bucket), (days, age)


def test_the_list_filters_by_status_site_rule_and_form(client, query, data_manager, site_a, site_b):
    client.force_login(data_manager)
    url, link = reverse("quality:queries"), reverse("quality:query", args=[query.pk])
    assert link in client.get(url, {"status": "open", "site": site_a.pk}).content.decode()
    assert link not in client.get(url, {"site": site_b.pk}).content.decode()
    assert link not in client.get(url, {"status": "closed"}).content.decode()
    assert link in client.get(url, {"rule": "manual", "form": "patients.Baseline"}).content.decode()
    assert link not in client.get(url, {"rule": "QC-001"}).content.decode()


def test_the_api_runs_the_whole_workflow(api_client, query, coordinator, monitor, baseline):
    site_api, monitor_api = api_client(coordinator), api_client(monitor)
    listed = site_api.get("/api/v1/queries/", {"status": "open"}).json()
    assert [q["id"] for q in listed["results"]] == [query.pk]
    answered = site_api.post(f"/api/v1/queries/{query.pk}/answer/", {"text": "Corrected."}, format="json")
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    assert site_api.post(f"/api/v1/queries/{query.pk}/close/", {}, format="json").status_code == 403
    closed = monitor_api.post(f"/api/v1/queries/{query.pk}/close/", {}, format="json").json()
    assert closed["status"] == "closed" and [e["action"] for e in closed["events"]] == ["opened", "answered",
                                                                                       "closed"]
    again = monitor_api.post(f"/api/v1/queries/{query.pk}/close/", {}, format="json")
    assert again.status_code == 400 and "cannot be closed now" in str(again.json())
    opened = monitor_api.post("/api/v1/queries/", {"subject_id": baseline.patient.subject_id,
                                                   "text": "Consent date?"}, format="json")
    assert opened.status_code == 201 and opened.json()["form"] == "" and opened.json()["opened_by"] == "monitor.a"


def test_a_data_manager_starts_a_run_through_the_api_and_reads_its_result(api_client, data_manager, coordinator,
                                                                          baseline, django_capture_on_commit_callbacks):
    from decimal import Decimal

    from trial.crf import save_crf

    save_crf(baseline, user=coordinator, data={"weight_kg": Decimal("160.0")}, reason="typo test")
    api = api_client(data_manager)
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued once the run is committed
        started = api.post("/api/v1/quality-runs/", {}, format="json")
    assert started.status_code in (201, 202)
    run = api.get(f"/api/v1/quality-runs/{started.json()['id']}/").json()
    assert run["status"] == "done" and run["patients_done"] == run["patients_total"] == 1
    assert run["progress"] == 100 and run["opened"] >= 1
    assert Query.objects.filter(rule="QC-001", field="weight_kg").count() == 1
    assert api_client(coordinator).post("/api/v1/quality-runs/", {}, format="json").status_code == 403


def test_a_serious_adverse_event_notifies_the_investigators_and_data_managers_at_once(
        coordinator, investigator, data_manager, registration_a, django_capture_on_commit_callbacks):
    from tests import treatment_forms as treatment

    investigator.email, data_manager.email = "inv.a@example.org", "dm@example.org"
    investigator.save()
    data_manager.save()
    NotificationPreference.objects.create(user=investigator, delivery=Delivery.DIGEST)  # safety overrides it
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    with django_capture_on_commit_callbacks(execute=True):
        treatment.adverse_event(coordinator, patient, serious="Y", seriousness="hospitalization",
                                aware_at=treatment.aware(2020, 3, 25))
    notes = Notification.objects.filter(kind=NotificationKind.SERIOUS_AE)
    assert {n.user for n in notes} == {investigator, data_manager}
    assert sorted(m.to[0] for m in mail.outbox if "Serious" in m.subject or "grave" in m.subject) == [
        "dm@example.org", "inv.a@example.org"]


def test_a_digest_user_gets_one_email_a_day(query, coordinator, monitor, baseline, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=coordinator, delivery=Delivery.DIGEST)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        open_query(monitor, patient=baseline.patient, text="One more question.")
    assert mail.outbox == []
    assert send_digests() == 1
    assert len(mail.outbox) == 1 and "One more question." in mail.outbox[0].body
    assert send_digests() == 0
