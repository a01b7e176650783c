"""The data-quality dashboard: for each site a user may see, what awaits the site and the monitors.

Open queries by age, visits overdue or recorded as not done, forms awaiting source verification or signature, and
how long data take to be entered. Every number is read for all the user's sites at once, in a fixed number of
queries whatever the number of patients or records (one aggregate query per measure, the schedule in the queries of
`trial.visits.schedules`); only the sites `trial.access` lets the user see are read.
"""

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sites.models import Site
from trial import access, visits
from trial.access import Action
from trial.crf import CrfStatus, crf_models
from trial.patients import patient_model
from trial.quality.charts import Row, Series, grouped_bars, number, stacked_bars
from trial.quality.models import Query, QueryStatus
from trial.schedule import State

# The query list's `age` filter (trial.quality.views): whole days since the query was opened, as Query.age_days.
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (("0-7", 0, 7), ("8-30", 8, 30), ("31+", 31, None))
AGE_LABELS = {"0-7": _("0–7 days"), "8-30": _("8–30 days"), "31+": _("over 30 days")}
AGE_COLOURS = {"0-7": "#9cc3e8", "8-30": "#e8a33d", "31+": "#b3261e"}  # light to dark: apart in grey too
LAG_WINDOW_DAYS = 90  # entry lag is measured over the records dated in the last 90 days
MISSED_RULE = "SCH-003"  # trial.quality.generic: a visit recorded as not done


@dataclass(frozen=True)
class Lag:
    """Days from a record's own date to its first entry: the median and the 90th percentile (nearest rank: nine
    records in ten were entered within that many days), over `records` records."""

    median: float | None
    p90: int | None
    records: int


@dataclass(frozen=True)
class Cell:
    """One number of the table: what it measures (a stable name), its value, its list and what it means."""

    measure: str
    value: float | int | None
    url: str = ""
    title: str = ""

    @property
    def text(self) -> str:
        return number(self.value)


@dataclass
class SiteNumbers:
    """A site's numbers (`site` None: the study's totals over the sites shown)."""

    site: Site | None
    queries: dict[str, int] = field(default_factory=dict)  # not closed, by AGE_BUCKETS key
    overdue: int = 0
    missed: int = 0
    awaiting_sdv: int = 0
    awaiting_signature: int = 0
    lag: Lag = Lag(None, None, 0)
    cells: list[Cell] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.site.code if self.site is not None else str(_("Study total"))

    @property
    def open_queries(self) -> int:
        return sum(self.queries.values())


# ---- The numbers, pure ---------------------------------------------------------------------------------------
def entry_lag_days(record_date: date, created_at: datetime) -> int:
    """Days from the record's own date to the local day it was first entered; a record entered before its own date
    (a date in the future, QC-005's finding) counts as entered on time, with no lag."""
    return max(0, (timezone.localdate(created_at) - record_date).days)


def lag_summary(days: Sequence[int]) -> Lag:
    """Median and 90th percentile (nearest-rank: a lag some record actually had) of entry lags in days."""
    if not days:
        return Lag(None, None, 0)
    ordered = sorted(days)
    return Lag(statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1], len(ordered))


# ---- Reading the database, set-based ---------------------------------------------------------------------------
def _age_filter(low: int, high: int | None, now: datetime) -> Q:
    """The same bounds as the query list's age filter, so a number and its list agree."""
    bounds = Q(opened_at__lte=now - timedelta(days=low))
    return bounds & Q(opened_at__gt=now - timedelta(days=high + 1)) if high is not None else bounds


def open_queries_by_age(queries: QuerySet, now: datetime) -> dict[int, dict[str, int]]:
    """Queries not closed (open or answered), per site and age bucket: one aggregate query."""
    rows = (queries.exclude(status=QueryStatus.CLOSED).order_by().values("site_id")
            .annotate(**{f"age_{n}": Count("pk", filter=_age_filter(low, high, now))
                         for n, (_key, low, high) in enumerate(AGE_BUCKETS)}))
    return {row["site_id"]: {key: row[f"age_{n}"] for n, (key, _low, _high) in enumerate(AGE_BUCKETS)}
            for row in rows}


