"""How the engine finds the study subject, without importing the patients app (string reference)."""

from django.apps import apps
from django.db import models

from trial import access


def patient_model() -> type[models.Model]:
    return apps.get_model("patients", "Patient")


def visible_patient_or_404(user, subject_id: str, *, path: str = "") -> models.Model:
    """The patient, if `user` may see it (else 404); with `path`, the access is logged."""
    patient = access.get_visible_or_404(patient_model().objects.select_related("site"), user, subject_id=subject_id)
    if path:
        log_access(user, patient, path)
    return patient


def log_access(user, patient, path: str) -> None:
    """One row of the casebook access log: `patient` is None for a list of several patients' data."""
    from trial.models import CasebookAccess

    CasebookAccess.objects.create(user=user, patient=patient, path=path[:300])


def log_list_access(request) -> None:
    """A list of study data was read: one row for the request, with its filters (the query string)."""
    log_access(request.user, None, request.get_full_path())
