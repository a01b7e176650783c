"""The data-quality dashboard: per site the user may see, open queries by age, overdue and missed visits, forms
awaiting source verification or signature, and entry lag; study totals for study-wide roles; small SVG charts."""

import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse
from django.utils import timezone, translation

from tests import enrollment
from tests import treatment_forms as treatment
from trial.access import forget_memberships
from trial.crf import change_status, crf_models, save_crf
from trial.models import MissedVisit
from trial.quality import urls as quality_urls
from trial.quality.charts import Row, Series, grouped_bars, stacked_bars
from trial.quality.dashboard import Lag, dashboard_context, entry_lag_days, lag_summary
from trial.quality.dashboard_view import dashboard
from trial.quality.models import Query, QueryStatus
from trial.quality.views import filtered_queries
from trial.urls import urlpatterns as study_urlpatterns

# The study's URLs with the dashboard at /quality/ (added here until trial.quality.urls names it).
_quality = list(quality_urls.urlpatterns)
if not any(getattr(route, "name", None) == "dashboard" for route in _quality):
    _quality.append(path("", dashboard, name="dashboard"))
urlpatterns = [path("quality/", include((_quality, "quality"))),
               *(route for route in study_urlpatterns if getattr(route, "namespace", None) != "quality")]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
MEXICO = ZoneInfo("America/Mexico_City")
NOW = datetime(2020, 6, 30, 12, 0, tzinfo=MEXICO)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _query(patient, *, opened_at: datetime, status: str = QueryStatus.OPEN, rule: str = "") -> Query:
    return Query.objects.create(site_id=patient.site_id, patient=patient, text_es="¿?", text_en="?", status=status,
                                opened_at=opened_at, rule=rule)


def _row(context: dict, code: str):
    [row] = [r for r in context["rows"] if r.site.code == code]
    return row


def _cells(row) -> dict:
    return {cell.measure: cell for cell in row.cells}


@pytest.fixture
def cycle_ended(registration_a, coordinator):
    """Site A's patient: enrolled, debulked, cycle 1 ended on 2020-04-16, nothing after it (as tests.trial.
    test_visits): on 2020-06-30 its response assessment and intrathecal therapy after cycle 1 are overdue."""
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    return patient


# ---- Site isolation ------------------------------------------------------------------------------------------
def test_a_site_coordinator_sees_only_their_sites_numbers(client, registration_a, registration_b, coordinator):
    _query(registration_a.patient, opened_at=NOW - timedelta(days=2))
    for days in (1, 10, 40):
        _query(registration_b.patient, opened_at=NOW - timedelta(days=days))
    context = dashboard_context(coordinator, today=NOW.date(), now=NOW)
    assert [row.site.code for row in context["rows"]] == ["MX01"]
    assert context["totals"] is None
    assert _row(context, "MX01").queries == {"0-7": 1, "8-30": 0, "31+": 0}

    client.force_login(coordinator)
    page = client.get(reverse("quality:dashboard"))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'data-site="MX01"' in content and "Hospital A" in content
    assert "MX04" not in content and "Hospital B" not in content
    assert f"site={registration_b.patient.site_id}&" not in content
    assert 'data-site="all"' not in content  # no study totals for a site's role


def test_a_study_wide_data_manager_sees_every_site_and_the_study_totals_first(
        client, registration_a, registration_b, data_manager):
    _query(registration_a.patient, opened_at=NOW - timedelta(days=2))
    _query(registration_b.patient, opened_at=NOW - timedelta(days=2), status=QueryStatus.ANSWERED)
    _query(registration_b.patient, opened_at=NOW - timedelta(days=40))
    context = dashboard_context(data_manager, today=NOW.date(), now=NOW)
    assert [row.site.code for row in context["rows"]] == ["MX01", "MX04"]
    assert context["table_rows"][0] is context["totals"]
    assert context["totals"].queries == {"0-7": 2, "8-30": 0, "31+": 1}
    assert _cells(context["totals"])["queries-0-7"].url == reverse("quality:queries") + "?status=open&age=0-7"

    client.force_login(data_manager)
    content = client.get(reverse("quality:dashboard")).content.decode()
    assert content.index('data-site="all"') < content.index('data-site="MX01"') < content.index('data-site="MX04"')


def test_the_page_needs_a_login_and_a_membership(client, make_user):
    response = client.get(reverse("quality:dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(make_user("nobody"))
    assert client.get(reverse("quality:dashboard")).status_code == 403


# ---- Open queries by age -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("opened_ago", "bucket"), [
    pytest.param(timedelta(0), "0-7", id="opened now: 0 days"),
    pytest.param(timedelta(days=7, hours=23, minutes=59), "0-7", id="7 days 23 h: still 7 days"),
    pytest.param(timedelta(days=8), "8-30", id="8 days"),
    pytest.param(timedelta(days=30, hours=23, minutes=59), "8-30", id="30 days 23 h: still 30 days"),
    pytest.param(timedelta(days=31), "31+", id="31 days"),
    pytest.param(timedelta(days=400), "31+", id="over a year"),
])
def test_a_query_is_counted_in_its_age_column_at_the_edges(registration_a, coordinator, opened_ago, bucket):
    query = _query(registration_a.patient, opened_at=NOW - opened_ago)
    row = _row(dashboard_context(coordinator, today=NOW.date(), now=NOW), "MX01")
    assert row.queries == {key: int(key == bucket) for key in ("0-7", "8-30", "31+")}
    assert query.age_days(NOW) == opened_ago.days


