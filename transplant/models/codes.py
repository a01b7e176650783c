"""What the transplant forms share: day 0 and the day relative to it, code lists, and the date checks."""

from datetime import date

from django.apps import apps
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from transplant import rules
from trial import reads


@reads.shared("transplant.TransplantProcedure")
def transplant_of(patient_id: int | None):
    """The patient's transplant procedure record (day 0 = its transplant date), or None. One query per pass."""
    if patient_id is None:
        return None
    return apps.get_model("transplant", "TransplantProcedure").objects.filter(patient_id=patient_id).first()


def day0_of(patient_id: int | None) -> date | None:
    transplant = transplant_of(patient_id)
    return transplant.transplant_date if transplant is not None else None


def day_after_transplant(patient_id: int | None, day: date | None) -> int | None:
    """The day relative to transplant (day 0 = graft infusion), or None while day 0 or the date is unknown."""
    day0 = day0_of(patient_id)
    if day0 is None or day is None:
        return None
    return rules.day_relative(day, day0)


def day_label(day: int | None) -> str:
    """“day +23”, “day 0”, “day −4” as people write them."""
    if day is None:
        return ""
    sign = "+" if day > 0 else ("−" if day < 0 else "")
    return str(_("day %(day)s") % {"day": f"{sign}{abs(day)}"})


def day_post_transplant_field() -> models.IntegerField:
    return models.IntegerField(_("day after transplant"), null=True, editable=False,
                               help_text=_("Counted from the graft infusion (day 0)."))


def check_after_day0(errors: dict, model: type[models.Model], name: str, record, *, first_day: int = 0) -> None:
    """A post-transplant record is dated on or after day `first_day` (day 0 = graft infusion)."""
    value = getattr(record, name)
    if value is None or name in errors:
        return
    day0 = day0_of(record.patient_id)
    if day0 is None:
        errors[name] = _("Enter the transplant procedure (day 0) first: this form is dated relative to it.")
        return
    day = rules.day_relative(value, day0)
    if day < first_day:
        errors[name] = _("%(field)s: %(date)s is day %(day)s; this form starts on day %(first)s after the graft "
                         "infusion (day 0 = %(day0)s).") % {
            "field": capfirst(model._meta.get_field(name).verbose_name), "date": value.isoformat(),
            "day": str(day).replace("-", "−"),
            "first": first_day, "day0": day0.isoformat()}


def one_per_date(errors: dict, record, name: str) -> None:
    """One record of this form per patient and date: a second one is a correction of the first."""
    day = getattr(record, name)
    if day is None or name in errors:
        return
    if type(record).objects.filter(patient_id=record.patient_id, **{name: day}).exclude(pk=record.pk).exists():
        errors[name] = _("This patient already has a %(form)s on %(date)s; correct that one instead.") % {
            "form": type(record)._meta.verbose_name, "date": day.isoformat()}


class Timepoint(models.IntegerChoices):
    """Chimerism and immune reconstitution at 3, 6, 12 and 18 months after transplant (D14)."""

    M3 = 3, _("3 months")
    M6 = 6, _("6 months")
    M12 = 12, _("12 months")
    M18 = 18, _("18 months")


class Positive(models.TextChoices):
    POSITIVE = "pos", _("Positive")
    NEGATIVE = "neg", _("Negative")
    UNKNOWN = "unk", _("Unknown")
