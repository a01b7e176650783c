"""Issue item 8: the transplant panel on the patient page and the patient's journey (timeline and schedule marks):
the right events for a transplanted patient, site isolation and the access log, and a constant number of queries
whatever the size of the casebook."""

import html
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.models import FollowUp
from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from transplant.journey import patient_journey
from transplant.models import AcuteGvhd, DailyCount, TransplantProcedure
from trial.models import CasebookAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def transplanted(coordinator, registration_a):
    """Every form (tests.transplant_forms.every_form): day 0 2020-06-15, neutrophils +15, platelets +20, aGVHD
    grade I on day +7, mild cGVHD on +100, a CMV load not detected, an infection on +5, a DLI on +110, relapse on
    +140, a follow-up on +183, death and off study on 2021-02-01."""
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    tx.every_form(coordinator, patient)
    return patient


def _journey_url(patient) -> str:
    return reverse("transplant:journey", args=[patient.subject_id])


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _event(page: str, kind: str) -> str:
    """The text of the first timeline event of a kind."""
    found = re.search(rf'<li class="[^"]*" data-kind="{kind}">(.*?)</li>', page, re.S)
    assert found, f"no {kind} event"
    return _text(found.group(1))


def _events(page: str, kind: str) -> list[str]:
    return [_text(m) for m in re.findall(rf'<li class="[^"]*" data-kind="{kind}">(.*?)</li>', page, re.S)]


# ---- The panel -----------------------------------------------------------------------------------------------
def test_the_panel_shows_day_0_engraftment_gvhd_chimerism_and_relapse(client, coordinator, transplanted):
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[transplanted.subject_id])).content.decode()
    panel = page[page.index('id="transplant-summary"'):]
    panel = panel[:panel.index("</section>")]
    text = _text(panel)
    assert "2020-06-15" in text and "Haploidentical related" in text and "HLA 5/10" in text
    assert "8 ×10⁶/kg" in text or "8.00 ×10⁶/kg" in text  # 240 ×10⁶ CD34+ cells for 30 kg
    assert "day +15 (2020-06-30)" in text
    assert "First of 3 consecutive days with ANC > 500/µL after the nadir" in text
    assert "day +20 (2020-07-05)" in text
    assert "First of 7 days > 20 ×10⁹/L without transfusion" in text
    assert re.search(r'data-derived="primary_graft_failure">\s*No', panel)
    assert re.search(r'data-derived="counts_missing_days">\s*none', panel) and "counts to day +30" in text
    assert "Grade I" in text and "onset 2020-06-22" in text
    assert "worst stage: skin 1 · liver 0 · upper GI 0 · lower GI 0" in text
    assert "Mild" in text and "onset 2020-09-23" in text
    assert "3 months" in text and "99.0 %" in text and "complete" in text and "loss of complete chimerism" not in text
    assert "2020-11-02" in text  # relapse on day +140
    assert f'href="{_journey_url(transplanted)}"' in panel
    assert f'href="{reverse("transplant:daily-counts", args=[transplanted.subject_id])}"' in panel
    assert page.index('id="treatment-summary"') < page.index('id="transplant-summary"')


def test_a_loss_of_complete_chimerism_and_a_graft_failure_are_flagged(client, coordinator, registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    tx.donor(coordinator, patient)
    tx.graft(coordinator, patient)
    tx.procedure(coordinator, patient)
    tx.counts(coordinator, patient, tx.engrafting_counts(31, neutrophils_from=40, platelets_from=40))
    tx.chimerism(coordinator, patient, 3, 92)
    tx.chimerism(coordinator, patient, 6, 183, whole_blood="80.0", cd3="70.0")
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[patient.subject_id])).content.decode()
    text = _text(page[page.index('id="transplant-summary"'):])
    assert "Yes: no neutrophil engraftment by day +30" in text
    assert "not yet (counts to day +31)" in text
    assert "loss of complete chimerism" in text
    journey = client.get(_journey_url(patient)).content.decode()
    assert "Primary graft failure" in _event(journey, "graft-failure")
    assert "2020-07-15" in _event(journey, "graft-failure") and "day +30" in _event(journey, "graft-failure")
    assert "Loss of complete chimerism" in _event(journey, "chimerism")
    assert "6 months" in _event(journey, "chimerism") and "whole blood 80 %" in _event(journey, "chimerism")


def test_a_patient_without_a_transplant_has_no_panel(client, coordinator, registration_a):
    build.enroll(coordinator, registration_a.patient)
    client.force_login(coordinator)
    page = client.get(reverse("patients:detail", args=[registration_a.patient.subject_id])).content.decode()
    assert 'id="transplant-summary"' not in page


