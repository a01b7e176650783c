"""Treatment on the pages and through the API: the patient-page summary, the CRS preview, page and API saving the
same grade, Data review with its site isolation, and the CTCAE term list of the adverse event form."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import enrollment as build
from tests import treatment_forms as treatment
from treatment.models import AdverseEvent, BlinatumomabCycle, CrsAssessment, CtcaeTerm
from trial.crf import save_crf

pytestmark = pytest.mark.django_db

# One day's signs of grade 2 (fever with hypotension responding to fluids), as a browser and an API client send them.
CRS_PAGE = {"assessment_date": "2020-03-21", "max_temperature_c": "39.1", "fever_other_cause": "N",
            "hypotension": "fluids", "vasopressors": "0", "vasopressin": "N", "oxygen_device": "none",
            "oxygen_flow_l_min": "", "antipyretics": "Y", "tocilizumab": "N", "corticosteroids": "N",
            "death_due_to_crs": "N", "reported_grade": ""}
CRS_API = {"assessment_date": "2020-03-21", "max_temperature_c": "39.1", "fever_other_cause": "N",
           "hypotension": "fluids", "vasopressin": "N", "oxygen_device": "none", "antipyretics": "Y",
           "tocilizumab": "N", "corticosteroids": "N", "death_due_to_crs": "N"}


@pytest.fixture
def client(client, settings):
    """Pages in English here, so the assertions read like the code (es-MX is covered elsewhere)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def on_cycle_1(coordinator, registration_a):
    """An eligible patient of site A with cycle 1 entered (2020-03-20 to 2020-04-16)."""
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    return patient


@pytest.fixture
def two_cycles(coordinator, on_cycle_1):
    """Cycle 1: CRS grade 2 then 1, response PR. Cycle 2: CRS grade 3, response CR."""
    patient = on_cycle_1
    treatment.crs(coordinator, patient, date(2020, 3, 21), grade=2)
    treatment.crs(coordinator, patient, date(2020, 3, 22), grade=1)
    treatment.response(coordinator, patient, mrd_pct=Decimal("0.0500"))
    treatment.cycle(coordinator, patient, 2)
    treatment.crs(coordinator, patient, date(2020, 5, 2), grade=3)
    treatment.response(coordinator, patient, cycle_number=2, assessment_date=date(2020, 5, 29))
    return patient


@pytest.fixture
def flagged(coordinator, on_cycle_1):
    """Site A's patient with one record for each treatment review flag."""
    patient = on_cycle_1
    cycle = BlinatumomabCycle.objects.get(patient=patient)
    save_crf(cycle, user=coordinator, expected_version=cycle.version, reason="Bag was 17.6 µg/day",
             data={"prescribed_full_ug_day": Decimal("17.6"), "deviation_reason": "Pharmacy rounding"})
    treatment.crs(coordinator, patient, date(2020, 3, 21), grade=1, reported_grade=2, disagreement_confirmed=True)
    treatment.adverse_event(coordinator, patient, serious="Y", seriousness="hospitalization",
                            aware_at=treatment.aware(2020, 3, 25, 10))
    treatment.intrathecal(coordinator, patient, administration_date=date(2020, 5, 10))  # 24 days after the end
    return patient




def _api_post(client, form: str, body: dict):
    return client.post(reverse(f"crf-{form}-list"), body, format="json", HTTP_ACCEPT_LANGUAGE="en")


def _patient_page(client, user, patient) -> str:
    client.force_login(user)
    return client.get(reverse("patients:detail", args=[patient.subject_id])).content.decode()


def _summary(page: str) -> str:
    return page.split('id="treatment-summary"')[1].split("</section>")[0]


def _cycle_rows(card: str) -> dict[int, str]:
    """The summary card's row of each cycle, by cycle number."""
    return {n: card.split(f'data-cycle="{n}"')[1].split("</tr>")[0] for n in (1, 2)}


# ---- Patient page: treatment summary ---------------------------------------------------------------------
def test_the_patient_page_shows_the_worst_crs_per_cycle_and_overall(client, coordinator, two_cycles):
    card = _summary(_patient_page(client, coordinator, two_cycles))
    assert 'data-derived="worst_crs">Grade 3<' in card
    rows = _cycle_rows(card)
    assert 'data-derived="crs">Grade 2 <span class="hint">(1 episode)</span>' in rows[1]
    assert 'data-derived="crs">Grade 3 <span class="hint">(1 episode)</span>' in rows[2]


