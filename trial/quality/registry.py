"""Data-quality rules: small registered functions, each app's in its `quality.py`.

A rule has a stable code (`TX-004`), the form and field it points at, a severity and a message template in the
study's languages. Its function receives a `Scope` (the patients to check) and yields `Hit`s, one per finding,
reading the database set-based: one query for every patient of the scope, never one per patient, so a full run
costs the same number of statements per patient for 50 patients or 5,000.

    @rule("TX-004", form="transplant.TransplantProcedure", field="neutrophil_engraftment_day",
          message=_("%(field)s: typed day %(typed)s; the daily counts give day %(derived)s."))
    def engraftment_contradicts_counts(scope: Scope) -> Iterable[Hit]:
        for row in scope.records(TransplantProcedure).filter(...).values("pk", "patient_id", ...):
            yield Hit(row["patient_id"], row["pk"], params={"typed": ..., "derived": ...})

The message names the field (`%(field)s`, filled in from the model in the reader's language), the value and what
was expected. `trial.quality.engine` runs the rules and keeps one query per finding.
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.apps import apps
from django.db import models
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from trial.ranges import format_number

LANGUAGES = ("es-mx", "en")


class Severity(models.TextChoices):
    ERROR = "error", _("Error: correct the data or explain")
    CONFIRM = "confirm", _("Confirm: plausible but unusual")


@dataclass(frozen=True)
class Scope:
    """The patients a run checks (ids), the day it runs for, and the study's data cut-off."""

    patient_ids: tuple[int, ...]
    today: date
    cutoff: date | None = None
    # What several rules of one run read alike (e.g. the patients' visit schedules), computed once per scope.
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def shared(self, name: str, compute):
        """`compute()` once per scope under `name`: rules that need the same reading share it."""
        if name not in self.memo:
            self.memo[name] = compute()
        return self.memo[name]

    def records(self, model: type[models.Model] | str) -> models.QuerySet:
        """The scope's records of `model` (a model or "app.Model"), one query for every patient."""
        if isinstance(model, str):
            model = apps.get_model(model)
        return model._base_manager.filter(patient_id__in=self.patient_ids)

    @property
    def until(self) -> date:
        """The last day data may be dated: the cut-off if one is set, else today."""
        return min(self.today, self.cutoff) if self.cutoff else self.today


@dataclass(frozen=True)
class Hit:
    """One finding of a rule: on a record (`record_id`) or on the patient (None); `field` and `form` override the
    rule's when one rule covers several (e.g. every soft range); `params` fill the message."""

    patient_id: int
    record_id: int | None = None
    params: Mapping[str, object] = field(default_factory=dict)
    field: str | None = None
    form: str | None = None
    visit: str = ""  # a scheduled visit the finding is about (an overdue W03), when there is no record


@dataclass(frozen=True)
class Rule:
    code: str
    form: str  # "app.Model" the finding points at ("" for a subject-level datum)
    field: str  # "" for the whole form
    severity: str
    message: object  # a lazy translatable template
    check: Callable[[Scope], Iterable[Hit]]
    title: object = ""

    def key(self, hit: Hit) -> str:
        """Where the finding is: one open query per key (rule, patient, form, record, field)."""
        return "|".join([self.code, str(hit.patient_id), self.form_of(hit), str(hit.record_id or ""),
                         self.field_of(hit), hit.visit])

    def form_of(self, hit: Hit) -> str:
        return hit.form if hit.form is not None else self.form

    def field_of(self, hit: Hit) -> str:
        return hit.field if hit.field is not None else self.field

    def fingerprint(self, hit: Hit) -> str:
        """What the finding found (its values): a person's close holds while this stays the same."""
        with translation.override("en"):
            text = repr(sorted((k, _plain(v)) for k, v in hit.params.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def messages(self, hit: Hit) -> dict[str, str]:
        """The message in every language of the study."""
        return {lang: self.render(hit, lang) for lang in LANGUAGES}

    def render(self, hit: Hit, lang: str) -> str:
        with translation.override(lang):
            params = {"field": field_label(self.form_of(hit), self.field_of(hit)),
                      "form": form_label(self.form_of(hit))}
            params.update({k: _plain(v) for k, v in hit.params.items()})
            return str(self.message) % params


_RULES: dict[str, Rule] = {}


def rule(code: str, *, form: str = "", field: str = "", severity: str = Severity.ERROR, message,
         title=""):
    """Register a data-quality rule under a stable code (a second rule under the same code is an error)."""

    def register(check: Callable[[Scope], Iterable[Hit]]) -> Callable[[Scope], Iterable[Hit]]:
        existing = _RULES.get(code)
        if existing is not None and existing.check.__qualname__ != check.__qualname__:
            raise ValueError(f"data-quality rule {code} is registered twice")
        _RULES[code] = Rule(code, form, field, severity, message, check, title or message)
        return check

    return register


def rules() -> list[Rule]:
    return sorted(_RULES.values(), key=lambda r: r.code)


def rule_by_code(code: str) -> Rule | None:
    return _RULES.get(code)


def field_label(form: str, name: str) -> str:
    if not form or not name:
        return ""
    try:
        return str(capfirst(apps.get_model(form)._meta.get_field(name).verbose_name))
    except (LookupError, ValueError):
        return name


def form_label(form: str) -> str:
    if not form:
        return str(_("Patient"))
    try:
        return str(capfirst(apps.get_model(form)._meta.verbose_name))
    except (LookupError, ValueError):
        return form


def _plain(value: object) -> str:
    """A parameter as text: dates in ISO, numbers as people write them, lazy strings in the active language."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return format_number(value)
    return "" if value is None else str(value)
