"""Where each patient stands in screening, and the per-site screening log (registered, eligible, failures)."""

from collections import Counter
from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models import Consent, Eligibility, Patient
from patients.models.codes import form_of


class EnrollmentState(models.TextChoices):
    AWAITING_CONSENT = "awaiting_consent", _("Awaiting consent")
    SCREENING = "screening", _("In screening")
    ELIGIBLE = "eligible", _("Eligible")
    SCREEN_FAILURE = "screen_failure", _("Screen failure")
    WITHDRAWN = "withdrawn", _("Consent withdrawn")


def enrollment_state(patient: Patient) -> EnrollmentState:
    """Withdrawal overrides everything; then eligibility's outcome; before consent nothing else counts."""
    consent: Consent | None = form_of(patient, "consent")
    eligibility: Eligibility | None = form_of(patient, "eligibility")
    if consent is None:
        return EnrollmentState.AWAITING_CONSENT
    if consent.withdrawn:
        return EnrollmentState.WITHDRAWN
    if eligibility is not None and eligibility.is_screen_failure:
        return EnrollmentState.SCREEN_FAILURE
    if eligibility is not None and eligibility.is_eligible:
        return EnrollmentState.ELIGIBLE
    return EnrollmentState.SCREENING


@dataclass
class LogRow:
    patient: Patient
    state: EnrollmentState
    failed: list[str]

    @property
    def registration(self):
        return form_of(self.patient, "registration")

    @property
    def eligibility(self):
        return form_of(self.patient, "eligibility")

    @property
    def consent(self):
        return form_of(self.patient, "consent")


@dataclass
class SiteTotals:
    code: str
    name: str
    counts: Counter = field(default_factory=Counter)

    @property
    def registered(self) -> int:
        return sum(self.counts.values())

    @property
    def by_state(self) -> list[tuple[EnrollmentState, int]]:
        return [(state, self.counts[state]) for state in EnrollmentState]


def screening_log(patients: models.QuerySet) -> tuple[list[SiteTotals], list[LogRow]]:
    """Totals per site and one row per patient, from a (site-scoped) patient queryset; a constant number of
    queries whatever the number of patients."""
    rows, totals = [], {}
    related = ("site", "registration", "consent", "eligibility", "diagnosis", "baseline")
    for patient in patients.select_related(*related).order_by("subject_id"):
        state = enrollment_state(patient)
        eligibility = form_of(patient, "eligibility")
        failed = eligibility.failed_with_values() if eligibility is not None and eligibility.is_screen_failure else []
        rows.append(LogRow(patient, state, failed))
        site = totals.setdefault(patient.site.code, SiteTotals(patient.site.code, patient.site.name))
        site.counts[state] += 1
    return sorted(totals.values(), key=lambda s: s.code), rows