# ---- The journey ---------------------------------------------------------------------------------------------
def test_the_journey_tells_the_patients_story_in_order(client, coordinator, transplanted):
    client.force_login(coordinator)
    response = client.get(_journey_url(transplanted))
    assert response.status_code == 200
    page = response.content.decode()
    kinds = re.findall(r'data-kind="([a-z-]+)"', page)
    assert kinds == [
        "registration", "consent", "eligibility", "debulking", "cycle", "response", "cycle", "transplant",
        "infection", "agvhd", "neutrophils", "platelets", "cgvhd", "dli", "relapse", "follow-up", "death",
        "off-study"]
    assert "Blinatumomab cycle 1" in _event(page, "cycle") and "2020-03-20 – 2020-04-16" in _event(page, "cycle")
    assert "worst CRS grade 1" in _event(page, "cycle") and "worst ICANS not assessed" in _event(page, "cycle")
    assert "CR: complete remission" in _event(page, "response")
    day0 = _event(page, "transplant")
    assert "2020-06-15" in day0 and "day 0" in day0 and "Haploidentical related" in day0
    assert "2020-06-30" in _event(page, "neutrophils") and "day +15" in _event(page, "neutrophils")
    assert "2020-07-05" in _event(page, "platelets") and "day +20" in _event(page, "platelets")
    assert "Acute GVHD onset: Grade I" in _event(page, "agvhd") and "day +7" in _event(page, "agvhd")
    assert "Chronic GVHD onset: Mild" in _event(page, "cgvhd") and "day +100" in _event(page, "cgvhd")
    assert "Escherichia coli" in _event(page, "infection") and "day +5" in _event(page, "infection")
    assert "Donor lymphocyte infusion" in _event(page, "dli") and "day +110" in _event(page, "dli")
    assert "Relapse after transplant" in _event(page, "relapse") and "day +140" in _event(page, "relapse")
    assert "Last contact" in _event(page, "follow-up") and "day +183" in _event(page, "follow-up")
    assert "Death" in _event(page, "death") and "2021-02-01" in _event(page, "death")
    assert "day +231" in _event(page, "death")
    assert 'data-kind="today"' not in page  # the casebook is closed: nothing after death
    assert 'data-kind="viral"' not in page  # the only load was not detected
    # Every event opens its form.
    procedure = TransplantProcedure.objects.get(patient=transplanted)
    engrafted = DailyCount.objects.get(patient=transplanted, count_date=date(2020, 6, 30))
    procedure_url = reverse("casebook:form", args=[transplanted.subject_id, "transplantprocedure", procedure.pk])
    assert f'<a href="{procedure_url}">Transplant (day 0)</a>' in page
    assert reverse("casebook:form", args=[transplanted.subject_id, "dailycount", engrafted.pk]) in page
    assert all(re.search(r'<p class="what"><a href="/patients/', item)
               for item in re.findall(r'<li class="[^"]*" data-kind="[^"]+">.*?</li>', page, re.S))


def test_viral_reactivations_are_told_as_episodes(coordinator, transplanted):
    for day, load in ((21, None), (28, 1200), (35, 15000), (42, 800), (49, None), (56, None)):
        tx.viral_load(coordinator, transplanted, day, load=load)
    tx.viral_load(coordinator, transplanted, 35, virus="ebv", load=500)
    found = patient_journey(transplanted, coordinator)
    viral = [e for e in found.events if e.kind == "viral"]
    assert [(e.title, e.day) for e in viral] == [("CMV reactivation (blood)", 28), ("EBV reactivation (blood)", 35)]
    assert viral[0].detail == ("detected on 3 samples until 2020-07-27 (day +42) · peak 15,000 copies/mL · "
                               "not detected on 2020-08-03 (day +49)")
    assert viral[1].detail == "detected once · peak 500 copies/mL · not yet shown cleared"
    assert [link.label for link in viral[0].links] == ["peak", "cleared"]


