"""The data-quality engine keeps exactly one query per finding: it opens, keeps, follows and closes them itself, never
re-opens what a person closed while the finding is the same, writes nothing when nothing changed, and a save's
re-check survives a broker that is down."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests import enrollment
from trial.crf import save_crf
from trial.quality import rule_by_code
from trial.quality.engine import check_patients, findings, scope_for
from trial.quality.models import PendingCheck, Query, QueryAction, QueryStatus
from trial.quality.workflow import take_step

# Judged the day after the baseline: nothing of the schedule is overdue yet.
TODAY = date(2020, 3, 11)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def baseline(coordinator, registration_a):
    enrollment.consent(coordinator, registration_a.patient)
    enrollment.diagnosis(coordinator, registration_a.patient)
    return enrollment.baseline(coordinator, registration_a.patient)


def _weigh(user, record, kg: str):
    return save_crf(record, user=user, data={"weight_kg": Decimal(kg)}, reason="corrected from the source")


def _qc001(patient) -> list[Query]:
    return list(Query.objects.filter(patient=patient, rule="QC-001").order_by("pk"))


def test_a_soft_range_value_opens_one_query_naming_field_value_and_range(coordinator, baseline):
    _weigh(coordinator, baseline, "160.0")
    done = check_patients([baseline.patient_id], today=TODAY)
    [query] = _qc001(baseline.patient)
    assert done.opened >= 1
    assert (query.form, query.record_id, query.field, query.status) == (
        "patients.Baseline", baseline.pk, "weight_kg", QueryStatus.OPEN)
    assert query.text_en == ("Weight (kg): 160 kg is outside the expected range 3–150 kg. Confirm it against the "
                             "source document, or correct it.")
    assert "Peso" in query.text_es and "160 kg" in query.text_es
    assert query.severity == "confirm" and query.site_id == baseline.site_id
    assert [e.action for e in query.events.all()] == [QueryAction.OPENED]


def test_a_second_run_with_no_change_writes_nothing(coordinator, baseline):
    _weigh(coordinator, baseline, "160.0")
    check_patients([baseline.patient_id], today=TODAY)
    with CaptureQueriesContext(connection) as seen:
        done = check_patients([baseline.patient_id], today=TODAY)
    writes = [q["sql"] for q in seen.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert (done.opened, done.closed, done.changed, writes) == (0, 0, 0, [])
    assert len(_qc001(baseline.patient)) == 1


def test_a_finding_that_persists_with_another_value_keeps_its_one_query_and_follows_the_value(coordinator, baseline):
    _weigh(coordinator, baseline, "160.0")
    check_patients([baseline.patient_id], today=TODAY)
    _weigh(coordinator, baseline.__class__.objects.get(pk=baseline.pk), "170.0")
    done = check_patients([baseline.patient_id], today=TODAY)
    [query] = _qc001(baseline.patient)
    assert (done.opened, done.changed) == (0, 1)
    assert "170 kg" in query.text_en and query.status == QueryStatus.OPEN
    assert query.events.last().action == QueryAction.UPDATED


def test_a_finding_that_disappears_closes_its_query_with_a_note(coordinator, baseline):
    _weigh(coordinator, baseline, "160.0")
    check_patients([baseline.patient_id], today=TODAY)
    _weigh(coordinator, baseline.__class__.objects.get(pk=baseline.pk), "60.0")
    done = check_patients([baseline.patient_id], today=TODAY)
    [query] = _qc001(baseline.patient)
    assert done.closed == 1
    assert (query.status, query.closed_by_id) == (QueryStatus.CLOSED, None)
    event = query.events.last()
    assert event.action == QueryAction.AUTO_CLOSED and "no longer show this finding" in event.text
    assert query.history.first().history_change_reason == "finding resolved"


def test_a_query_a_person_closed_stays_closed_while_the_finding_is_the_same(coordinator, monitor, baseline):
    _weigh(coordinator, baseline, "160.0")
    check_patients([baseline.patient_id], today=TODAY)
    [query] = _qc001(baseline.patient)
    take_step(coordinator, query, "answer", text="Checked: the source says 160 kg.")
    take_step(monitor, query, "close", text="Confirmed against the source.")
    assert check_patients([baseline.patient_id], today=TODAY).opened == 0
    assert [q.status for q in _qc001(baseline.patient)] == [QueryStatus.CLOSED]
    # ...but a different value is a new finding: a new query
    _weigh(coordinator, baseline.__class__.objects.get(pk=baseline.pk), "165.0")
    check_patients([baseline.patient_id], today=TODAY)
    assert [q.status for q in _qc001(baseline.patient)] == [QueryStatus.CLOSED, QueryStatus.OPEN]


def test_the_database_refuses_a_second_open_query_for_the_same_finding(coordinator, baseline):
    _weigh(coordinator, baseline, "160.0")
    check_patients([baseline.patient_id], today=TODAY)
    [query] = _qc001(baseline.patient)
    copy = Query(site_id=query.site_id, patient_id=query.patient_id, form=query.form, record_id=query.record_id,
                 field=query.field, rule=query.rule, key=query.key, text_es="x", text_en="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


def test_a_rules_message_is_rendered_in_both_languages_and_its_fingerprint_ignores_the_language(coordinator,
                                                                                                baseline):
    _weigh(coordinator, baseline, "160.0")
    found = findings(scope_for([baseline.patient_id], TODAY))
    checked, hit = next(v for k, v in found.items() if k.startswith("QC-001|"))
    with translation.override("es-mx"):
        in_spanish = checked.fingerprint(hit)
    assert in_spanish == checked.fingerprint(hit)
    assert checked.render(hit, "es-mx") != checked.render(hit, "en")


def test_every_rule_has_a_stable_code_a_title_and_a_message_in_both_languages():
    from trial.quality import rules

    codes = [r.code for r in rules()]
    assert len(codes) == len(set(codes)) and {"QC-001", "QC-002", "SCH-001", "SCH-003"} <= set(codes)
    assert rule_by_code("QC-001").severity == "confirm"
    for checked in rules():
        with translation.override("es-mx"):
            spanish = str(checked.message)
        assert str(checked.title) and spanish, checked.code


@pytest.mark.django_db(transaction=True)
def test_each_committed_save_rechecks_the_patient(coordinator, registration_a, django_capture_on_commit_callbacks):
    patient = registration_a.patient
    enrollment.consent(coordinator, patient)
    enrollment.diagnosis(coordinator, patient)
    record = enrollment.baseline(coordinator, patient, weight_kg=Decimal("160.0"))
    assert [q.field for q in _qc001(patient)] == ["weight_kg"]
    _weigh(coordinator, record.__class__.objects.get(pk=record.pk), "60.0")
    assert [q.status for q in _qc001(patient)] == [QueryStatus.CLOSED]


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_save_stands_and_the_recheck_waits_for_the_next_sweep(coordinator, registration_a,
                                                                                       monkeypatch):
    from kombu.exceptions import OperationalError

    from trial.tasks import check_patient, recheck_pending

    def broker_refuses(*args, **kwargs):  # what kombu raises when Redis does not answer
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    patient = registration_a.patient
    enrollment.consent(coordinator, patient)
    enrollment.diagnosis(coordinator, patient)
    with monkeypatch.context() as broker_down:
        broker_down.setattr(check_patient, "apply_async", broker_refuses)
        record = enrollment.baseline(coordinator, patient, weight_kg=Decimal("160.0"))
    assert record.pk and record.weight_kg == Decimal("160.0")
    assert PendingCheck.objects.filter(patient=patient).exists()
    assert _qc001(patient) == []
    assert recheck_pending() == 1  # the ten-minute sweep (beat), called as the worker calls it
    assert [q.field for q in _qc001(patient)] == ["weight_kg"]
    assert not PendingCheck.objects.exists()
