"""The schedule applied to recorded data: every record's visit key, each patient's calendar, missed visits and the
site's overdue list, on pages and in the API, site-scoped."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from patients.models import Consent, Eligibility, Patient, Relapse
from tests import enrollment
from tests import treatment_forms as treatment
from treatment.models import (
    AdverseEvent,
    BlinatumomabCycle,
    CrsAssessment,
    Debulking,
    IcansAssessment,
    IntrathecalTherapy,
    ResponseAssessment,
)
from trial.crf import save_crf
from trial.models import MissedVisit
from trial.schedule import State, Timing
from trial.visits import overdue_visits, patient_schedule, schedules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield

CYCLE_1_END = treatment.CYCLES[1]["end_date"]  # 2020-04-16
IT_WINDOW = (CYCLE_1_END + timedelta(days=7), CYCLE_1_END + timedelta(days=21))


@pytest.fixture
def treated(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    return patient


@pytest.fixture
def cycle_ended(registration_a, coordinator):
    """Cycle 1 ended on 2020-04-16; nothing after it yet."""
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    return patient


def _state(patient, key: str, form: str, as_of: date):
    return next(s for s in patient_schedule(patient, as_of=as_of) if (s.key, s.form) == (key, form))


@pytest.mark.parametrize(("model", "visit"), [
    (Consent, "SCR"), (Relapse, "SCR"), (Eligibility, "SCR"), (Debulking, "DEB"), (BlinatumomabCycle, "C1"),
    (CrsAssessment, "C1"), (IcansAssessment, "C1"), (AdverseEvent, "C1"), (IntrathecalTherapy, "C1-IT"),
    (ResponseAssessment, "C1-RESP"),
])
def test_every_record_carries_the_visit_its_schedule_assigns(treated, model, visit):
    assert set(model.objects.filter(patient=treated).values_list("visit", flat=True)) == {visit}


def test_the_diagnosis_history_counts_as_done_at_screening_without_a_date_judged(treated):
    """Its dates are the disease's history (diagnosis in 2016): the calendar shows it done, not "early"."""
    [state] = [v for v in patient_schedule(treated) if v.form == "patients.DiagnosisHistory"]
    assert (state.key, state.state, state.done_on, state.timing) == ("SCR", State.DONE, None, None)


def test_a_second_cycle_gets_its_own_keys(treated, coordinator):
    treatment.cycle(coordinator, treated, 2)
    assert BlinatumomabCycle.objects.get(patient=treated, cycle_number=2).visit == "C2"
    states = {(s.key, s.form): s.state for s in patient_schedule(treated, as_of=date(2020, 5, 30))}
    assert states[("C2-RESP", "treatment.ResponseAssessment")] == State.DUE
    assert states[("C2-IT", "treatment.IntrathecalTherapy")] == State.EXPECTED


def test_the_calendar_of_a_treated_patient_shows_what_was_done_and_when(treated):
    every = {(s.key, s.form): s for s in patient_schedule(treated, as_of=date(2020, 6, 30))}
    states = {ident: s for ident, s in every.items() if ident[1] != "patients.FollowUp"}
    assert {key for key, _form in states} == {"SCR", "DEB", "C1", "C1-IT", "C1-RESP"}
    assert all(s.state == State.DONE for s in states.values())
    # followed up every 3 months from enrollment (eligible 2020-03-12) until a transplant: the first is due
    assert every[("FU01", "patients.FollowUp")].state == State.DUE
    intrathecal = states[("C1-IT", "treatment.IntrathecalTherapy")]
    assert (intrathecal.done_on, intrathecal.timing) == (date(2020, 4, 30), Timing.ON_TIME)
    assert (intrathecal.window_start, intrathecal.window_end) == IT_WINDOW


@pytest.mark.parametrize(("as_of", "expected"), [
    pytest.param(IT_WINDOW[0] - timedelta(days=1), State.EXPECTED, id="day 6 after the cycle: not yet due"),
    pytest.param(IT_WINDOW[0], State.DUE, id="day 7: the window opens"),
    pytest.param(IT_WINDOW[1], State.DUE, id="day 21: last day of the window"),
    pytest.param(IT_WINDOW[1] + timedelta(days=1), State.OVERDUE, id="day 22: overdue"),
])
def test_intrathecal_therapy_is_due_14_plus_minus_7_days_after_the_cycle(cycle_ended, as_of, expected):
    assert _state(cycle_ended, "C1-IT", "treatment.IntrathecalTherapy", as_of).state == expected


def test_a_visit_recorded_as_not_done_is_missed_not_overdue(cycle_ended, coordinator):
    save_crf(MissedVisit(patient=cycle_ended), user=coordinator, complete=True, data={
        "visit_key": "c1-it", "form": "treatment.IntrathecalTherapy",
        "not_done_reason": "Transferred to another hospital"})
    state = _state(cycle_ended, "C1-IT", "treatment.IntrathecalTherapy", date(2020, 6, 30))
    assert (state.state, state.reason) == (State.MISSED, "Transferred to another hospital")
    record = MissedVisit.objects.get(patient=cycle_ended)
    assert (record.visit, record.visit_key, record.history.count()) == ("C1-IT", "C1-IT", 1)


