"""Starting a data-quality run: a row the page and the API follow, and a job queued once the row is committed."""

import logging

from django.db import transaction
from django.utils import timezone

from trial.quality.models import QualityRun, RunScope, RunStatus

log = logging.getLogger(__name__)


def start_run(user, *, site=None, patient=None) -> QualityRun:
    """Queue a run over the study, one site or one patient (the caller has checked the user may start it)."""
    scope = RunScope.PATIENT if patient is not None else RunScope.SITE if site is not None else RunScope.STUDY
    run = QualityRun.objects.create(scope=scope, site=site or (patient.site if patient is not None else None),
                                    patient=patient, requested_by=user)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from trial.tasks import run_quality_checks

    try:
        run_quality_checks.delay(run_id)
    except Exception as error:  # broker down (or, in-process, the run failed and recorded why)
        log.warning("data-quality run %s could not be queued or failed", run_id, exc_info=True)
        QualityRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(  # operational record, not study data
            status=RunStatus.FAILED, finished_at=timezone.now(),
            error=f"not queued: {type(error).__name__}: {error}; the nightly run checks every patient")