def visit_counts(patients: QuerySet, today: date) -> dict[int, Counter]:
    """Per site, the visits overdue and those recorded as missed on `today` (State.OVERDUE / State.MISSED, as the
    patient calendars and the overdue list show them): the schedules of all `patients` at once."""
    site_of = dict(patients.values_list("pk", "site_id"))
    found: dict[int, Counter] = defaultdict(Counter)
    for patient_id, states in visits.schedules(patients, as_of=today).items():
        if patient_id in site_of:
            found[site_of[patient_id]].update(s.state for s in states if s.state in (State.OVERDUE, State.MISSED))
    return found


def _union(querysets: Iterable[QuerySet]) -> list:
    """Rows of several same-shaped querysets in one statement (UNION ALL)."""
    parts = list(querysets)
    if not parts:
        return []
    return list(parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0])


def review_counts(user, site_ids: Sequence[int]) -> dict[int, Counter]:
    """Per site, forms complete (awaiting source verification) and source-verified (awaiting signature), over every
    CRF: one aggregate per form, sent as one statement."""
    awaiting = (CrfStatus.COMPLETE, CrfStatus.VERIFIED)
    found: dict[int, Counter] = defaultdict(Counter)
    rows = _union(model.objects.visible_to(user).filter(site_id__in=site_ids, status__in=awaiting).order_by()
                  .values_list("site_id", "status").annotate(n=Count("pk")) for model in crf_models())
    for site_id, status, count in rows:
        found[site_id][status] += count
    return found


def entry_lags(user, site_ids: Sequence[int], today: date) -> dict[int, list[int]]:
    """Per site, the entry lag of each record dated in the last LAG_WINDOW_DAYS days (up to `today`), over every
    form with a date of its own (`visits.dated_forms`, the date `visits.record_date` reads): one statement."""
    start = today - timedelta(days=LAG_WINDOW_DAYS - 1)
    found: dict[int, list[int]] = defaultdict(list)
    parts = []
    for label, date_field in visits.dated_forms():
        parts.append(apps.get_model(label).objects.visible_to(user).filter(site_id__in=site_ids, **{
            f"{date_field}__gte": start, f"{date_field}__lte": today}).order_by().values_list(
            "site_id", date_field, "created_at"))
    for site_id, day, created_at in _union(parts):
        found[site_id].append(entry_lag_days(day, created_at))
    return found


# ---- The page --------------------------------------------------------------------------------------------------
def _queries_url(**params: object) -> str:
    return reverse("quality:queries") + "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _cells(row: SiteNumbers) -> list[Cell]:
    site_id = row.site.pk if row.site is not None else None
    where = row.label
    cells = [Cell(f"queries-{key}", row.queries.get(key, 0),
                  _queries_url(site=site_id, status="open", age=key),
                  _("%(where)s: queries not closed, opened %(age)s ago. Open the list.") % {
                      "where": where, "age": AGE_LABELS[key]})
             for key, _low, _high in AGE_BUCKETS]
    overdue_url = reverse("overdue-visits") + (f"?{urlencode({'site': row.site.code})}" if row.site else "")
    no_list = _("There is no list of these forms across patients: open them from each patient's casebook.")
    cells += [
        Cell("overdue", row.overdue, overdue_url,
             _("%(where)s: visits whose window closed with nothing recorded. Open the list.") % {"where": where}),
        Cell("missed", row.missed, _queries_url(site=site_id, rule=MISSED_RULE),
             _("%(where)s: visits recorded as not done. Open their queries (rule %(rule)s).") % {
                 "where": where, "rule": MISSED_RULE}),
        Cell("awaiting-sdv", row.awaiting_sdv, "",
             _("%(where)s: forms complete, awaiting source verification.") % {"where": where} + " " + str(no_list)),
        Cell("awaiting-signature", row.awaiting_signature, "",
             _("%(where)s: forms source-verified, awaiting the investigator's signature.") % {"where": where}
             + " " + str(no_list)),
    ]
    records = ngettext("%(count)s record dated in the last %(days)s days", "%(count)s records dated in the last "
                       "%(days)s days", row.lag.records) % {"count": number(row.lag.records), "days": LAG_WINDOW_DAYS}
    cells += [
        Cell("lag-median", row.lag.median, "", _("%(where)s: median days from the record's date to its first entry; "
                                                 "%(records)s.") % {"where": where, "records": records}),
        Cell("lag-p90", row.lag.p90, "", _("%(where)s: nine records in ten were entered within this many days of "
                                           "their date; %(records)s.") % {"where": where, "records": records}),
    ]
    return cells


