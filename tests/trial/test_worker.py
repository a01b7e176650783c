"""A real Celery worker, consuming from the real Redis broker, runs a job against the test database."""

import pytest
from celery.contrib.testing.worker import start_worker

from trial.celery import app
from trial.models import AuditTrailCheck
from trial.tasks import check_audit_trail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_job_round_trips_through_redis_and_a_worker(registration_a, settings):
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=20):
        check_audit_trail.delay()
        for _ in range(200):
            if AuditTrailCheck.objects.filter(finished_at__isnull=False).exists():
                break
            import time

            time.sleep(0.1)
    run = AuditTrailCheck.objects.get()
    assert run.passed and run.rows_checked >= 2
