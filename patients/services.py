"""Registering a patient: the one place a subject ID is handed out."""

from collections.abc import Mapping

from django.db import transaction

from patients.models import Patient, Registration
from sites.models import Site
from trial import access
from trial.access import Action
from trial.crf import save_crf


def format_subject_id(site_code: str, number: int) -> str:
    """`<site code>-<3-digit sequence>`, e.g. MX01-007 (CRF-SPEC Registration)."""
    return f"{site_code}-{number:03d}"


@transaction.atomic
def register_patient(*, user, site: Site, data: Mapping[str, object], complete: bool = False) -> Registration:
    """Create the patient with the site's next subject ID and its Registration form, atomically.

    The site row is locked while the number is taken, so two coordinators registering at the same
    moment get consecutive numbers; if the form is invalid the whole transaction (number included)
    rolls back, so a committed subject ID is never handed out twice.
    """
    access.require(user, Action.REGISTER_PATIENT, site=site)
    locked_site = Site.objects.select_for_update().get(pk=site.pk)
    locked_site.last_subject_number += 1
    locked_site.save(update_fields=["last_subject_number"])
    patient = Patient(site=locked_site, created_by=user,
                      subject_id=format_subject_id(locked_site.code, locked_site.last_subject_number))
    patient._history_user = user
    patient.save()
    return save_crf(Registration(patient=patient), user=user, data=data, complete=complete)