def test_the_patient_page_shows_the_best_response_over_the_cycles(client, coordinator, two_cycles):
    card = _summary(_patient_page(client, coordinator, two_cycles))
    assert 'data-derived="best_response">CR: complete remission, MRD &lt; 0.01 %<' in card
    rows = _cycle_rows(card)
    assert "PR: blasts &lt; 5 %, MRD ≥ 0.01 %</a>" in rows[1]
    assert "CR: complete remission, MRD &lt; 0.01 %</a>" in rows[2]


def test_a_baseline_icans_assessment_is_not_counted_as_toxicity_and_is_shown_apart(client, coordinator, on_cycle_1):
    """A child who awakens only to voice before the first infusion (grade 2 findings) and is calm on day 2: the
    cycle's and the patient's worst ICANS is 0; the baseline abnormality is shown as such."""
    treatment.icans(coordinator, on_cycle_1, date(2020, 3, 20), baseline="Y", consciousness=2)
    treatment.icans(coordinator, on_cycle_1, date(2020, 3, 21))
    card = _summary(_patient_page(client, coordinator, on_cycle_1))
    assert 'data-derived="worst_icans">Grade 0<' in card
    row = card.split('data-cycle="1"')[1].split("</tr>")[0]
    assert 'data-derived="icans">Grade 0 <span class="hint" data-derived="baseline_icans">(abnormal at baseline: ' \
           'grade 2)</span>' in row


def test_a_cycle_with_only_a_baseline_icans_assessment_is_not_assessed_for_icans(client, coordinator, on_cycle_1):
    treatment.icans(coordinator, on_cycle_1, date(2020, 3, 20), baseline="Y")
    card = _summary(_patient_page(client, coordinator, on_cycle_1))
    assert 'data-derived="worst_icans">—<' in card
    assert 'data-derived="icans">not assessed<' in card.split('data-cycle="1"')[1]


def test_a_patient_without_a_cycle_has_no_treatment_summary(client, coordinator, registration_a):
    build.enroll(coordinator, registration_a.patient)
    assert 'id="treatment-summary"' not in _patient_page(client, coordinator, registration_a.patient)


def test_the_api_gives_the_treatment_summary_the_patient_page_shows(api_client, coordinator, outsider, two_cycles):
    """Item 9: per cycle and overall worst CRS (by episode), worst ICANS (baseline excluded), best response, doses."""
    treatment.icans(coordinator, two_cycles, date(2020, 3, 20), baseline="Y", consciousness=2)
    url = reverse("treatment-summary-detail", args=[two_cycles.subject_id])
    body = api_client(coordinator).get(url).json()
    assert (body["subject_id"], body["worst_crs"], body["worst_icans"], body["best_response"]) == (
        "MX01-001", 3, None, "CR")
    first, second = body["cycles"]
    assert (first["cycle_number"], first["worst_crs"], first["baseline_icans"], first["response"]) == (1, 2, 2, "PR")
    assert first["crs_episodes"] == [{"start": "2020-03-21", "end": None, "grade": 2}]
    assert (first["prescribed_step_ug_day"], first["prescribed_full_ug_day"]) == ("5.30", "15.90")
    assert first["planned_full_ug_day"] == pytest.approx(15.91, abs=0.01)
    assert (second["cycle_number"], second["worst_crs"], second["response"], second["response_date"]) == (
        2, 3, "CR", "2020-05-29")
    assert api_client(outsider).get(url).status_code == 404  # another site's patient does not exist for them