def test_answered_queries_count_as_open_and_closed_ones_do_not(registration_a, coordinator):
    _query(registration_a.patient, opened_at=NOW - timedelta(days=1))
    _query(registration_a.patient, opened_at=NOW - timedelta(days=1), status=QueryStatus.ANSWERED)
    _query(registration_a.patient, opened_at=NOW - timedelta(days=1), status=QueryStatus.CLOSED)
    assert _row(dashboard_context(coordinator, today=NOW.date(), now=NOW), "MX01").open_queries == 2


def test_each_query_count_links_to_the_query_list_that_shows_the_same_queries(registration_a, coordinator):
    for days in (0, 7, 8, 30, 31, 45):
        _query(registration_a.patient, opened_at=timezone.now() - timedelta(days=days, minutes=1))
    row = _row(dashboard_context(coordinator), "MX01")
    site_id = registration_a.patient.site_id
    for key, expected in (("0-7", 2), ("8-30", 2), ("31+", 2)):
        cell = _cells(row)[f"queries-{key}"]
        url, _, params = cell.url.partition("?")
        assert url == reverse("quality:queries")
        assert QueryDict(params).dict() == {"site": str(site_id), "status": "open", "age": key}  # "31+" as 31%2B
        listed, _chosen = filtered_queries(coordinator, QueryDict(params))
        assert cell.value == listed.count() == expected


# ---- Visits overdue and recorded as not done -----------------------------------------------------------------
def test_overdue_and_missed_visits_are_counted_from_the_patients_schedule(cycle_ended, coordinator):
    today = date(2020, 6, 30)
    row = _row(dashboard_context(coordinator, today=today), "MX01")
    assert (row.overdue, row.missed) == (2, 0)  # C1-RESP and C1-IT

    save_crf(MissedVisit(patient=cycle_ended), user=coordinator, complete=True, data={
        "visit_key": "C1-IT", "form": "treatment.IntrathecalTherapy", "not_done_reason": "Transferred"})
    row = _row(dashboard_context(coordinator, today=today), "MX01")
    assert (row.overdue, row.missed) == (1, 1)
    cells = _cells(row)
    assert cells["overdue"].url == reverse("overdue-visits") + "?site=MX01"
    assert cells["missed"].url == reverse("quality:queries") + f"?site={cycle_ended.site_id}&rule=SCH-003"


def test_visits_not_yet_due_are_not_overdue(cycle_ended, coordinator):
    row = _row(dashboard_context(coordinator, today=date(2020, 4, 20)), "MX01")
    assert (row.overdue, row.missed) == (0, 0)


# ---- Forms awaiting source verification and signature --------------------------------------------------------
def test_complete_forms_await_verification_and_verified_ones_the_signature(registration_a, coordinator, monitor):
    patient = registration_a.patient
    consent = enrollment.consent(coordinator, patient)
    enrollment.diagnosis(coordinator, patient)
    row = _row(dashboard_context(coordinator), "MX01")
    assert (row.awaiting_sdv, row.awaiting_signature) == (2, 0)  # the registration is still a draft

    change_status(consent, user=monitor, transition="verify")
    row = _row(dashboard_context(coordinator), "MX01")
    assert (row.awaiting_sdv, row.awaiting_signature) == (1, 1)
    cells = _cells(row)
    assert cells["awaiting-sdv"].url == "" and "casebook" in cells["awaiting-sdv"].title


# ---- Entry lag ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("days", "lag"), [
    pytest.param([], Lag(None, None, 0), id="no record"),
    pytest.param([4], Lag(4, 4, 1), id="one record"),
    pytest.param([0, 1, 2, 10], Lag(1.5, 10, 4), id="four: the 90th percentile is the slowest"),
    pytest.param(list(range(1, 11)), Lag(5.5, 9, 10), id="ten: nine in ten within 9 days"),
    pytest.param([3] * 19 + [60], Lag(3, 3, 20), id="twenty: one slow record is the top 5 %"),
])
def test_entry_lag_median_and_90th_percentile(days, lag):
    assert lag_summary(days) == lag


@pytest.mark.parametrize(("created", "lag"), [
    pytest.param(datetime(2020, 3, 10, 5, 59, tzinfo=ZoneInfo("UTC")), 0, id="23:59 in Mexico City: same day"),
    pytest.param(datetime(2020, 3, 10, 6, 0, tzinfo=ZoneInfo("UTC")), 1, id="next day in Mexico City"),
    pytest.param(datetime(2020, 3, 1, 12, 0, tzinfo=MEXICO), 0, id="entered before its date: no lag"),
])
def test_entry_lag_counts_local_days(created, lag):
    assert entry_lag_days(date(2020, 3, 9), created) == lag


