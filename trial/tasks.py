"""Celery entry points. Thin: the logic and its tests live in trial.audit and trial.quality."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def check_audit_trail() -> dict[str, int]:
    """Nightly: record whether any stored row differs from its latest audit record."""
    from trial.audit import audit_trail_findings
    from trial.models import AuditTrailCheck

    run = AuditTrailCheck.objects.create()
    checked, findings = audit_trail_findings()
    run.rows_checked, run.findings, run.finished_at = checked, findings, timezone.now()
    run.save()
    return {"run": run.pk, "checked": checked, "findings": len(findings)}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_quality_checks(run_id: int | None = None) -> dict[str, int]:
    """A data-quality run: the one named (started from the page or the API), or the nightly study run.

    Acknowledged late: a worker killed in the middle hands the job back, and running it again finishes it
    (chunks already done write nothing more)."""
    from trial.quality.engine import execute
    from trial.quality.models import QualityRun, RunScope, RunStatus

    run = QualityRun.objects.create(scope=RunScope.STUDY) if run_id is None else QualityRun.objects.get(pk=run_id)
    if run.status == RunStatus.DONE:
        return {"run": run.pk}
    execute(run)
    return {"run": run.pk, "patients": run.patients_done, "opened": run.opened, "closed": run.closed}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def check_patient(patient_id: int) -> dict[str, int]:
    """One patient's re-check after a save."""
    from trial.quality.engine import check_patients

    done = check_patients([patient_id])
    return {"opened": done.opened, "closed": done.closed}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def recheck_pending() -> int:
    """The re-checks that could not be queued when their data were saved (the broker was down)."""
    from trial.quality.engine import check_patients
    from trial.quality.models import PendingCheck

    ids = list(PendingCheck.objects.values_list("patient_id", flat=True))
    if ids:
        check_patients(ids)
    return len(ids)


@shared_task
def send_notification_digests() -> int:
    from trial.quality.notify import send_digests

    return send_digests()
