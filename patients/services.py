"""Registering a patient: the one place a subject ID is handed out."""

from collections.abc import Mapping

from django.db import transaction

from patients.models import Patient, Registration, SubjectNumber
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

    The site's counter row is locked while the number is taken, so two coordinators registering at the same
    moment get consecutive numbers; if the form is invalid the whole transaction (number included)
    rolls back, so a committed subject ID is never handed out twice.
    """
    access.require(user, Action.REGISTER_PATIENT, site=site)
    SubjectNumber.objects.get_or_create(site=site)  # first registration at the site; race-safe
    counter = SubjectNumber.objects.select_for_update().get(site=site)
    counter.last_number += 1
    counter.save()
    patient = Patient(site=site, created_by=user, subject_id=format_subject_id(site.code, counter.last_number))
    patient._history_user = user
    patient.save()
    return save_crf(Registration(patient=patient), user=user, data=data, complete=complete)
