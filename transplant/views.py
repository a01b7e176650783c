"""The daily-counts grid: a patient's blood counts from day 0, entered and corrected as one series."""

from dataclasses import dataclass, field
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patients.models.codes import YesNo
from transplant import rules
from transplant.models import DailyCount, TransplantProcedure
from transplant.series import COUNT_FIELDS, SERIES, CountEntry, SeriesInvalid, on_day, save_counts, series_days
from trial import access
from trial.access import Action
from trial.patients import visible_patient_or_404

NUMBERS = ("anc_per_ul", "platelets_10e9_l")
MAX_DAYS = 120  # the grid shows day 0 to +30 and every recorded day; "more days" adds a week at a time to this


@dataclass
class GridRow:
    day: int
    date: date
    record: DailyCount | None
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def row_errors(self) -> list[str]:
        return [*self.errors.get(SERIES, []), *self.errors.get("count_date", [])]


def _shown(record: DailyCount | None) -> dict[str, str]:
    if record is None:
        return dict.fromkeys(COUNT_FIELDS, "")
    return {name: "" if getattr(record, name) is None else str(getattr(record, name)) for name in COUNT_FIELDS}


def _number(text: str) -> int | str:
    """A whole number as typed: thousands separators (commas, spaces) are ignored; anything else stays text."""
    cleaned = text.replace(",", "").replace(" ", "").replace("\u202f", "").replace("\xa0", "")
    return int(cleaned) if cleaned.isdigit() else text


def _parse(request: HttpRequest, days: list[int], day0: date) -> tuple[list[CountEntry], dict, dict]:
    """The typed grid → entries; cells that are not values (e.g. "abc" for ANC) are errors before any save."""
    entries, typed, errors = [], {}, {}
    labels = {name: str(DailyCount._meta.get_field(name).verbose_name) for name in COUNT_FIELDS}
    for day in days:
        values: dict[str, object] = {}
        typed[day] = {}
        for name in COUNT_FIELDS:
            text = request.POST.get(f"{name}-{day}", "").strip()
            typed[day][name] = text
            if name in NUMBERS and text:
                number = _number(text)
                if isinstance(number, str):
                    errors.setdefault(day, {})[name] = [_("%(field)s: “%(value)s” is not a whole number.") % {
                        "field": labels[name].capitalize(), "value": text}]
                values[name] = number if not isinstance(number, str) else None
            elif name not in NUMBERS and text not in ("", *YesNo.values):
                errors.setdefault(day, {})[name] = [_("Answer Yes or No.")]
            else:
                values[name] = text if name not in NUMBERS else None
        version = request.POST.get(f"version-{day}", "")
        entries.append(CountEntry(on_day(day0, day), values, int(version) if version.isdigit() else None))
    return entries, typed, errors


def _engraftment(transplant: TransplantProcedure | None) -> dict | None:
    if transplant is None or transplant.transplant_date is None:
        return None
    day0 = transplant.transplant_date

    def when(day):
        return {"day": day, "date": on_day(day0, day)} if day is not None else None

    return {"neutrophil": when(transplant.neutrophil_engraftment_day),
            "platelet": when(transplant.platelet_engraftment_day), "nadir": when(transplant.anc_nadir_day),
            "graft_failure": transplant.primary_graft_failure, "missing": transplant.counts_missing_days or [],
            "last_day": transplant.counts_last_day, "rules_version": transplant.rules_version,
            "failure_day": rules.GRAFT_FAILURE_DAY}


@login_required
def daily_counts(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    can_edit = access.can(request.user, Action.ENTER_DATA, site=patient.site_id)
    transplant = TransplantProcedure.objects.visible_to(request.user).filter(patient=patient).first()
    day0 = transplant.transplant_date if transplant else None
    context = {"patient": patient, "transplant": transplant, "can_edit": can_edit, "day0": day0,
               "yes_no": YesNo.choices}
    if day0 is None:
        return render(request, "transplant/daily_counts.html", context)
    records = list(DailyCount.objects.visible_to(request.user).filter(patient=patient).order_by("count_date"))
    by_date = {r.count_date: r for r in records}
    try:
        at_least = min(max(int(request.GET.get("days", rules.GRAFT_FAILURE_DAY)), rules.GRAFT_FAILURE_DAY), MAX_DAYS)
    except ValueError:
        at_least = rules.GRAFT_FAILURE_DAY
    days = series_days(day0, records, at_least=at_least)
    typed, errors, reason = {}, {}, ""
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        reason = request.POST.get("reason", "").strip()
        entries, typed, errors = _parse(request, days, day0)
        if not errors:
            try:
                saved = save_counts(patient, entries, user=request.user, reason=reason)
            except SeriesInvalid as invalid:
                errors = invalid.errors
            else:
                messages.success(request, _saved_message(saved))
                return redirect(f"{reverse('transplant:daily-counts', args=[patient.subject_id])}?days={at_least}")
    rows = [GridRow(day, on_day(day0, day), by_date.get(on_day(day0, day)),
                    typed.get(day) or _shown(by_date.get(on_day(day0, day))),
                    errors.get(on_day(day0, day)) or errors.get(day) or {}) for day in days]
    context.update({
        "rows": rows, "engraftment": _engraftment(transplant), "series_errors": errors.get(SERIES, {}),
        "has_errors": bool(errors), "reason": reason, "needs_reason": any(r.status != "draft" for r in records),
        "more_days": min(days[-1] + 7, MAX_DAYS) if days[-1] < MAX_DAYS else None,
        "labels": {name: DailyCount._meta.get_field(name).verbose_name for name in COUNT_FIELDS},
    })
    return render(request, "transplant/daily_counts.html", context)


def _saved_message(saved) -> str:
    parts = [ngettext("%(n)s day added", "%(n)s days added", len(saved.created)) % {"n": len(saved.created)},
             ngettext("%(n)s day corrected", "%(n)s days corrected", len(saved.changed)) % {"n": len(saved.changed)}]
    message = _("Daily counts saved: %(parts)s.") % {"parts": ", ".join(parts)}
    if saved.drafts:
        message += " " + _("Saved as drafts, with values still missing: %(days)s.") % {
            "days": ", ".join(d.isoformat() for d in saved.drafts)}
    return message
