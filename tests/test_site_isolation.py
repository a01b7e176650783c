"""M5/M6: every route × another site's objects answers 404 or omits them; anonymous users are refused."""

import pytest
from django.urls import NoReverseMatch, reverse

from tests import enrollment as build
from tests import transplant_forms as transplant
from tests.routes import study_routes
from trial.crf import crf_models

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_records(registration_a, coordinator):
    """Every kind of CRF of one site-A patient (with a soft-range value, which the data-quality rules query)."""
    patient = registration_a.patient
    build.enroll(coordinator, patient, wbc_per_ul=400_000)
    transplant.one_of_each(coordinator, patient)
    records = [m.objects.filter(patient=patient).first() for m in crf_models()]
    assert all(records), "every CRF model has a record of the foreign patient"
    return records


@pytest.fixture
def foreign_work(registration_a, foreign_records, monitor, site_a):
    """Site A's queries (one a rule's, one a monitor's) and a data-quality run of site A."""
    from trial.quality.engine import check_patients
    from trial.quality.models import QualityRun, Query
    from trial.quality.workflow import open_query

    check_patients([registration_a.patient_id])
    assert Query.objects.filter(rule="QC-001").exists()
    query = open_query(monitor, patient=registration_a.patient, text="Please check the white-cell count.")
    return {"query": query.pk, "run": QualityRun.objects.create(scope="site", site=site_a).pk}


def _object_pk(route, record, work: dict):
    """The primary key a route names: a query's, a run's, or the record's."""
    if route.name == "quality:query" or route.name.startswith("query-"):
        return work["query"]
    if route.name.startswith("quality-run-"):
        return work["run"]
    return record.pk

ANONYMOUS_ALLOWED = {"login", "logout", "api-token", "healthz"}
# Parameters that name reference data (the same for every site), never a site's object: a CTCAE term's code.
REFERENCE_PARAMS = {"meddra_code"}


def _url(route, foreign, pk=None) -> str | None:
    values = {"subject_id": foreign.patient.subject_id, "form": foreign.crf_slug(), "pk": pk or foreign.pk,
              "format": "json", "meddra_code": 10016288}
    try:
        return reverse(route.name, kwargs={p: values[p] for p in route.params})
    except (KeyError, NoReverseMatch):
        return None


def test_the_walk_finds_the_casebook_and_the_api():
    names = {r.name for r in study_routes()}
    assert {"patients:list", "patients:detail", "casebook:form", "crf-registration-detail",
            "crf-registration-history", "patient-detail"} <= names


def test_an_outsider_gets_404_on_every_route_that_names_another_sites_object(client, registration_a, outsider,
                                                                           foreign_records, foreign_work):
    client.force_login(outsider)
    checked = set()
    for route in study_routes():
        if not route.params or route.params == ("format",) or REFERENCE_PARAMS & set(route.params):
            continue
        for record in foreign_records if "form" in route.params or route.name.startswith("crf-") else [registration_a]:
            if route.name.startswith("crf-") and not route.name.startswith(f"crf-{record.crf_slug()}-"):
                continue
            url = _url(route, record, _object_pk(route, record, foreign_work))
            assert url is not None, f"cannot build {route.name} {route.pattern}"
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code in (404, 405), (
                    f"{method.upper()} {url} ({route.name}) → {response.status_code}")
                assert registration_a.patient.subject_id.encode() not in response.content
            checked.add((route.name, record.crf_slug()))
    assert {slug for _, slug in checked} == {m.crf_slug() for m in crf_models()}


def test_list_routes_show_nothing_of_another_site(client, registration_a, registration_b, outsider, foreign_records,
                                                 foreign_work):
    client.force_login(outsider)
    foreign_id = registration_a.patient.subject_id.encode()
    own_id = registration_b.patient.subject_id.encode()
    seen_own = 0
    for route in study_routes():
        if route.params and route.params != ("format",) and not REFERENCE_PARAMS & set(route.params):
            continue
        url = _url(route, registration_a)
        response = client.get(url)
        assert response.status_code < 500, url
        assert foreign_id not in response.content, f"{url} shows {foreign_id!r}"
        seen_own += own_id in response.content
    assert seen_own >= 2  # the patient list page and the API patient list do show the user's own


def test_anonymous_requests_are_refused_or_sent_to_login(client, registration_a):
    for route in study_routes():
        if route.name in ANONYMOUS_ALLOWED:
            continue
        url = _url(route, registration_a)
        response = client.get(url)
        if response.status_code in (301, 302):
            assert "/accounts/login/" in response["Location"], f"{url} → {response['Location']}"
        else:
            assert response.status_code in (401, 403), f"{url} ({route.name}) → {response.status_code}"


def test_a_user_without_membership_sees_no_study_data(client, make_user, registration_a):
    client.force_login(make_user("nobody"))
    assert client.get(reverse("patients:list")).status_code == 403
    assert client.get(reverse("patient-list")).status_code == 403
    assert client.get(reverse("patients:detail", args=[registration_a.patient.subject_id])).status_code == 404


def test_the_admin_is_closed_to_study_staff(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_withdrawn_membership_or_closed_site_ends_access(client, registration_a, coordinator, site_a):
    from sites.models import Membership

    client.force_login(coordinator)
    url = reverse("patients:detail", args=[registration_a.patient.subject_id])
    assert client.get(url).status_code == 200
    site_a.is_active = False
    site_a.save()
    assert client.get(url).status_code == 404
    site_a.is_active = True
    site_a.save()
    membership = Membership.objects.get(user=coordinator)
    membership.is_active = False
    membership.save()
    assert client.get(url).status_code == 404