def test_a_child_who_died_early_in_cycle_1_is_not_evaluable_for_crs_and_a_treatment_failure(
        client, api_client, coordinator, on_cycle_1):
    """Item 2: died on day 3 before any CRS assessment and before the response assessment: CRS "not evaluable"
    (not grade 0), response "not assessable: died before assessment", best response NR (treatment failure)."""
    treatment.death(coordinator, on_cycle_1, date(2020, 3, 22))
    card = _summary(_patient_page(client, coordinator, on_cycle_1))
    row = card.split('data-cycle="1"')[1].split("</tr>")[0]
    assert 'data-derived="crs">not evaluable <span class="hint">(died on 2020-03-22 before any CRS assessment)' in row
    assert 'data-derived="response">not assessable <span class="hint">(died before assessment)' in row
    assert 'data-derived="best_response">NR: no response' in card
    assert "(died before assessment: treatment failure)" in card
    body = api_client(coordinator).get(reverse("treatment-summary-detail", args=[on_cycle_1.subject_id]),
                                       HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body["best_response"], body["best_response_reason"], body["worst_crs"]) == (
        "NR", "died before assessment", None)
    assert (body["cycles"][0]["crs_not_evaluable"], body["cycles"][0]["response_not_assessable"]) == (
        "died on 2020-03-22 before any CRS assessment", "died before assessment")


