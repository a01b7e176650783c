"""Code lists and date checks shared by the enrollment forms."""

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class YesNo(models.TextChoices):
    YES = "Y", _("Yes")
    NO = "N", _("No")


def form_of(patient, name: str):
    """The patient's one-per-patient form behind reverse accessor `name` (e.g. "consent"), or None."""
    try:
        return getattr(patient, name)
    except models.ObjectDoesNotExist:
        return None


# What other forms read of a patient's registration (as `Crf.crf_reads`): the date of birth, for their date checks
# and ages, and the age at registration. The initials and sex identify the child and feed no other form.
READ_BY_OTHER_FORMS = {"patients.Registration": ("date_of_birth", "registration_date", "age_years", "age_months",
                                                 "age_group")}


def date_of_birth(patient) -> date | None:
    registration = getattr(patient, "registration", None) if patient is not None else None
    return registration.date_of_birth if registration is not None else None


def check_date(errors: dict, model: type[models.Model], name: str, value: date | None, *,
               born: date | None = None, not_before: tuple[date | None, str] | None = None) -> None:
    """Common date rules: never in the future, never before birth, never before a given earlier date.

    Adds a message naming the field and the values to `errors` (at most one per field).
    """
    if value is None or name in errors:
        return
    label = capfirst(model._meta.get_field(name).verbose_name)
    if value > timezone.localdate():
        errors[name] = _("%(field)s: %(value)s is in the future.") % {"field": label, "value": value.isoformat()}
    elif born is not None and value < born:
        errors[name] = _("%(field)s: %(value)s is before the date of birth %(born)s.") % {
            "field": label, "value": value.isoformat(), "born": born.isoformat()}
    elif not_before is not None and not_before[0] is not None and value < not_before[0]:
        errors[name] = _("%(field)s: %(value)s is before %(other)s (%(other_value)s).") % {
            "field": label, "value": value.isoformat(), "other": not_before[1],
            "other_value": not_before[0].isoformat()}
