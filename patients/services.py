"""Registering a patient (the one place a subject ID is handed out) and the enrollment summaries."""

import functools
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from patients.models import Patient, Registration, SubjectNumber
from sites.models import Site
from trial import access, rows
from trial.access import Action
from trial.crf import mark_new_patient, save_crf


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
    """Patients of the same site with the same date of birth, sex and initials (CRF-SPEC Registration).

    It runs at every registration, so its SQL is built once (trial.rows)."""
    initials = str(data.get("initials") or "").strip().upper()
    if not (initials and data.get("sex") and data.get("date_of_birth")):
        return []
    with connection.cursor() as cursor:
        cursor.execute(_duplicates_sql(), [site.pk, data["date_of_birth"], data["sex"], initials])
        return [rows.instance(Patient, row) for row in cursor.fetchall()]


@functools.cache
def _duplicates_sql() -> str:
    registration = Registration
    return (f"SELECT {rows.columns(Patient)} FROM {rows.table(Patient)} "  # noqa: S608 - identifiers from metadata
            f"INNER JOIN {rows.table(registration)} ON {rows.column(registration, 'patient')} = "
            f"{rows.column(Patient, 'id')} WHERE {rows.column(registration, 'site')} = %s AND "
            f"{rows.column(registration, 'date_of_birth')} = %s AND {rows.column(registration, 'sex')} = %s AND "
            f"{rows.column(registration, 'initials')} = %s ORDER BY {rows.column(Patient, 'subject_id')}")


def _next_subject_number(site: Site) -> int:
    """Take the site's next subject number: one UPDATE that increments and returns it, holding the counter's row
    lock until the transaction ends (a rollback gives the number back)."""
    table = connection.ops.quote_name(SubjectNumber._meta.db_table)
    number, site_id = (connection.ops.quote_name(SubjectNumber._meta.get_field(name).column)
                       for name in ("last_number", "site"))
    sql = (f"UPDATE {table} SET {number} = {number} + 1 "  # noqa: S608 - identifiers from model metadata, quoted
           f"WHERE {site_id} = %s RETURNING {number}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [site.pk])
        row = cursor.fetchone()
        if row is None:  # the site's first registration; race-safe
            SubjectNumber.objects.get_or_create(site=site)
            cursor.execute(sql, [site.pk])
            row = cursor.fetchone()
    return row[0]


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
    number = _next_subject_number(site)
    matches = possible_duplicates(site, data)
    if matches and not confirm_not_duplicate:
        raise PossibleDuplicate(matches)
    patient = Patient(site=site, created_by=user, subject_id=format_subject_id(site.code, number))
    patient._history_user = user
    patient.save()
    mark_new_patient(patient)
    reason = ""
    if matches:
        reason = _("Registered after confirming this is not %(ids)s (same date of birth, sex and initials).") % {
            "ids": ", ".join(p.subject_id for p in matches)}
    # This transaction created the patient (so holds its row) and rolls back whole on any error.
    return save_crf(Registration(patient=patient), user=user, data=data, complete=complete, reason=reason,
                    locked=True, savepoint=False)
