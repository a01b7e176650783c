"""Daily counts entered as one series, on the grid page and through the API: all or nothing, one audit record per
changed day, and the engraftment derived once for the whole series (D7)."""

import pytest
from django.urls import reverse

from tests import enrollment
from tests import transplant_forms as tx
from transplant.models import DailyCount, TransplantProcedure
from trial.crf import RECOMPUTED_REASON

pytestmark = pytest.mark.django_db


def _grid(rows: list[dict]) -> dict[str, str]:
    """The grid's POST as the page sends it: one input per day and column (`anc_per_ul-5`)."""
    posted = {}
    for row in rows:
        day = (row["count_date"] - tx.DAY0).days
        for name in ("anc_per_ul", "platelets_10e9_l", "platelet_transfusion", "red_cell_transfusion"):
            posted[f"{name}-{day}"] = str(row.get(name, ""))
    return posted


def _recomputations(patient) -> int:
    return TransplantProcedure.history.filter(patient=patient, history_change_reason=RECOMPUTED_REASON).count()


def test_31_days_pasted_into_the_grid_are_saved_and_engraftment_is_derived_once(client, coordinator, day0):
    client.force_login(coordinator)
    url = reverse("transplant:daily-counts", args=[day0.subject_id])
    assert client.get(url).status_code == 200
    response = client.post(url, _grid(tx.engrafting_counts()))
    assert response.status_code == 302
    days = DailyCount.objects.filter(patient=day0)
    assert days.count() == 31 and {d.status for d in days} == {"complete"}
    assert {d.history.count() for d in days} == {1}  # each day its own audit record
    transplant = TransplantProcedure.objects.get(patient=day0)
    assert (transplant.neutrophil_engraftment_day, transplant.platelet_engraftment_day,
            transplant.primary_graft_failure) == (15, 20, False)
    assert _recomputations(day0) == 1  # once for the series, not once per day
    page = client.get(url).content.decode()
    assert "day +15" in page and "day +20" in page and "ANC > 500/µL" in page, page[page.find("Engraftment"):][:900]


def test_a_platelet_count_typed_per_microlitre_refuses_the_whole_series_and_keeps_what_was_typed(
        client, coordinator, day0):
    client.force_login(coordinator)
    rows = tx.engrafting_counts()
    rows[25]["platelets_10e9_l"] = 231000
    url = reverse("transplant:daily-counts", args=[day0.subject_id])
    response = client.post(url, _grid(rows))
    assert response.status_code == 200
    page = response.content.decode()
    assert "looks like a count per µL" in page and "×10⁹/L" in page and "Enter 231." in page
    assert 'value="231000"' in page and "Nothing was saved" in page
    assert not DailyCount.objects.filter(patient=day0).exists()


def test_a_cell_that_is_not_a_number_is_named_and_nothing_is_saved(client, coordinator, day0):
    client.force_login(coordinator)
    rows = tx.engrafting_counts()
    rows[3]["anc_per_ul"] = "12o"
    response = client.post(reverse("transplant:daily-counts", args=[day0.subject_id]), _grid(rows))
    assert "“12o” is not a whole number" in response.content.decode()
    assert not DailyCount.objects.filter(patient=day0).exists()


def test_a_partly_typed_day_is_a_draft_and_empty_days_are_not_saved(client, coordinator, day0):
    client.force_login(coordinator)
    rows = [{"count_date": tx.on_day(0), "anc_per_ul": 900}, {"count_date": tx.on_day(1)}]
    client.post(reverse("transplant:daily-counts", args=[day0.subject_id]), _grid(rows))
    saved = DailyCount.objects.get(patient=day0)
    assert (saved.count_date, saved.anc_per_ul, saved.platelets_10e9_l, saved.platelet_transfusion, saved.status) == (
        tx.on_day(0), 900, None, "", "draft")  # nothing invented for what was not typed


def test_correcting_one_complete_day_needs_a_reason_and_re_derives_once(client, coordinator, day0):
    client.force_login(coordinator)
    url = reverse("transplant:daily-counts", args=[day0.subject_id])
    client.post(url, _grid(tx.engrafting_counts()))
    versions = {f"version-{(d.count_date - tx.DAY0).days}": str(d.version)
                for d in DailyCount.objects.filter(patient=day0)}
    rows = tx.engrafting_counts()
    rows[16]["anc_per_ul"] = 400  # the run of day 15 breaks: engraftment moves to day 17
    refused = client.post(url, {**_grid(rows), **versions})
    assert "Give the reason" in refused.content.decode()
    assert DailyCount.objects.get(patient=day0, count_date=tx.on_day(16)).anc_per_ul == 800
    before = _recomputations(day0)
    client.post(url, {**_grid(rows), **versions, "reason": "Lab report re-read"})
    corrected = DailyCount.objects.get(patient=day0, count_date=tx.on_day(16))
    assert (corrected.anc_per_ul, corrected.history.first().history_change_reason) == (400, "Lab report re-read")
    assert DailyCount.history.filter(patient=day0, history_type="~").count() == 1  # only the changed day
    assert TransplantProcedure.objects.get(patient=day0).neutrophil_engraftment_day == 17
    assert _recomputations(day0) == before + 1


def test_the_api_saves_the_series_in_one_request_and_returns_the_engraftment(api_client, coordinator, day0):
    api = api_client(coordinator)
    url = f"/api/v1/daily-counts/{day0.subject_id}/"
    rows = [{"day": (r["count_date"] - tx.DAY0).days, **{k: v for k, v in r.items() if k != "count_date"}}
            for r in tx.engrafting_counts()]
    saved = api.put(url, {"counts": rows}, format="json")
    assert saved.status_code == 200, saved.json()
    body = saved.json()
    assert len(body["counts"]) == 31 and body["counts"][5]["visit"] == "D05"
    assert (body["engraftment"]["neutrophil_engraftment_day"], body["engraftment"]["platelet_engraftment_day"]) == (
        15, 20)
    stale = [{"day": 3, "anc_per_ul": 120, "platelets_10e9_l": 15, "platelet_transfusion": "N",
              "red_cell_transfusion": "N", "version": 0}]
    conflict = api.put(url, {"counts": stale, "reason": "typo"}, format="json")
    assert conflict.status_code == 409 and str(tx.on_day(3)) in conflict.json()["counts"]
    refused = api.put(url, {"counts": [{"day": 40, "anc_per_ul": 900, "platelets_10e9_l": 231000,
                                        "platelet_transfusion": "N", "red_cell_transfusion": "N"}]}, format="json")
    assert refused.status_code == 400 and "×10⁹/L" in str(refused.json())
    assert api.get(url).json()["counts"][-1]["day_post_transplant"] == 30


def test_another_sites_patient_is_not_found_on_the_grid_or_the_api(client, api_client, outsider, day0):
    client.force_login(outsider)
    assert client.get(reverse("transplant:daily-counts", args=[day0.subject_id])).status_code == 404
    assert api_client(outsider).get(f"/api/v1/daily-counts/{day0.subject_id}/").status_code == 404
    put = api_client(outsider).put(f"/api/v1/daily-counts/{day0.subject_id}/",
                                   {"counts": [{"day": 0, "anc_per_ul": 1}]}, format="json")
    assert put.status_code == 404


def test_without_day_0_the_grid_asks_for_the_transplant_procedure(client, coordinator, registration_a):
    enrollment.enroll(coordinator, registration_a.patient)
    client.force_login(coordinator)
    page = client.get(reverse("transplant:daily-counts", args=[registration_a.patient.subject_id]))
    assert "enter the transplant procedure with its date first" in page.content.decode()