def test_the_schedule_marks_count_each_state_and_name_the_overdue_and_missed_visits(client, coordinator,
                                                                                     registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    tx.transplant(coordinator, patient)
    tx.acute_gvhd(coordinator, patient, 7)
    client.force_login(coordinator)
    page = client.get(_journey_url(patient)).content.decode()
    marks = page[page.index('id="schedule-marks"'):]
    # Weekly acute GVHD from day +7 to +98: the first one done, the later ones overdue (day 0 was in 2020).
    agvhd = marks[marks.index('data-form="transplant.AcuteGvhd"'):]
    agvhd = agvhd[:agvhd.index("</ul>")]
    assert "done 1" in _text(agvhd) and "overdue 13" in _text(agvhd)
    assert 'data-visit="W02" data-state="overdue"' in agvhd
    assert 'id="journey-schedule-alert"' in page and "visits overdue" in page
    assert 'data-kind="today"' in page  # alive and on study: the timeline runs to today


def test_an_outsider_gets_404_and_the_access_is_logged(client, coordinator, outsider, transplanted):
    url = _journey_url(transplanted)
    client.force_login(outsider)
    response = client.get(url)
    assert response.status_code == 404
    assert transplanted.subject_id.encode() not in response.content
    assert not CasebookAccess.objects.filter(path=url).exists()
    client.force_login(coordinator)
    assert client.get(url).status_code == 200
    assert list(CasebookAccess.objects.filter(path=url).values_list("user__username", "patient_id")) == [
        ("coord.a", transplanted.pk)]


def test_a_patient_just_registered_has_a_short_journey(client, coordinator, registration_a):
    client.force_login(coordinator)
    page = client.get(_journey_url(registration_a.patient)).content.decode()
    assert re.findall(r'data-kind="([a-z-]+)"', page) == ["registration", "today"]
    assert "not transplanted" in _text(page)


def test_the_journey_needs_a_login(client, transplanted):
    response = client.get(_journey_url(transplanted))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# ---- Constant queries ----------------------------------------------------------------------------------------
def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(user, patient) -> None:
    """Many more records of the kinds that accumulate: daily counts to day +60, weekly acute GVHD to +98 (one of
    grade II), viral loads of two viruses (some detected), infections, chimerism, and follow-ups to 5 years."""
    for day in range(31, 61):
        tx.count(user, patient, count_date=tx.on_day(day), anc_per_ul=2000, platelets_10e9_l=120,
                 platelet_transfusion="N", red_cell_transfusion="N")
    for day in range(14, 99, 7):
        tx.acute_gvhd(user, patient, day, **({"skin_stage": 2, "upper_gi_stage": 1} if day == 28 else {}))
    for day in range(14, 120, 7):
        tx.viral_load(user, patient, day, load=2500 if day in (28, 35) else None)
        tx.viral_load(user, patient, day, virus="ebv")
    for day in (20, 60, 95):
        tx.infection(user, patient, day, pathogen="Klebsiella pneumoniae")
    tx.chimerism(user, patient, 6, 183, whole_blood="90.0", cd3="85.0")
    tx.immune(user, patient, 6, 183)
    for months in range(6, 61, 3):
        tx.follow_up(user, patient, tx.on_day(0) + timedelta(days=int(months * 30.44)))


@pytest.fixture
def long_lived(coordinator, registration_a):
    """Treated and transplanted, alive and on study (so the schedule runs to today)."""
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    treatment.cycle(coordinator, patient, 2)
    tx.transplant(coordinator, patient)
    tx.acute_gvhd(coordinator, patient, 7, skin_stage=1)
    tx.chronic_gvhd(coordinator, patient, 100, mouth_score=1)
    tx.chimerism(coordinator, patient, 3, 92)
    tx.viral_load(coordinator, patient, 7)
    tx.infection(coordinator, patient, 5)
    tx.follow_up(coordinator, patient, tx.on_day(92))
    return patient


# Pinned: a change here is a change of what the pages read, to be looked at. The patient page: the session, user and
# memberships, the patient and its access-log row, one query per CRF model for the casebook (trial.casebook) and
# one for the number of records of every form, the
# schedule panel (one per scheduled form, anchor and stop), the treatment panel and this app's panel (five), the
# patient's queries not closed (one). The
# journey: the same first five; twenty for the events (the patient's one-per-patient forms in one, the treatment
# summary's seven, one per other source); thirty-one for the schedule (trial.visits: one per anchor source, per
# scheduled form and per stop, the visits recorded as not done and the data cut-off); the session's save (three).
PATIENT_PAGE_QUERIES = 92
JOURNEY_QUERIES = 59


def test_the_patient_page_and_the_journey_run_the_same_queries_at_any_casebook_size(client, coordinator,
                                                                                     long_lived):
    client.force_login(coordinator)
    detail, journey = reverse("patients:detail", args=[long_lived.subject_id]), _journey_url(long_lived)
    small = (_queries(client, detail), _queries(client, journey))
    records_before = sum(m.objects.filter(patient=long_lived).count() for m in (DailyCount, AcuteGvhd, FollowUp))
    _grow(coordinator, long_lived)
    records_after = sum(m.objects.filter(patient=long_lived).count() for m in (DailyCount, AcuteGvhd, FollowUp))
    assert records_after > records_before + 60
    large = (_queries(client, detail), _queries(client, journey))
    assert small == large == (PATIENT_PAGE_QUERIES, JOURNEY_QUERIES)

