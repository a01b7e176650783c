"""Daily counts entered as one series (CRF-SPEC "Daily counts"): the grid page and the API save a patient's days
together, in one transaction, each day through the one save path (its own audit record), and the transplant's
engraftment (D7) is derived once from the whole series, not once per day (trial.crf.one_rederivation).

A day left blank that has no record is skipped; a day with every value is saved complete, a day with some values
as a draft (nothing is invented; completeness is asked when it is completed). Any error rolls the whole series
back and is reported per day and field.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from transplant.models import DailyCount, TransplantProcedure
from trial import reads
from trial.crf import CrfLocked, StaleEdit, one_rederivation, save_crf

COUNT_FIELDS = ("anc_per_ul", "platelets_10e9_l", "platelet_transfusion", "red_cell_transfusion")
SERIES = "__all__"  # key of an error about the series as a whole (no day 0 yet, the reason for change)


@dataclass(frozen=True)
class CountEntry:
    """One day of the series as typed: its date, the values of COUNT_FIELDS (None = empty) and, for a day already
    recorded, the version the user opened (None: not checked)."""

    count_date: date
    values: Mapping[str, object]
    version: int | None = None


@dataclass
class SeriesSaved:
    created: list[date] = field(default_factory=list)
    changed: list[date] = field(default_factory=list)
    drafts: list[date] = field(default_factory=list)  # days saved with values still missing


class SeriesInvalid(Exception):
    """Nothing was saved: `errors` maps a day (or SERIES) to {field: [messages]}; `stale` when someone changed one of
    the days after it was opened (their change is kept)."""

    def __init__(self, errors: dict, *, stale: bool = False) -> None:
        super().__init__(f"{len(errors)} day(s) refused")
        self.errors = errors
        self.stale = stale


def day0_of_patient(patient) -> date | None:
    return (TransplantProcedure.objects.filter(patient_id=patient.pk)
            .values_list("transplant_date", flat=True).first())


def _is_blank(value: object) -> bool:
    return value is None or value == ""


def _errors_of(invalid: ValidationError) -> dict[str, list[str]]:
    if hasattr(invalid, "error_dict"):
        return {name: list(messages) for name, messages in invalid.message_dict.items()}
    return {SERIES: list(invalid.messages)}


def save_counts(patient, entries: Iterable[CountEntry], *, user, reason: str = "") -> SeriesSaved:
    """Save the typed days of `patient`'s daily counts as one series; raises SeriesInvalid and saves nothing on any
    error. The caller has checked the user may see the patient; the save path checks they may enter data."""
    if day0_of_patient(patient) is None:
        raise SeriesInvalid({SERIES: {SERIES: [_("Enter the transplant procedure with its date (day 0) first: the "
                                                 "daily counts are counted from it.")]}})
    entries = list(entries)
    dates = [e.count_date for e in entries]
    repeated = sorted({d for d in dates if dates.count(d) > 1})
    if repeated:
        raise SeriesInvalid({d: {"count_date": [_("This date is given twice in the series.")]} for d in repeated})
    saved, errors, stale = SeriesSaved(), {}, False
    with transaction.atomic(), reads.shared_reads():
        # The patient is locked once for the series (the one lock order: patient first); its new days are saved
        # on that locked, current row, so what the entry checks read of it is read once.
        patient = type(patient).objects.select_for_update().select_related("site").get(pk=patient.pk)
        existing = {c.count_date: c for c in DailyCount.objects.filter(patient_id=patient.pk)
                    .select_related("patient")}
        with one_rederivation():
            for entry in sorted(entries, key=lambda e: e.count_date):
                values = {name: entry.values.get(name) for name in COUNT_FIELDS if name in entry.values}
                record = existing.get(entry.count_date)
                if record is None and all(_is_blank(v) for v in values.values()):
                    continue  # an empty row of the grid: nothing was typed for that day
                complete = all(not _is_blank(values.get(name)) for name in COUNT_FIELDS)
                data = {"count_date": entry.count_date, **{k: (None if v == "" and k in (
                    "anc_per_ul", "platelets_10e9_l") else v) for k, v in values.items()}}
                if record is not None and all(getattr(record, k) == v for k, v in data.items()):
                    if record.status == "draft" and not complete or record.status != "draft":
                        continue  # the day as it is stored: nothing to save
                try:
                    if record is None:
                        created = save_crf(DailyCount(patient=patient), user=user, data=data, complete=complete,
                                           locked=True)
                        saved.created.append(entry.count_date)
                        if created.status == "draft":
                            saved.drafts.append(entry.count_date)
                    else:
                        version = record.version
                        updated = save_crf(record, user=user, data=data, reason=reason,
                                           expected_version=entry.version, complete=complete)
                        if updated.version != version:
                            saved.changed.append(entry.count_date)
                        if updated.status == "draft":
                            saved.drafts.append(entry.count_date)
                except StaleEdit as conflict:
                    stale = True
                    errors[entry.count_date] = {SERIES: [_(
                        "%(who)s changed this day after you opened the page; their values were kept. Reload and "
                        "apply yours again.") % {"who": conflict.by or _("Someone")}]}
                except CrfLocked as locked:
                    errors[entry.count_date] = {SERIES: [str(locked)]}
                except ValidationError as invalid:
                    found = _errors_of(invalid)
                    if "reason" in found:
                        errors[SERIES] = {"reason": found.pop("reason")}
                    if found:
                        errors[entry.count_date] = found
            if errors:
                raise SeriesInvalid(errors, stale=stale)  # the transaction rolls back: nothing was saved
    return saved


def series_days(day0: date, records: Iterable[DailyCount], *, at_least: int = 30) -> list[int]:
    """The days the grid shows: day 0 to at least +`at_least`, and every recorded day, with no day skipped."""
    recorded = [(r.count_date - day0).days for r in records if r.count_date]
    last = max([at_least, *recorded])
    return list(range(0, last + 1))


def on_day(day0: date, day: int) -> date:
    return day0 + timedelta(days=day)