# ---- CRS form page and API -------------------------------------------------------------------------------
def test_the_crs_preview_returns_the_computed_grade_without_saving(client, coordinator, on_cycle_1):
    client.force_login(coordinator)
    url = reverse("casebook:form-preview", args=[on_cycle_1.subject_id, "crsassessment"])
    fragment = client.post(url, CRS_PAGE, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-derived="crs_grade">Grade 2<' in fragment
    assert 'data-derived="cycle_number">1<' in fragment
    assert not CrsAssessment.objects.exists()


def test_the_crs_page_and_the_api_store_the_same_grade_for_the_same_signs(client, api_client, coordinator, register,
                                                                          site_a, on_cycle_1):
    other = register(coordinator, site_a, initials="XYZ").patient
    build.enroll(coordinator, other)
    treatment.cycle(coordinator, other, 1)
    client.force_login(coordinator)
    saved = client.post(reverse("casebook:form-new", args=[on_cycle_1.subject_id, "crsassessment"]),
                        {**CRS_PAGE, "save_complete": ""})
    assert saved.status_code == 302
    response = _api_post(api_client(coordinator), "crsassessment",
                         {"patient": other.subject_id, "complete": True, **CRS_API})
    assert response.status_code == 201, response.json()
    by_page = CrsAssessment.objects.get(patient=on_cycle_1)
    by_api = CrsAssessment.objects.get(patient=other)
    assert by_page.crs_grade == by_api.crs_grade == response.json()["crs_grade"] == 2
    assert (by_page.status, by_api.status) == ("complete", "complete")


def test_the_api_ignores_a_typed_crs_grade(api_client, coordinator, on_cycle_1):
    response = _api_post(api_client(coordinator), "crsassessment",
                         {"patient": on_cycle_1.subject_id, **CRS_API, "crs_grade": 0, "episode_start": None})
    assert response.status_code == 201, response.json()
    assert (response.json()["crs_grade"], response.json()["episode_start"]) == (2, "2020-03-21")
    assert CrsAssessment.objects.get(patient=on_cycle_1).crs_grade == 2


def test_the_api_refuses_an_unconfirmed_disagreement_naming_reported_grade(api_client, coordinator, on_cycle_1):
    client = api_client(coordinator)
    body = {"patient": on_cycle_1.subject_id, **CRS_API, "reported_grade": 3}
    refused = _api_post(client, "crsassessment", body)
    assert refused.status_code == 400
    [message] = refused.json()["reported_grade"]
    assert message.startswith("You entered Grade 3, but the recorded findings give Grade 2")
    assert not CrsAssessment.objects.exists()
    confirmed = _api_post(client, "crsassessment", {**body, "disagreement_confirmed": True})
    assert confirmed.status_code == 201
    assert (confirmed.json()["crs_grade"], confirmed.json()["reported_grade"]) == (2, 3)


# ---- The review flags become queries ----------------------------------------------------------------------
FLAG_QUERIES = [
    pytest.param("TRT-001", "treatment.BlinatumomabCycle", "prescribed_full_ug_day", "+10.6 %", id="dose deviation"),
    pytest.param("QC-002", "treatment.CrsAssessment", "reported_grade", "recorded Grade 2",
                 id="confirmed disagreement"),
    pytest.param("TRT-011", "treatment.AdverseEvent", "aware_at", "24 hours", id="late serious adverse event"),
    pytest.param("TRT-010", "treatment.IntrathecalTherapy", "administration_date", "24 days after the end of cycle 1",
                 id="intrathecal window"),
]


@pytest.fixture
def flag_queries(flagged):
    from trial.quality.engine import check_patients

    check_patients([flagged.pk], today=date(2020, 5, 12))
    return flagged


@pytest.mark.parametrize(("code", "form", "field", "wording"), FLAG_QUERIES)
def test_each_treatment_flag_opens_a_query_the_data_manager_sees_in_the_list(client, data_manager, flag_queries,
                                                                           code, form, field, wording):
    from trial.quality.models import Query

    query = Query.objects.get(patient=flag_queries, rule=code, form=form)
    assert query.field == field and wording in query.text_en
    client.force_login(data_manager)
    page = client.get(reverse("quality:queries"), {"status": "open", "rule": code}).content.decode()
    row = page.split(f'href="/quality/queries/{query.pk}/"')[1].split("</tr>")[0]
    assert flag_queries.subject_id in row and wording in row


@pytest.mark.parametrize(("code", "form", "field", "wording"), FLAG_QUERIES)
def test_a_coordinator_of_the_same_site_sees_the_queries_too(client, coordinator, flag_queries, code, form, field,
                                                             wording):
    client.force_login(coordinator)
    assert wording in client.get(reverse("quality:queries"), {"rule": code}).content.decode()


def test_a_coordinator_of_another_site_sees_none_of_the_queries(client, outsider, flag_queries):
    client.force_login(outsider)
    page = client.get(reverse("quality:queries")).content.decode()
    assert flag_queries.subject_id not in page
    for flag in FLAG_QUERIES:
        assert flag.values[3] not in page
    assert "No query matches these filters." in page


# ---- Adverse event form page -----------------------------------------------------------------------------
def test_the_adverse_event_form_suggests_ctcae_terms_by_name_organ_class_and_code(client, coordinator, on_cycle_1):
    """Item 6: typing in the term field lists the matching terms, each with its MedDRA code and organ class."""
    client.force_login(coordinator)
    page = client.get(reverse("casebook:form-new", args=[on_cycle_1.subject_id, "adverseevent"])).content.decode()
    field = re.search(r'<input type="text" name="term"[^>]*>', page).group(0)
    assert 'hx-get="/treatment/ctcae-terms/suggestions/"' in field and 'role="combobox"' in field
    assert "<option" not in page.split('name="term"')[1].split("</div>")[0]  # no 837-option list on the page

    def suggested(text: str) -> list[str]:
        html = client.get(reverse("ctcae-suggestions"), {"term": text, "field": "id_term"}).content.decode()
        return re.findall(r'<button type="button" class="suggestion" data-code="(\d+)"', html)

    assert {"10016288", "10029366"} <= set(suggested("neutrop"))  # febrile neutropenia, neutrophil count decreased
    assert suggested("10016288") == ["10016288"]
    many = client.get(reverse("ctcae-suggestions"), {"term": "disorders"}).content.decode()
    assert len(re.findall('class="suggestion"', many)) == 20 and "more terms match: type more of them." in many
    none = client.get(reverse("ctcae-suggestions"), {"term": "zzzz"}).content.decode()
    assert "No CTCAE v5.0 term contains “zzzz”." in none
    picked = client.get(reverse("ctcae-pick"), {"code": "10016288", "field": "id_term"}).content.decode()
    assert 'value="Febrile neutropenia · 10016288 · Blood and lymphatic system disorders"' in picked
    assert "autofocus" in picked


@pytest.mark.parametrize(("typed", "saved"), [
    pytest.param("Neutrophil count decreased · 10029366 · Investigations", 10029366, id="a picked suggestion"),
    pytest.param("10016288", 10016288, id="a MedDRA code alone"),
    pytest.param("febrile neutropenia", 10016288, id="a term's exact name, any case"),
])
def test_the_adverse_event_page_saves_the_term_however_it_was_found(client, coordinator, on_cycle_1, typed, saved):
    client.force_login(coordinator)
    url = reverse("casebook:form-new", args=[on_cycle_1.subject_id, "adverseevent"])
    response = client.post(url, {"term": typed, "onset_date": "2020-03-25", "save_draft": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AdverseEvent.objects.get(patient=on_cycle_1).term_id == saved


def test_a_term_that_matches_nothing_is_refused_in_words(client, coordinator, on_cycle_1):
    client.force_login(coordinator)
    url = reverse("casebook:form-new", args=[on_cycle_1.subject_id, "adverseevent"])
    page = client.post(url, {"term": "neutrop", "onset_date": "2020-03-25", "save_draft": "1"}).content.decode()
    assert ("No CTCAE v5.0 term matches “neutrop”: type part of the term, its organ class or its MedDRA code, and "
            "pick one of the suggestions.") in page
    assert not AdverseEvent.objects.exists()


def test_the_api_finds_ctcae_terms_by_name_organ_class_or_code(api_client, coordinator):
    client = api_client(coordinator)
    found = client.get(reverse("ctcae-term-list"), {"search": "neutrop"}).json()
    assert {t["term"] for t in found["results"]} >= {"Febrile neutropenia", "Neutrophil count decreased"}
    assert all("neutrop" in (t["term"] + t["soc"]).lower() for t in found["results"])
    by_code = client.get(reverse("ctcae-term-list"), {"search": "10016288"}).json()["results"]
    assert [(t["meddra_code"], t["term"], t["grades"]) for t in by_code] == [
        (10016288, "Febrile neutropenia", [3, 4, 5])]
    assert client.get(reverse("ctcae-term-list"), {"search": "Blood and lymphatic"}).json()["count"] > 5
    one = client.get(reverse("ctcae-term-detail", args=[10016288])).json()
    assert one["soc"] == "Blood and lymphatic system disorders"


def test_the_audit_trail_names_the_term_with_its_code_and_details_go_with_any_term(client, coordinator, on_cycle_1):
    event = treatment.adverse_event(coordinator, on_cycle_1, term_detail="after the first dose")
    save_crf(event, user=coordinator, data={"term": CtcaeTerm.objects.get(meddra_code=10029366)},
             reason="Source says neutropenia", expected_version=event.version)
    from trial.audit import history_entries

    latest = history_entries(AdverseEvent.objects.get(pk=event.pk))[-1]
    [change] = [c for c in latest.changes if c.field == "term"]
    assert (change.old, change.new) == ("Febrile neutropenia (10016288)", "Neutrophil count decreased (10029366)")
    assert AdverseEvent.objects.get(pk=event.pk).crf_summary().startswith(
        "Neutrophil count decreased — after the first dose")


def test_the_patient_page_costs_the_same_queries_with_1_and_with_30_adverse_events(client, coordinator, on_cycle_1):
    """Each record's summary on the page (an adverse event's CTCAE term) is read with the list, not per record."""
    client.force_login(coordinator)
    url = reverse("patients:detail", args=[on_cycle_1.subject_id])
    treatment.adverse_event(coordinator, on_cycle_1)
    client.get(url)  # first request: sessions, caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    with_one = queries()
    terms = list(CtcaeTerm.objects.exclude(grade_1="").exclude(term__endswith="Other, specify")
                 .order_by("meddra_code").values_list("meddra_code", flat=True)[:29])
    for n in range(29):
        treatment.adverse_event(coordinator, on_cycle_1, term=terms[n], grade=1, onset_date=date(2020, 3, 21),
                                resolution_date=date(2020, 3, 22))
    assert AdverseEvent.objects.filter(patient=on_cycle_1).count() == 30
    assert queries() == with_one


@pytest.mark.parametrize("complete", [False, True])
def test_a_typed_grade_on_nasal_cannula_without_a_flow_asks_for_the_flow(api_client, coordinator, on_cycle_1,
                                                                        complete):
    """Item 8: the grade cannot be computed without the flow, so the form asks for the flow (when completing), never
    "the findings give —"."""
    body = {**CRS_API, "patient": on_cycle_1.subject_id, "hypotension": "none", "oxygen_device": "nasal_cannula",
            "reported_grade": 2, "complete": complete}
    response = api_client(coordinator).post(reverse("crf-crsassessment-list"), body, format="json",
                                            HTTP_ACCEPT_LANGUAGE="en")
    assert "findings give" not in response.content.decode()
    if complete:
        assert response.status_code == 400
        assert response.json()["oxygen_flow_l_min"] == [
            "Give the nasal cannula flow: up to 6 L/min is low flow, above is high flow."]
    else:
        assert response.status_code == 201 and response.json()["crs_grade"] is None
