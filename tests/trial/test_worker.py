"""A real Celery worker, consuming from the real Redis broker, runs a job against the test database."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from trial.celery import app
from trial.models import AuditTrailCheck
from trial.tasks import check_audit_trail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _close_worker_connections(**kwargs) -> None:
    connections.close_all()  # runs in the worker's thread, which holds its own connection


def test_a_job_round_trips_through_redis_and_a_worker(registration_a, settings):
    app.conf.task_always_eager = False
    task_postrun.connect(_close_worker_connections, weak=False)
    with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=20):
        check_audit_trail.delay()
        for _ in range(200):
            if AuditTrailCheck.objects.filter(finished_at__isnull=False).exists():
                break
            time.sleep(0.1)
    task_postrun.disconnect(_close_worker_connections)
    run = AuditTrailCheck.objects.get()
    assert run.passed and run.rows_checked >= 2
