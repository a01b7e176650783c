"""The audit trail: append-only on PostgreSQL, read-only everywhere, and checked nightly."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import translation

from patients.models import Registration
from trial.audit import audit_trail_findings, history_entries
from trial.crf import save_crf
from trial.tasks import check_audit_trail

pytestmark = pytest.mark.django_db


def _history_table() -> str:
    return Registration.history.model._meta.db_table


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE {table} SET initials = 'ZZZ'",
    "DELETE FROM {table}",
], ids=["update", "delete"])
def test_the_database_refuses_to_change_audit_rows(registration_a, statement):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=connection.ops.quote_name(_history_table())))
    assert registration_a.history.get().initials == "ABC"


def test_history_entries_say_who_when_what_and_why(register, coordinator, site_a):
    crf = register(coordinator, site_a, complete=True)
    save_crf(crf, user=coordinator, data={"initials": "XYZ", "sex": "M"}, reason="Chart review", expected_version=1)
    with translation.override("en"):
        created, changed = history_entries(crf)
    assert created.kind == "+" and created.user == "coord.a"
    assert changed.reason == "Chart review" and changed.version == 2
    assert {(c.field, c.old, c.new) for c in changed.changes} == {("initials", "ABC", "XYZ"),
                                                                  ("sex", "Female", "Male")}


def test_history_api_is_read_only(api_client, registration_a, coordinator):
    url = reverse("crf-registration-history", args=[registration_a.pk])
    client = api_client(coordinator)
    assert client.get(url).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(url, {}).status_code == 405


def test_the_audit_check_finds_nothing_after_normal_work(registration_a, coordinator):
    save_crf(registration_a, user=coordinator, data={"initials": "XYZ"})
    checked, findings = audit_trail_findings()
    assert checked >= 2 and findings == []


def test_the_audit_check_finds_a_change_made_around_the_save_path(registration_a):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Registration._meta.db_table} SET initials = 'SQL' WHERE id = %s",
                       [registration_a.pk])
    _, findings = audit_trail_findings()
    assert findings == [{"model": "patients.Registration", "pk": registration_a.pk,
                         "problem": "row differs from its latest audit record", "fields": ["initials"]}]


def test_the_nightly_task_records_its_run(registration_a):
    from trial.models import AuditTrailCheck

    outcome = check_audit_trail.delay().get()
    run = AuditTrailCheck.objects.get(pk=outcome["run"])
    assert run.passed and run.rows_checked == outcome["checked"] >= 2
