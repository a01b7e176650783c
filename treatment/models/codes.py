"""What the treatment forms share: the cycle a date falls in, the cycle number field, the death record."""

from datetime import date, timedelta

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy as _

from treatment import rules
from trial.reads import shared


def cycle_number_field(**kwargs) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        _("cycle"), choices=[(n, str(n)) for n in range(1, rules.MAX_CYCLES + 1)], **kwargs)


def disagreement_field() -> models.BooleanField:
    """The confirmation that a typed grade or response contradicting the computed one is meant (trial.crf)."""
    return models.BooleanField(
        _("I confirm this disagreement"), default=False,
        help_text=_("Only when your value above differs from the computed one and you stand by it."))


@shared("treatment.BlinatumomabCycle")
def cycles_of(patient_id: int | None) -> list:
    """The patient's blinatumomab cycles in order (one query; once per re-derivation pass). Do not modify."""
    from treatment.models.cycle import BlinatumomabCycle

    if patient_id is None:
        return []
    return list(BlinatumomabCycle.objects.filter(patient_id=patient_id).order_by("cycle_number"))


def cycle_numbered(patient_id: int | None, number: int | None):
    return next((c for c in cycles_of(patient_id) if c.cycle_number == number), None) if number else None


def cycle_on(patient_id: int | None, day: date | None):
    """The cycle a date belongs to: the latest cycle started on or before it (None before cycle 1)."""
    if day is None:
        return None
    started = [c for c in cycles_of(patient_id) if c.start_date and c.start_date <= day]
    return started[-1] if started else None


def cycle_period_end(cycle) -> date:
    """The last day a cycle's assessments belong to: its infusion end (or day 28) plus the 14 free days."""
    infusion_end = cycle.end_date or cycle.start_date + timedelta(days=rules.CYCLE_INFUSION_DAYS - 1)
    return infusion_end + timedelta(days=rules.CYCLE_FREE_DAYS)


@shared("patients.Death")
def death_of(patient_id: int | None):
    """The patient's Death record (the patient's vital status, in the patients app), or None."""
    if patient_id is None:
        return None
    return apps.get_model("patients", "Death").objects.filter(patient_id=patient_id).first()


class Grade(models.IntegerChoices):
    """Toxicity grades 0–5 as the user reads them."""

    G0 = 0, _("Grade 0 (none)")
    G1 = 1, _("Grade 1")
    G2 = 2, _("Grade 2")
    G3 = 3, _("Grade 3")
    G4 = 4, _("Grade 4")
    G5 = 5, _("Grade 5 (death)")
