"""When a patient may get new forms: consent first, nothing new after withdrawal, treatment only if eligible.

Registered with the CRF engine (trial.crf.entry_check), which runs these checks on every new form,
whatever the path (page, API, import), and the casebook shows their answer instead of an "Enter" button.
"""

from django.utils.translation import gettext as _

from patients.models import Consent, DiagnosisHistory, Eligibility, Relapse
from trial.crf import Crf, Phase, entry_check

_NEEDS_NO_CONSENT = {"patients.Registration", "patients.Consent"}


def _cached(patient, key: str, load):
    cache = patient.__dict__.setdefault("_enrollment_cache", {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def consent_of(patient) -> Consent | None:
    return _cached(patient, "consent", lambda: Consent.objects.filter(patient_id=patient.pk).first())


def eligibility_of(patient) -> Eligibility | None:
    return _cached(patient, "eligibility", lambda: Eligibility.objects.filter(patient_id=patient.pk).first())


@entry_check
def consent_first(patient, model: type[Crf]) -> str | None:
    """CRF-SPEC Consent: required before any other form; withdrawal stops new data entry, data stay."""
    if model._meta.label in _NEEDS_NO_CONSENT:
        return None
    consent = consent_of(patient)
    if consent is None:
        return _("Record the consent first: no other form of this patient can be entered before it.")
    if consent.withdrawn:
        return _("Consent was withdrawn on %(date)s: no new forms can be entered for this patient. "
                 "Recorded data are kept and can still be corrected.") % {"date": consent.withdrawal_date.isoformat()}
    return None


@entry_check
def diagnosis_before_relapses(patient, model: type[Crf]) -> str | None:
    """A relapse's BFM time point is counted from the initial diagnosis, so the diagnosis comes first."""
    if model is Relapse and not _cached(patient, "has_diagnosis",
                                        DiagnosisHistory.objects.filter(patient_id=patient.pk).exists):
        return _("Enter Diagnosis and history first: each relapse is timed from the initial diagnosis.")
    return None


@entry_check
def eligible_before_treatment(patient, model: type[Crf]) -> str | None:
    """CRF-SPEC Eligibility: no treatment (or later) form for a patient not shown eligible."""
    if model.crf_phase in (Phase.ENROLLMENT, Phase.SCHEDULE):
        return None
    eligibility = eligibility_of(patient)
    if eligibility is not None and eligibility.is_screen_failure:
        return _("Screen failure (not met: %(criteria)s): no treatment forms can be entered.") % {
            "criteria": "; ".join(eligibility.failed_wording())}
    if eligibility is None or not eligibility.is_eligible:
        return _("Treatment forms open once the Eligibility form shows the patient eligible.")
    return None