def test_a_visit_recorded_as_not_done_twice_is_refused_by_name_on_the_page_and_the_api(
        cycle_ended, coordinator, api_client):
    missed = {"visit_key": "C1-IT", "form": "treatment.IntrathecalTherapy", "not_done_reason": "Transferred"}
    first = save_crf(MissedVisit(patient=cycle_ended), user=coordinator, complete=True, data=missed)
    with pytest.raises(ValidationError) as refused:
        save_crf(MissedVisit(patient=cycle_ended), user=coordinator, complete=True, data=missed)
    assert refused.value.message_dict["visit_key"] == [
        "C1-IT · intrathecal therapy is already recorded as not done; correct that record instead."]
    response = api_client(coordinator).post("/api/v1/forms/missedvisit/", {
        "patient": cycle_ended.subject_id, **missed}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "already recorded as not done" in response.json()["visit_key"][0]
    # correcting the first one is not a duplicate of itself
    save_crf(first, user=coordinator, data={"not_done_reason": "Transferred to Querétaro"}, reason="Detail",
             expected_version=1)
    assert MissedVisit.objects.filter(patient=cycle_ended).count() == 1


def test_a_visit_that_was_done_cannot_also_be_recorded_as_not_done(treated, coordinator):
    with pytest.raises(ValidationError) as refused:
        save_crf(MissedVisit(patient=treated), user=coordinator, complete=True, data={
            "visit_key": "C1-IT", "form": "treatment.IntrathecalTherapy", "not_done_reason": "x"})
    assert "was done on 2020-04-30" in refused.value.message_dict["visit_key"][0]


def test_a_visit_not_expected_for_the_patient_cannot_be_recorded_as_not_done(cycle_ended, coordinator):
    with pytest.raises(ValidationError) as refused:
        save_crf(MissedVisit(patient=cycle_ended), user=coordinator, complete=True, data={
            "visit_key": "C2-IT", "form": "treatment.IntrathecalTherapy", "not_done_reason": "x"})
    assert "not a visit expected for this patient" in refused.value.message_dict["visit_key"][0]


def test_death_before_the_window_closes_makes_the_visit_not_applicable(cycle_ended, coordinator):
    treatment.death(coordinator, cycle_ended, IT_WINDOW[0] + timedelta(days=2))
    state = _state(cycle_ended, "C1-IT", "treatment.IntrathecalTherapy", date(2020, 12, 1))
    assert (state.state, state.reason) == (State.NOT_APPLICABLE, "death")


def test_a_screen_failure_expects_no_treatment(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient, performance_score=80)  # Lansky 80 is not above 80
    keys = {s.key for s in patient_schedule(patient, as_of=date(2021, 1, 1))}
    assert keys == {"SCR"}


def test_the_site_overdue_list_is_scoped_to_the_users_sites(cycle_ended, coordinator, outsider, data_manager):
    as_of = date(2020, 6, 30)
    mine = overdue_visits(Patient.objects.visible_to(coordinator), as_of=as_of)
    assert [(o.patient.subject_id, o.visit.key) for o in mine] == [
        (cycle_ended.subject_id, "C1-RESP"), (cycle_ended.subject_id, "C1-IT")]
    assert overdue_visits(Patient.objects.visible_to(outsider), as_of=as_of) == []
    assert len(overdue_visits(Patient.objects.visible_to(data_manager), as_of=as_of)) == 2


def test_the_schedule_of_many_patients_costs_the_same_queries_as_one(register, coordinator, site_a):
    patients = []
    for n in range(4):
        patient = register(coordinator, site_a, initials=f"A{'BCDE'[n]}").patient
        enrollment.enroll(coordinator, patient)
        treatment.debulking(coordinator, patient)
        treatment.cycle(coordinator, patient, 1)
        patients.append(patient)
    with CaptureQueriesContext(connection) as one:
        schedules([patients[0].pk], as_of=date(2020, 6, 30))
    with CaptureQueriesContext(connection) as four:
        result = schedules(Patient.objects.filter(pk__in=[p.pk for p in patients]), as_of=date(2020, 6, 30))
    assert len(result) == 4
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_patient_page_shows_the_calendar(client, treated, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[treated.subject_id])).content.decode()
    assert 'id="schedule"' in page
    assert 'data-visit="C1-IT" data-form="treatment.IntrathecalTherapy" data-state="done"' in page


def test_the_overdue_page_lists_the_visits_and_offers_to_record_them_as_not_done(client, cycle_ended, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("overdue-visits")).content.decode()
    assert f'data-subject="{cycle_ended.subject_id}" data-visit="C1-IT"' in page
    assert "?visit_key=C1-IT&amp;form=treatment.IntrathecalTherapy" in page


def test_the_api_gives_a_patients_schedule_and_the_overdue_visits(api_client, cycle_ended, coordinator, outsider):
    client = api_client(coordinator)
    answer = client.get(f"/api/v1/schedule/{cycle_ended.subject_id}/", {"as_of": "2020-05-01"})
    assert answer.status_code == 200
    intrathecal = next(v for v in answer.json() if v["key"] == "C1-IT")
    assert (intrathecal["state"], intrathecal["window_start"], intrathecal["window_end"]) == (
        "due", "2020-04-23", "2020-05-07")
    overdue = client.get("/api/v1/overdue-visits/", {"as_of": "2020-06-30"}).json()
    assert [(o["subject_id"], o["visit"]["key"]) for o in overdue] == [
        (cycle_ended.subject_id, "C1-RESP"), (cycle_ended.subject_id, "C1-IT")]
    assert api_client(outsider).get(f"/api/v1/schedule/{cycle_ended.subject_id}/").status_code == 404
    assert api_client(outsider).get("/api/v1/overdue-visits/", {"as_of": "2020-06-30"}).json() == []
    assert client.get(f"/api/v1/schedule/{cycle_ended.subject_id}/", {"as_of": "01/05/2020"}).status_code == 400