def test_entry_lag_per_site_over_the_records_dated_in_the_last_90_days(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)  # relapses dated 2017 and 2019: outside the window
    dated = {model: (field, lag) for model, field, lag in [
        ("patients.Registration", "registration_date", 0), ("patients.Consent", "consent_date", 1),
        ("patients.Baseline", "assessment_date", 2), ("patients.Eligibility", "assessment_date", 10)]}
    for model in crf_models():
        if model._meta.label in dated:
            field, lag = dated[model._meta.label]
            record = model.objects.get(patient=patient)
            entered = datetime.combine(getattr(record, field) + timedelta(days=lag), datetime.min.time(), MEXICO)
            model._base_manager.filter(pk=record.pk).update(created_at=entered + timedelta(hours=10))
    context = dashboard_context(coordinator, today=date(2020, 6, 1))
    row = _row(context, "MX01")
    assert row.lag == Lag(1.5, 10, 4)
    assert [c.text for c in row.cells if c.measure.startswith("lag-")] == ["1.5", "10"]
    chart = _parsed(context["lag_chart"])
    assert "MX01, days to entry: median 1.5, 90th percentile 10 (4 records)" in chart.find(f"{SVG}desc").text
    assert _texts(chart)[-2:] == ["median: 1.5", "90th percentile: 10"]
    # 2020-06-07: the registration and consent (2020-03-09) are 91 days old, out of the window
    assert _row(dashboard_context(coordinator, today=date(2020, 6, 7)), "MX01").lag == Lag(6, 10, 2)


# ---- Charts ---------------------------------------------------------------------------------------------------
def _parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own page
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def _texts(root: ET.Element) -> list[str]:
    return [el.text for el in root.iter(f"{SVG}text")]


def test_the_charts_are_well_formed_svg_with_their_numbers_in_words(client, registration_a, registration_b,
                                                                    data_manager):
    for days in (1, 2, 10, 40):
        _query(registration_a.patient, opened_at=timezone.now() - timedelta(days=days))
    context = dashboard_context(data_manager)
    queries = _parsed(context["queries_chart"])
    assert "MX01: 4 (0–7 days: 2, 8–30 days: 1, over 30 days: 1)" in queries.find(f"{SVG}desc").text
    assert "0–7 days: 2 · 8–30 days: 1 · over 30 days: 1" in _texts(queries)
    lag = _parsed(context["lag_chart"])
    assert "MX04" in lag.find(f"{SVG}desc").text

    client.force_login(data_manager)
    content = client.get(reverse("quality:dashboard")).content.decode()
    for chart_id in ("chart-query-age", "chart-entry-lag"):
        start = content.index(f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}"')
        _parsed(content[start:content.index("</svg>", start) + len("</svg>")])


@pytest.mark.parametrize("rows", [
    pytest.param([], id="no site"),
    pytest.param([Row("MX01", (0, 0, 0))], id="nothing to show"),
    pytest.param([Row("A&<B>", (1234, 5, None))], id="text to escape, large numbers"),
])
def test_a_chart_stays_well_formed_whatever_its_data(rows):
    series = [Series("a & b", "#000000"), Series("<c>", "#ffffff"), Series("d", "#888888")]
    stacked = _parsed(stacked_bars(chart_id="s", title="T & t", description="D <d>", series=series, rows=rows))
    grouped = _parsed(grouped_bars(chart_id="g", title="T", description="D", series=series, rows=rows,
                                   empty="none"))
    if rows and rows[0].values[0] == 1234:
        assert "a & b: 1,234 · <c>: 5 · d: —" in _texts(stacked)
        assert "a & b: 1,234" in _texts(grouped)


# ---- Cost ------------------------------------------------------------------------------------------------------
def _patients(register, coordinator, site, count: int) -> None:
    for n in range(count):
        patient = register(coordinator, site, initials=f"A{'BCDEFGH'[n]}").patient
        enrollment.enroll(coordinator, patient)
        _query(patient, opened_at=timezone.now() - timedelta(days=n * 9))


@pytest.mark.parametrize("role", ["coordinator", "data_manager"])
def test_the_dashboard_costs_the_same_queries_for_one_patient_or_five(
        request, client, register, coordinator, site_a, site_b, outsider, role, django_assert_max_num_queries):
    user = request.getfixturevalue(role)

    def cost() -> int:
        forget_memberships(user)  # read once per request: counted each time
        with CaptureQueriesContext(connection) as captured:
            dashboard_context(user, today=date(2020, 6, 30))
        return len(captured.captured_queries)

    _patients(register, coordinator, site_a, 1)
    one = cost()
    _patients(register, coordinator, site_a, 4)
    _patients(register, outsider, site_b, 2)
    assert cost() == one
    client.force_login(user)
    with django_assert_max_num_queries(one + 8):  # the session, the user, the memberships
        assert client.get(reverse("quality:dashboard")).status_code == 200