def _queries_chart(rows: Sequence[SiteNumbers]) -> str:
    series = [Series(str(AGE_LABELS[key]), AGE_COLOURS[key]) for key, _low, _high in AGE_BUCKETS]
    described = "; ".join(
        _("%(site)s: %(total)s (%(parts)s)") % {
            "site": row.label, "total": number(row.open_queries),
            "parts": ", ".join(f"{item.label}: {number(row.queries.get(key, 0))}"
                               for item, (key, _low, _high) in zip(series, AGE_BUCKETS, strict=True))}
        for row in rows)
    return stacked_bars(
        chart_id="chart-query-age", title=str(_("Queries not closed, by days since they were opened")),
        description=str(_("Per site, queries open or answered: %(sites)s.") % {"sites": described}) if rows
        else str(_("No site to show.")),
        series=series, rows=[Row(row.label, tuple(row.queries.get(key, 0) for key, _low, _high in AGE_BUCKETS))
                             for row in rows])


def _lag_chart(rows: Sequence[SiteNumbers]) -> str:
    described = "; ".join(
        (ngettext("%(site)s, days to entry: median %(median)s, 90th percentile %(p90)s (%(count)s record)",
                  "%(site)s, days to entry: median %(median)s, 90th percentile %(p90)s (%(count)s records)",
                  row.lag.records) % {
            "site": row.label, "median": number(row.lag.median), "p90": number(row.lag.p90),
            "count": number(row.lag.records)}) if row.lag.records else
        (_("%(site)s: no record dated in the period") % {"site": row.label})
        for row in rows)
    return grouped_bars(
        chart_id="chart-entry-lag",
        title=str(_("Entry lag: days from the record's date to its first entry")),
        description=str(_("Per site, over the records dated in the last %(days)s days: %(sites)s.") % {
            "days": LAG_WINDOW_DAYS, "sites": described}) if rows else str(_("No site to show.")),
        series=[Series(str(_("median")), "#0b5cad"), Series(str(_("90th percentile")), "#9cc3e8")],
        rows=[Row(row.label, (row.lag.median, row.lag.p90)) for row in rows],
        empty=str(_("no record dated in the period")))


def _totals(rows: Sequence[SiteNumbers], lags: dict[int, list[int]]) -> SiteNumbers:
    total = SiteNumbers(None)
    for row in rows:
        for key, count in row.queries.items():
            total.queries[key] = total.queries.get(key, 0) + count
        total.overdue += row.overdue
        total.missed += row.missed
        total.awaiting_sdv += row.awaiting_sdv
        total.awaiting_signature += row.awaiting_signature
    total.lag = lag_summary([d for row in rows for d in lags.get(row.site.pk, [])])
    return total


def dashboard_context(user, *, today: date | None = None, now: datetime | None = None) -> dict:
    """Everything the dashboard shows for `user`: one row per site they may see (trial.access), the study's totals
    first for a study-wide role, and the two charts.

    Query ages are whole days to `now` (default: this instant), as the query list counts them; the schedule and the
    entry lag are judged on `today` (default: today's local date).
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    sites = list(access.sites_where(user, Action.VIEW).order_by("code"))
    site_ids = [site.pk for site in sites]
    queries = open_queries_by_age(Query.objects.visible_to(user).filter(site_id__in=site_ids), now)
    schedule = visit_counts(patient_model().objects.visible_to(user).filter(site_id__in=site_ids), today)
    reviews = review_counts(user, site_ids)
    lags = entry_lags(user, site_ids, today)
    rows = []
    for site in sites:
        row = SiteNumbers(site, queries=queries.get(site.pk, {key: 0 for key, _low, _high in AGE_BUCKETS}),
                          overdue=schedule[site.pk][State.OVERDUE], missed=schedule[site.pk][State.MISSED],
                          awaiting_sdv=reviews[site.pk][CrfStatus.COMPLETE],
                          awaiting_signature=reviews[site.pk][CrfStatus.VERIFIED],
                          lag=lag_summary(lags.get(site.pk, [])))
        row.cells = _cells(row)
        rows.append(row)
    totals = None
    if access.visible_site_ids(user) is None:
        totals = _totals(rows, lags)
        totals.cells = _cells(totals)
    return {
        "today": today, "now": now, "rows": rows, "totals": totals,
        "table_rows": ([totals] if totals else []) + rows,
        "age_buckets": [(key, AGE_LABELS[key]) for key, _low, _high in AGE_BUCKETS],
        "lag_window_days": LAG_WINDOW_DAYS,
        "queries_chart": _queries_chart(rows), "lag_chart": _lag_chart(rows),
    }
