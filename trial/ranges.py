"""Units, hard ranges and soft ranges of numeric CRF fields, declared once on the model field.

A value outside the hard range is refused with a message naming the field, the value and the allowed
range. A value outside the soft range is stored and marked for data-quality review: the form shows the
mark next to the field, and `soft_range_findings()` lists every such value the user may see.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

Number = int | float | Decimal


def format_number(value: Number) -> str:
    """1000000 → "1,000,000"; 2.50 → "2.5" (es-MX and en both write thousands with a comma)."""
    if isinstance(value, Decimal):
        value = value.normalize()
        if value == value.to_integral_value():
            value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}"


def _with_unit(value: Number, unit: str) -> str:
    text = format_number(value)
    return f"{text} {unit}" if unit else text


@deconstructible
class Limits:
    """The hard range (refuses) and optional soft range (marks for review) of one numeric field."""

    def __init__(self, label: str, unit: str, hard: tuple[Number, Number],
                 soft: tuple[Number, Number] | None = None) -> None:
        self.label = label
        self.unit = unit
        self.hard = tuple(hard)
        self.soft = tuple(soft) if soft else None

    def __call__(self, value: Number | None) -> None:
        if value is None:
            return
        low, high = self.hard
        if value < low or value > high:
            raise ValidationError(
                _("%(field)s: %(value)s is outside the allowed range %(low)s to %(high)s."),
                code="out_of_range",
                params={"field": capfirst(self.label), "value": _with_unit(value, self.unit),
                        "low": format_number(low), "high": _with_unit(high, self.unit)},
            )

    def outside_soft(self, value: Number | None) -> bool:
        if value is None or self.soft is None:
            return False
        return value < self.soft[0] or value > self.soft[1]

    def soft_text(self) -> str:
        low, high = self.soft or self.hard
        return f"{format_number(low)}–{_with_unit(high, self.unit)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and (str(self.label), self.unit, self.hard, self.soft) == (
            str(other.label), other.unit, other.hard, other.soft)

    def __hash__(self) -> int:
        return hash((str(self.label), self.unit, self.hard, self.soft))


def measure(label: str, unit: str, *, hard: tuple[Number, Number], soft: tuple[Number, Number] | None = None,
            decimals: int = 0, **kwargs) -> models.Field:
    """A numeric CRF field with its unit in the label and its ranges attached.

    `decimals=0` gives an integer field; otherwise a decimal field that keeps exactly what was typed.
    """
    limits = Limits(label, unit, hard, soft)
    verbose_name = format_lazy("{} ({})", label, unit) if unit else label
    kwargs.setdefault("null", True)
    kwargs.setdefault("blank", kwargs["null"])
    if decimals == 0:
        return models.IntegerField(verbose_name, validators=[limits], **kwargs)
    digits = len(str(int(max(abs(hard[0]), abs(hard[1]))))) + decimals + 2
    return models.DecimalField(verbose_name, max_digits=digits, decimal_places=decimals, validators=[limits],
                               **kwargs)


def limits_of(field: models.Field) -> Limits | None:
    return next((v for v in getattr(field, "validators", ()) if isinstance(v, Limits)), None)


def fields_with_soft_range(model: type[models.Model]) -> list[tuple[models.Field, Limits]]:
    found = []
    for field in model._meta.concrete_fields:
        limits = limits_of(field)
        if limits is not None and limits.soft is not None:
            found.append((field, limits))
    return found


@dataclass(frozen=True)
class SoftRangeFinding:
    record: models.Model
    field: str
    label: str
    value: Number
    expected: str

    @property
    def message(self) -> str:
        return str(_("Outside the expected range %(range)s: marked for data review.") % {"range": self.expected})


def record_findings(record: models.Model) -> list[SoftRangeFinding]:
    """Soft-range findings of one record (shown next to the fields on its form)."""
    found = []
    for field, limits in fields_with_soft_range(type(record)):
        value = getattr(record, field.attname)
        if limits.outside_soft(value):
            found.append(SoftRangeFinding(record, field.name, str(field.verbose_name), value, limits.soft_text()))
    return found


def queryset_findings(queryset: models.QuerySet) -> Iterator[SoftRangeFinding]:
    """Every soft-range finding among `queryset`'s records, selected by the database (one query)."""
    fields = fields_with_soft_range(queryset.model)
    if not fields:
        return
    outside = models.Q()
    for field, limits in fields:
        outside |= models.Q(**{f"{field.name}__lt": limits.soft[0]}) | models.Q(**{f"{field.name}__gt": limits.soft[1]})
    for record in queryset.filter(outside):
        yield from record_findings(record)
