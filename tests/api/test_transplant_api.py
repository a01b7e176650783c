"""A client enters a whole transplanted casebook through the API — every transplant and follow-up form, the daily
counts as one series — and reads back every derived value."""

import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment

pytestmark = pytest.mark.django_db


def _post(client, form: str, body: dict):
    response = client.post(reverse(f"crf-{form}-list"), json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
                           format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201, (form, response.json())
    return response.json()


def test_a_client_enters_a_transplanted_casebook_and_reads_back_every_derived_value(api_client, coordinator,
                                                                                     registration_a):
    patient = registration_a.patient
    build.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.response(coordinator, patient)
    client = api_client(coordinator)
    subject = patient.subject_id

    def post(form, body):
        return _post(client, form, {"patient": subject, "complete": True, **body})

    post("donor", tx.DONOR)
    graft = post("graft", tx.GRAFT)
    assert (graft["cd34_10e6_kg"], graft["cd3_10e8_kg"], graft["visit"]) == ("8.00", "3.00", "HSCT")
    procedure = post("transplantprocedure", tx.PROCEDURE)
    assert (procedure["response_before_transplant"], procedure["visit"]) == ("CR", "HSCT")

    series = [{"day": (r["count_date"] - tx.DAY0).days, **{k: v for k, v in r.items() if k != "count_date"}}
              for r in tx.engrafting_counts(neutrophils_from=12, platelets_from=24)]
    counts = client.put(f"/api/v1/daily-counts/{subject}/", {"counts": series}, format="json")
    assert counts.status_code == 200, counts.json()
    engraftment = counts.json()["engraftment"]
    assert (engraftment["anc_nadir_day"], engraftment["neutrophil_engraftment_day"],
            engraftment["platelet_engraftment_day"], engraftment["primary_graft_failure"],
            engraftment["counts_missing_days"]) == (1, 12, 24, False, [])

    gvhd = post("acutegvhd", {"assessment_date": tx.on_day(21), **tx.AGVHD_NONE, "skin_stage": 2, "liver_gvhd": "Y",
                              "bilirubin": "51.3", "bilirubin_unit": "umol_l"})
    assert (gvhd["bilirubin_mg_dl"], gvhd["liver_stage"], gvhd["overall_grade"], gvhd["visit"],
            gvhd["day_post_transplant"]) == ("3.00", 1, 2, "W03", 21)
    chronic = post("chronicgvhd", {"assessment_date": tx.on_day(110), **tx.CGVHD_NONE, "lungs_score": 1})
    assert (chronic["severity"], chronic["visit"]) == ("moderate", "CGD100")
    post("chimerism", {"timepoint_months": 3, "sample_date": tx.on_day(92), "whole_blood_donor_pct": "99.0",
                       "cd3_donor_pct": "97.0"})
    mixed = post("chimerism", {"timepoint_months": 6, "sample_date": tx.on_day(183), "whole_blood_donor_pct": "93.0",
                               "cd3_donor_pct": "80.0"})
    assert (mixed["chimerism_status"], mixed["lost_complete"], mixed["visit"]) == ("mixed", True, "M6")
    post("immunereconstitution", {"timepoint_months": 3, "sample_date": tx.on_day(92), "cd3_per_ul": 700,
                                  "cd4_per_ul": 250, "cd8_per_ul": 400, "cd19_per_ul": 90, "cd16_56_per_ul": 210})
    load = post("viralload", {"sample_date": tx.on_day(28), "virus": "cmv", "specimen": "blood",
                              "result": "detected", "load": 2400, "load_unit": "copies_ml",
                              "preemptive_treatment": "Y"})
    assert (load["visit"], load["day_post_transplant"]) == ("VL04", 28)
    post("infection", {"onset_date": tx.on_day(9), "pathogen_type": "bacterial", "pathogen": "E. coli",
                       "syndrome": "bloodstream", "resolution_date": tx.on_day(16)})
    dli = post("donorlymphocyteinfusion", {"infusion_date": tx.on_day(200), "indication": "mixed_chimerism",
                                           "cd3_dose_10e6_kg": "0.100"})
    assert dli["visit"] == "DLI"
    relapse = post("posttransplantrelapse", {"relapse_date": tx.on_day(300), "relapse_site": "isolated_bm",
                                             "cd19_status": "negative", "therapy": "Inotuzumab"})
    assert relapse["day_post_transplant"] == 300
    follow = post("followup", {"contact_date": tx.on_day(365), "vital_status": "alive", "disease_status": "relapsed"})
    assert follow["visit"] == "FU04"
    post("death", {"death_date": tx.on_day(400), "cause": "relapse", "autopsy_performed": "N"})
    post("offstudy", {"off_study_date": tx.on_day(400), "off_study_reason": "death"})

    transplant = client.get(reverse("crf-transplantprocedure-detail", args=[procedure["id"]])).json()
    assert (transplant["neutrophil_engraftment_day"], transplant["platelet_engraftment_day"],
            transplant["agvhd_max_grade"], transplant["agvhd_onset_date"], transplant["agvhd_max_liver"],
            transplant["cgvhd_worst"], transplant["cgvhd_onset_date"], transplant["rules_version"]) == (
        12, 24, 2, str(tx.on_day(21)), 1, "moderate", str(tx.on_day(110)), "TX-1")
    late = client.post(reverse("crf-viralload-list"), {
        "patient": subject, "sample_date": str(tx.on_day(401)), "virus": "ebv", "specimen": "blood",
        "result": "not_detected", "preemptive_treatment": "N"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert late.status_code == 400 and "after the patient's death" in str(late.json())
