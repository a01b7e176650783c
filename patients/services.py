"""Registering a patient (the one place a subject ID is handed out) and the enrollment summaries."""

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from patients.models import Patient, Registration, SubjectNumber
from sites.models import Site
from trial import access
from trial.access import Action
from trial.crf import save_crf


def format_subject_id(site_code: str, number: int) -> str:
    """`<site code>-<3-digit sequence>`, e.g. MX01-007 (CRF-SPEC Registration)."""
    return f"{site_code}-{number:03d}"


class PossibleDuplicate(ValidationError):
    """Registration matches an existing patient of the site on date of birth, sex and initials."""

    def __init__(self, matches: list[Patient]) -> None:
        self.matches = matches
        ids = ", ".join(p.subject_id for p in matches)
        super().__init__({"confirm_not_duplicate": [_(
            "Possible duplicate of %(ids)s: same site, date of birth, sex and initials. Check that this is a "
            "different patient, then confirm; otherwise cancel.") % {"ids": ids}]}, code="possible_duplicate")


def possible_duplicates(site: Site, data: Mapping[str, object]) -> list[Patient]:
    """Patients of the same site with the same date of birth, sex and initials (CRF-SPEC Registration)."""
    initials = str(data.get("initials") or "").strip().upper()
    if not (initials and data.get("sex") and data.get("date_of_birth")):
        return []
    return list(Patient.objects.filter(
        site=site, registration__initials=initials, registration__sex=data["sex"],
        registration__date_of_birth=data["date_of_birth"]).order_by("subject_id"))


@transaction.atomic
def register_patient(*, user, site: Site, data: Mapping[str, object], complete: bool = False,
                     confirm_not_duplicate: bool = False) -> Registration:
    """Create the patient with the site's next subject ID and its Registration form, atomically.

    The site's counter row is locked while the number is taken, so two coordinators registering at the same
    moment get consecutive numbers; if the form is invalid the whole transaction (number included)
    rolls back, so a committed subject ID is never handed out twice. A registration that matches an
    existing patient is refused until the user confirms it is a different patient; the confirmation is
    kept as the reason of the registration's first audit record.
    """
    access.require(user, Action.REGISTER_PATIENT, site=site)
    counter = SubjectNumber.objects.select_for_update().filter(site=site).first()
    if counter is None:  # first registration at the site; race-safe
        SubjectNumber.objects.get_or_create(site=site)
        counter = SubjectNumber.objects.select_for_update().get(site=site)
    matches = possible_duplicates(site, data)
    if matches and not confirm_not_duplicate:
        raise PossibleDuplicate(matches)
    counter.last_number += 1
    counter.save()
    patient = Patient(site=site, created_by=user, subject_id=format_subject_id(site.code, counter.last_number))
    patient._history_user = user
    patient.save()
    reason = ""
    if matches:
        reason = _("Registered after confirming this is not %(ids)s (same date of birth, sex and initials).") % {
            "ids": ", ".join(p.subject_id for p in matches)}
    # This transaction created the patient (so holds its row) and rolls back whole on any error.
    return save_crf(Registration(patient=patient), user=user, data=data, complete=complete, reason=reason,
                    locked=True, savepoint=False)
