"""A real Celery worker on Redis, killed in the middle of a data-quality run: whole chunks are done or not done, no
query is duplicated or half-written, the job is handed back, and the run then completes with one query per finding."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from tests import enrollment
from trial.quality.hooks import checks_paused
from trial.quality.models import QualityRun, Query, QueryAction, QueryEvent, QueryStatus, RunStatus
from trial.tasks import run_quality_checks

pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PATIENTS = 60


def _worker(queue: str) -> subprocess.Popen:
    """`celery worker` in its own process, on the test database, one patient per chunk, consuming only `queue`."""
    db = connection.settings_dict
    env = {**os.environ,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "QUALITY_CHUNK_SIZE": "1",
           "CELERY_VISIBILITY_TIMEOUT": "2", "QUALITY_CHECK_ON_SAVE": "0"}
    celery = str(Path(sys.executable).with_name("celery"))  # the virtualenv's own command
    command = [celery, "-A", "trial", "worker", "--pool=solo", "--without-heartbeat", "--without-gossip",
               "--without-mingle", "-Q", queue, "--loglevel=WARNING"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - a file, not a pipe (a full pipe stalls the worker)
    process = subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603 - our own command and arguments
                               stdout=subprocess.DEVNULL, stderr=log)
    process.log = log
    return process


def _log(process: subprocess.Popen) -> str:
    process.log.seek(0)
    return process.log.read().decode(errors="replace")[-3000:]


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def cohort(register, coordinator, site_a):
    """Patients whose baseline weight is outside its expected range: one finding each (rule QC-001)."""
    with checks_paused():
        for number in range(PATIENTS):
            initials = f"K{chr(65 + number % 26)}{chr(65 + number // 26)}"
            patient = register(coordinator, site_a, initials=initials).patient
            enrollment.consent(coordinator, patient)
            enrollment.diagnosis(coordinator, patient)
            enrollment.baseline(coordinator, patient, weight_kg=Decimal("160.0"))
    return PATIENTS


def _run_state(run: QualityRun) -> QualityRun:
    run.refresh_from_db()
    return run


def test_a_worker_killed_in_the_middle_of_a_run_leaves_no_half_written_query_and_the_run_completes(cohort):
    from trial.celery import app

    app.conf.task_always_eager = False  # to the broker, for the worker processes (the fixture restores it)
    queue = f"quality-kill-{os.getpid()}"
    run = QualityRun.objects.create(scope="study")
    first = _worker(queue)
    try:
        run_quality_checks.apply_async(args=[run.pk], queue=queue)
        started = _wait(lambda: _run_state(run).patients_done >= 10, 60)
        assert started, (first.poll(), _log(first))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    run = _run_state(run)
    assert run.status == RunStatus.RUNNING and 10 <= run.patients_done < cohort
    # Whole chunks only: every query written has its "opened" event, and no finding has two open queries.
    opened = Query.objects.filter(rule="QC-001").count()
    assert 10 <= opened < cohort
    assert QueryEvent.objects.filter(action=QueryAction.OPENED).count() == Query.objects.count()
    assert not Query.objects.exclude(status=QueryStatus.CLOSED).values("key").annotate(n=Count("pk")).filter(n__gt=1)

    second = _worker(queue)  # the job was acknowledged late: it comes back to the next worker and completes
    try:
        assert _wait(lambda: _run_state(run).status == RunStatus.DONE, 90), (run.status, _log(second))
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(20)
        except subprocess.TimeoutExpired:
            second.kill()
    run = _run_state(run)
    assert run.attempts == 2 and run.patients_done == run.patients_total == cohort
    qc = Query.objects.filter(rule="QC-001")
    assert qc.count() == cohort and qc.filter(status=QueryStatus.OPEN).count() == cohort
    assert QueryEvent.objects.filter(action=QueryAction.OPENED).count() == Query.objects.count()
