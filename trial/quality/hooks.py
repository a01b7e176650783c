"""After each committed save, the patient is checked again by a job; with the broker down, the re-check waits in
`PendingCheck` (data entry goes on) and runs with the next pending sweep or the nightly run."""

import contextlib
import contextvars
import logging

from django.conf import settings

from trial.events import on_patient_changed

log = logging.getLogger(__name__)
_paused = contextvars.ContextVar("quality_checks_paused", default=False)


@contextlib.contextmanager
def checks_paused():
    """Skip the per-save re-check (e.g. while the demo loads; it runs one study check at the end)."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


@on_patient_changed
def recheck_after_save(patient_id: int) -> None:
    if not settings.QUALITY_CHECK_ON_SAVE or _paused.get():
        return
    from trial.tasks import check_patient

    try:
        check_patient.delay(patient_id)
    except Exception:  # the broker is down, or (in-process) the check itself failed: the save stands
        log.warning("data-quality re-check of patient %s not run now; it waits for the next sweep", patient_id,
                    exc_info=True)
        defer(patient_id)


def defer(patient_id: int) -> None:
    from trial.quality.models import PendingCheck

    try:
        PendingCheck.objects.get_or_create(patient_id=patient_id)
    except Exception:  # the nightly run checks every patient anyway
        log.exception("could not record the pending re-check of patient %s", patient_id)
