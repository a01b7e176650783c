"""Celery entry points. Thin: the logic and its tests live in trial.audit."""

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
