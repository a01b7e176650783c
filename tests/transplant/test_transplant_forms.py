"""Transplant and follow-up forms through the one save path, on real records: day 0 and its deviations, the graft
doses, the daily counts and the engraftment derived from them (D7), acute and chronic GVHD (CLINICAL-RULES §4),
chimerism (D8), viral loads, and the dates that death, off-study and the data cut-off close (D14).

Dates follow tests.transplant_forms: cycle 1 from 2020-03-20 to 2020-04-16 (its CR on 2020-04-20), day 0 on
2020-06-15 (a 30 kg child).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patients.models import Death, FollowUp
from tests import enrollment
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from transplant.models import (
    AcuteGvhd,
    DailyCount,
    Graft,
    PostTransplantRelapse,
    TransplantProcedure,
    ViralLoad,
)
from trial.crf import RECOMPUTED_REASON, change_status, save_crf
from trial.models import DataCutoff

pytestmark = pytest.mark.django_db

DAY0 = tx.DAY0  # 2020-06-15
LAST_INFUSION_DAY = treatment.CYCLES[1]["end_date"]  # 2020-04-16
PR = {"marrow_blasts_pct": Decimal("1.0"), "mrd_result": "detected", "mrd_pct": Decimal("0.5")}


def _errors(refused: pytest.ExceptionInfo) -> dict[str, str]:
    """The refusal's messages by field, each field's messages joined."""
    return {name: " ".join(messages) for name, messages in refused.value.message_dict.items()}


def _transplant(patient) -> TransplantProcedure:
    return TransplantProcedure.objects.get(patient=patient)


def _correct(record, user, reason: str = "Corrected from the source document", **data):
    return save_crf(record, user=user, data=data, reason=reason, expected_version=record.version)


# ---- Transplant procedure: day 0 -------------------------------------------------------------------------
def test_a_transplant_before_the_last_blinatumomab_infusion_day_is_refused_naming_both_dates(coordinator, treated):
    early = LAST_INFUSION_DAY - timedelta(days=2)
    with pytest.raises(ValidationError) as refused:
        tx.procedure(coordinator, treated, transplant_date=early, tacrolimus_start=None, mycophenolate_start=None)
    message = _errors(refused)["transplant_date"]
    assert "2020-04-14" in message and "2020-04-16" in message and "last blinatumomab infusion day" in message
    assert not TransplantProcedure.objects.filter(patient=treated).exists()


def test_the_transplant_stores_the_latest_response_before_day_0(coordinator, treated):
    assert tx.procedure(coordinator, treated).response_before_transplant == "CR"


@pytest.fixture
def in_pr(coordinator, registration_a):
    """Cycle 1 ended in PR (marrow blasts 1.0 %, MRD 0.5 % detected): day0 only as a deviation."""
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.response(coordinator, patient, **PR)
    return patient


@pytest.mark.parametrize(("deviation", "field"), [
    pytest.param({"non_cr_deviation": "N"}, "non_cr_deviation", id="no deviation recorded"),
    pytest.param({"non_cr_deviation": "Y"}, "non_cr_deviation_reason", id="deviation without its reason"),
    pytest.param({"non_cr_deviation": "Y", "non_cr_deviation_reason": "  "}, "non_cr_deviation_reason",
                 id="deviation with a blank reason"),
])
def test_a_transplant_after_a_partial_response_needs_the_deviation_and_its_reason(coordinator, in_pr, deviation,
                                                                                  field):
    with pytest.raises(ValidationError) as refused:
        tx.procedure(coordinator, in_pr, **deviation)
    assert field in _errors(refused)
    if field == "non_cr_deviation":
        assert "PR: blasts < 5 %, MRD ≥ 0.01 %" in _errors(refused)[field]


def test_a_transplant_after_a_partial_response_is_accepted_as_a_recorded_deviation(coordinator, in_pr):
    transplant = tx.procedure(coordinator, in_pr, non_cr_deviation="Y",
                              non_cr_deviation_reason="Donor available now; MRD falling; decided by the board")
    stored = _transplant(in_pr)
    assert (stored.pk, stored.response_before_transplant, stored.non_cr_deviation) == (transplant.pk, "PR", "Y")


@pytest.mark.parametrize(("changes", "field"), [
    pytest.param({"tbi_days": 2}, "tbi_days", id="per protocol with 2 TBI days"),
    pytest.param({"cyclophosphamide_days": 1}, "cyclophosphamide_days", id="per protocol with 1 cyclophosphamide day"),
    pytest.param({"conditioning_per_protocol": "N"}, "conditioning_deviation", id="not per protocol, undescribed"),
    pytest.param({"ptcy_days": 1}, "ptcy_days", id="prophylaxis per protocol with 1 PTCy day"),
    pytest.param({"prophylaxis_per_protocol": "N"}, "prophylaxis_deviation", id="prophylaxis not per protocol"),
])
def test_conditioning_and_prophylaxis_deviations_are_said_and_described(coordinator, treated, changes, field):
    with pytest.raises(ValidationError) as refused:
        tx.procedure(coordinator, treated, **changes)
    assert set(_errors(refused)) == {field}


def test_conditioning_not_per_protocol_is_accepted_with_what_was_changed(coordinator, treated):
    tx.procedure(coordinator, treated, tbi_days=2, conditioning_per_protocol="N",
                 conditioning_deviation="TBI day −5 not given: machine out of service")
    assert _transplant(treated).conditioning_deviation == "TBI day −5 not given: machine out of service"


# ---- Graft doses -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("typed", "cd34", "cd3"), [
    pytest.param({}, Decimal("8.00"), Decimal("3.00"), id="from totals: 240 ×10⁶ and 90 ×10⁸ over 30 kg"),
    pytest.param({"dose_basis": "per_kg", "cd34_total_10e6": None, "cd3_total_10e8": None,
                  "cd34_reported_10e6_kg": Decimal("6.45"), "cd3_reported_10e8_kg": Decimal("2.10")},
                 Decimal("6.45"), Decimal("2.10"), id="reported per kg: kept as typed"),
])
def test_the_graft_doses_per_kg(coordinator, treated, typed, cd34, cd3):
    graft = tx.graft(coordinator, treated, **typed)
    stored = Graft.objects.get(pk=graft.pk)
    assert (stored.cd34_10e6_kg, stored.cd3_10e8_kg) == (cd34, cd3)


@pytest.mark.parametrize(("typed", "fields"), [
    pytest.param({"cd34_reported_10e6_kg": Decimal("8.00")}, {"cd34_reported_10e6_kg"},
                 id="totals with a per-kg value"),
    pytest.param({"dose_basis": "per_kg", "cd34_reported_10e6_kg": Decimal("8.00"),
                  "cd3_reported_10e8_kg": Decimal("3.00")}, {"cd34_total_10e6", "cd3_total_10e8"},
                 id="per kg with the totals"),
])
def test_graft_doses_from_totals_and_per_kg_are_not_mixed(coordinator, treated, typed, fields):
    with pytest.raises(ValidationError) as refused:
        tx.graft(coordinator, treated, **typed)
    assert set(_errors(refused)) == fields


# ---- Daily counts ----------------------------------------------------------------------------------------
def test_a_platelet_count_typed_per_microlitre_is_refused_with_the_value_in_10e9_per_litre(coordinator,
                                                                                         day0):
    with pytest.raises(ValidationError) as refused:
        tx.count(coordinator, day0, **{**tx.engrafting_counts(5)[5], "platelets_10e9_l": 231000})
    message = _errors(refused)["platelets_10e9_l"]
    assert "×10⁹/L" in message and "Enter 231." in message


def test_a_count_before_day_0_is_refused(coordinator, day0):
    with pytest.raises(ValidationError) as refused:
        tx.count(coordinator, day0, **{**tx.engrafting_counts(0)[0], "count_date": tx.on_day(-1)})
    assert "day −1" in _errors(refused)["count_date"] and "2020-06-15" in _errors(refused)["count_date"]


def test_a_second_count_on_the_same_date_is_refused(coordinator, day0):
    row = tx.engrafting_counts(5)[5]
    tx.count(coordinator, day0, **row)
    with pytest.raises(ValidationError) as refused:
        tx.count(coordinator, day0, **row)
    assert "already has a daily count on 2020-06-20" in _errors(refused)["count_date"]


def test_a_count_stores_its_day_after_transplant_and_its_visit(coordinator, day0):
    count = tx.count(coordinator, day0, **tx.engrafting_counts(5)[5])
    stored = DailyCount.objects.get(pk=count.pk)
    assert (stored.day_post_transplant, stored.visit) == (5, "D05")


@pytest.mark.parametrize("enter", [
    pytest.param(lambda user, patient: tx.count(user, patient, **tx.engrafting_counts(0)[0]), id="daily count"),
    pytest.param(lambda user, patient: tx.acute_gvhd(user, patient, 7), id="acute GVHD"),
    pytest.param(lambda user, patient: tx.chronic_gvhd(user, patient, 100), id="chronic GVHD"),
    pytest.param(lambda user, patient: tx.chimerism(user, patient, 3, 92), id="chimerism"),
    pytest.param(lambda user, patient: tx.immune(user, patient, 3, 92), id="immune reconstitution"),
    pytest.param(lambda user, patient: tx.viral_load(user, patient, 7), id="viral load"),
    pytest.param(lambda user, patient: tx.infection(user, patient, 5), id="infection"),
    pytest.param(lambda user, patient: tx.dli(user, patient, 110), id="DLI"),
    pytest.param(lambda user, patient: tx.relapse_after(user, patient, 140), id="relapse after transplant"),
])
def test_post_transplant_forms_wait_for_the_transplant_procedure(coordinator, treated, enter):
    with pytest.raises(ValidationError) as refused:
        enter(coordinator, treated)
    assert refused.value.code == "entry_refused"
    assert "Enter the transplant procedure with its date (day 0) first" in " ".join(refused.value.messages)


# ---- Engraftment (D7) ------------------------------------------------------------------------------------
def _engraftment(patient) -> tuple:
    transplant = _transplant(patient)
    return (transplant.neutrophil_engraftment_day, transplant.platelet_engraftment_day,
            transplant.primary_graft_failure, transplant.counts_missing_days)


def test_engraftment_is_derived_on_the_transplant_from_the_daily_counts(coordinator, day0):
    tx.counts(coordinator, day0, tx.engrafting_counts())
    assert _engraftment(day0) == (15, 20, False, [])
    assert (_transplant(day0).anc_nadir_day, _transplant(day0).counts_last_day) == (1, 30)


def test_correcting_one_day_moves_the_neutrophil_day_and_audits_the_transplant(coordinator, day0):
    tx.counts(coordinator, day0, tx.engrafting_counts())
    day_16 = DailyCount.objects.get(patient=day0, count_date=tx.on_day(16))
    _correct(day_16, coordinator, reason="ANC re-read from the laboratory report", anc_per_ul=400)
    assert _engraftment(day0) == (17, 20, False, [])
    audit = _transplant(day0).history.order_by("-history_id").first()
    assert (audit.history_change_reason, audit.neutrophil_engraftment_day) == (RECOMPUTED_REASON, 17)
    assert RECOMPUTED_REASON == "Recomputed after a change to another form of this patient"


def test_no_neutrophil_engraftment_with_counts_to_day_30_is_primary_graft_failure(coordinator, day0):
    tx.counts(coordinator, day0, tx.engrafting_counts(neutrophils_from=31))
    assert _engraftment(day0) == (None, 20, True, [])


def test_a_day_without_counts_is_reported_and_breaks_the_run(coordinator, day0):
    tx.counts(coordinator, day0, [row for row in tx.engrafting_counts() if row["count_date"] != tx.on_day(16)])
    # D7: the missing day breaks the neutrophil run, and platelets need 7 days proven transfusion-free before the
    # run: a run from day 20 would look back over day 16, so the first run that can start is day 24's
    assert _engraftment(day0) == (17, 24, False, [16])


# ---- Acute GVHD (MAGIC, §4.1–4.2, D13) -------------------------------------------------------------------
@pytest.mark.parametrize(("findings", "stages", "grade"), [
    pytest.param({}, (0, 0, 0, 0), 0, id="no findings: grade 0"),
    pytest.param({"skin_stage": 2}, (2, 0, 0, 0), 1, id="skin 2 alone: grade I"),
    pytest.param({"skin_stage": 3}, (3, 0, 0, 0), 2, id="skin 3: grade II"),
    pytest.param({"upper_gi_stage": 1}, (0, 0, 1, 0), 2, id="persistent nausea: grade II"),
    pytest.param({"liver_gvhd": "Y", "bilirubin": Decimal("51.3"), "bilirubin_unit": "umol_l"}, (0, 1, 0, 0), 2,
                 id="bilirubin 51.3 µmol/L = 3.0 mg/dL: liver 1, grade II"),
    pytest.param({"liver_gvhd": "Y", "bilirubin": Decimal("102.6"), "bilirubin_unit": "umol_l"}, (0, 2, 0, 0), 3,
                 id="bilirubin 102.6 µmol/L = 6.0 mg/dL: liver 2, grade III"),
    pytest.param({"liver_gvhd": "Y", "bilirubin": Decimal("60"), "bilirubin_unit": "umol_l"}, (0, 2, 0, 0), 3,
                 id="bilirubin 60 µmol/L = 3.51 mg/dL: liver 2, grade III"),
    pytest.param({"liver_gvhd": "N", "bilirubin": Decimal("120"), "bilirubin_unit": "umol_l"}, (0, 0, 0, 0), 0,
                 id="raised bilirubin not from GVHD: liver 0"),
    pytest.param({"lower_gi_gvhd": "Y", "stool_ml_day": 450, "stool_episodes_day": 12}, (0, 0, 0, 1), 2,
                 id="450 mL/day at 30 kg = 15 mL/kg: volume beats 12 episodes, lower GI 1"),
    pytest.param({"lower_gi_gvhd": "Y", "stool_ml_day": 960}, (0, 0, 0, 3), 3,
                 id="960 mL/day at 30 kg = 32 mL/kg: lower GI 3, grade III"),
    pytest.param({"lower_gi_gvhd": "Y", "stool_episodes_day": 8}, (0, 0, 0, 2), 3,
                 id="8 episodes, no volume: child lower GI 2"),
    pytest.param({"lower_gi_gvhd": "Y", "severe_abdominal_pain_or_bloody_stool": "Y"}, (0, 0, 0, 4), 4,
                 id="grossly bloody stool: lower GI 4, grade IV"),
    pytest.param({"skin_stage": 4}, (4, 0, 0, 0), 4, id="skin 4: grade IV"),
])
def test_acute_gvhd_stages_and_grade_come_from_the_findings(coordinator, day0, findings, stages, grade):
    assessment = tx.acute_gvhd(coordinator, day0, 14, **findings)
    stored = AcuteGvhd.objects.get(pk=assessment.pk)
    assert (stored.skin_stage, stored.liver_stage, stored.upper_gi_stage, stored.lower_gi_stage) == stages
    assert stored.overall_grade == grade


@pytest.mark.parametrize(("umol_l", "mg_dl"), [
    pytest.param(Decimal("51.3"), Decimal("3.00"), id="51.3 µmol/L = 3.00 mg/dL"),
    pytest.param(Decimal("60"), Decimal("3.51"), id="60 µmol/L = 3.51 mg/dL (3.5088 rounded)"),
    pytest.param(Decimal("34"), Decimal("1.99"), id="34 µmol/L = 1.99 mg/dL"),
])
def test_bilirubin_in_micromoles_is_stored_in_mg_per_dl_and_stool_per_kg(coordinator, day0, umol_l, mg_dl):
    assessment = tx.acute_gvhd(coordinator, day0, 14, liver_gvhd="Y", bilirubin=umol_l,
                               bilirubin_unit="umol_l", lower_gi_gvhd="Y", stool_ml_day=450)
    stored = AcuteGvhd.objects.get(pk=assessment.pk)
    assert (stored.bilirubin, stored.bilirubin_unit) == (umol_l, "umol_l")  # as typed, beside the conversion
    assert (stored.bilirubin_mg_dl, stored.stool_ml_kg_day) == (mg_dl, Decimal("15.0"))


def test_a_reported_grade_that_contradicts_the_computed_one_needs_confirmation(coordinator, day0):
    with pytest.raises(ValidationError) as refused:
        tx.acute_gvhd(coordinator, day0, 14, skin_stage=1, reported_grade=2)
    assert "Grade II" in _errors(refused)["reported_grade"] and "Grade I" in _errors(refused)["reported_grade"]
    confirmed = tx.acute_gvhd(coordinator, day0, 14, skin_stage=1, reported_grade=2,
                              disagreement_confirmed=True)
    stored = AcuteGvhd.objects.get(pk=confirmed.pk)
    assert (stored.overall_grade, stored.reported_grade) == (1, 2)


def test_a_reported_grade_that_agrees_needs_no_confirmation(coordinator, day0):
    assert tx.acute_gvhd(coordinator, day0, 14, skin_stage=1, reported_grade=1).overall_grade == 1


def _acute_summary(patient) -> tuple:
    t = _transplant(patient)
    return (t.agvhd_max_grade, t.agvhd_onset_date,
            (t.agvhd_max_skin, t.agvhd_max_liver, t.agvhd_max_upper_gi, t.agvhd_max_lower_gi))


def test_the_transplant_summarises_acute_gvhd_after_each_assessment(coordinator, day0):
    steps = [
        (7, {}, (0, None, (0, 0, 0, 0))),
        (14, {"skin_stage": 1}, (1, tx.on_day(14), (1, 0, 0, 0))),
        (21, {"skin_stage": 2, "liver_gvhd": "Y", "bilirubin": Decimal("4.0"), "bilirubin_unit": "mg_dl"},
         (3, tx.on_day(14), (2, 2, 0, 0))),
        (28, {"upper_gi_stage": 1}, (3, tx.on_day(14), (2, 2, 1, 0))),
    ]
    for day, findings, summary in steps:
        tx.acute_gvhd(coordinator, day0, day, **findings)
        assert _acute_summary(day0) == summary, f"after day +{day}"
    assert _transplant(day0).agvhd_max_grade_day100 == 3


def test_correcting_the_onset_assessment_moves_the_onset(coordinator, day0):
    first = tx.acute_gvhd(coordinator, day0, 14, skin_stage=1)
    tx.acute_gvhd(coordinator, day0, 21, skin_stage=1)
    _correct(first, coordinator, skin_stage=0)
    assert _acute_summary(day0) == (1, tx.on_day(21), (1, 0, 0, 0))


# ---- Chronic GVHD (NIH 2014, §4.3) -----------------------------------------------------------------------
@pytest.mark.parametrize(("scores", "severity"), [
    pytest.param({}, "none", id="no organ involved"),
    pytest.param({"mouth_score": 1}, "mild", id="one organ scoring 1"),
    pytest.param({"mouth_score": 1, "eyes_score": 1}, "mild", id="two organs scoring 1"),
    pytest.param({"mouth_score": 1, "eyes_score": 1, "skin_score": 1}, "moderate", id="three organs scoring 1"),
    pytest.param({"lungs_score": 1}, "moderate", id="lungs 1"),
    pytest.param({"joints_score": 2}, "moderate", id="a non-lung organ scoring 2"),
    pytest.param({"lungs_score": 2}, "severe", id="lungs 2"),
    pytest.param({"skin_score": 3}, "severe", id="any organ scoring 3"),
])
def test_chronic_gvhd_severity_from_the_organ_scores(coordinator, day0, scores, severity):
    assert tx.chronic_gvhd(coordinator, day0, 100, **scores).severity == severity


def test_the_transplant_keeps_the_worst_chronic_gvhd_and_its_onset(coordinator, day0):
    steps = [
        (100, {}, ("none", None)),
        (183, {"mouth_score": 1}, ("mild", tx.on_day(183))),
        (365, {"lungs_score": 1}, ("moderate", tx.on_day(183))),
        (548, {"mouth_score": 1}, ("moderate", tx.on_day(183))),
    ]
    for day, scores, (worst, onset) in steps:
        tx.chronic_gvhd(coordinator, day0, day, **scores)
        transplant = _transplant(day0)
        assert (transplant.cgvhd_worst, transplant.cgvhd_onset_date) == (worst, onset), f"after day +{day}"


# ---- Chimerism (D8) --------------------------------------------------------------------------------------
def test_chimerism_complete_then_mixed_flags_the_loss_at_the_later_timepoint(coordinator, day0):
    m3 = tx.chimerism(coordinator, day0, 3, 92, whole_blood="99.0", cd3="98.0")
    m6 = tx.chimerism(coordinator, day0, 6, 183, whole_blood="90.0", cd3="85.0")
    m3.refresh_from_db()
    m6.refresh_from_db()
    assert (m3.chimerism_status, m3.lost_complete, m3.visit) == ("complete", False, "M3")
    assert (m6.chimerism_status, m6.lost_complete, m6.visit) == ("mixed", True, "M6")
    assert (m3.status, m6.status) == ("complete", "complete")  # the forms' own status, apart from the chimerism


@pytest.mark.parametrize(("whole_blood", "cd3", "status"), [
    pytest.param("95.0", "95.0", "complete", id="95 % in both: complete"),
    pytest.param("99.0", "94.9", "mixed", id="CD3+ 94.9 %: mixed"),
])
def test_chimerism_is_complete_only_at_95_percent_in_every_fraction(coordinator, day0, whole_blood, cd3,
                                                                    status):
    assert tx.chimerism(coordinator, day0, 3, 92, whole_blood=whole_blood, cd3=cd3).chimerism_status == status


def test_a_mixed_chimerism_form_is_verified_and_locked_like_any_form(coordinator, data_manager, monitor,
                                                                    day0):
    """The derived complete/mixed is the chimerism's, not the form's status: the form moves along its own."""
    m6 = tx.chimerism(coordinator, day0, 6, 183, whole_blood="90.0", cd3="85.0")
    change_status(m6, user=monitor, transition="verify")
    change_status(m6, user=data_manager, transition="lock")
    m6.refresh_from_db()
    assert (m6.status, m6.chimerism_status) == ("locked", "mixed")
    with pytest.raises(ValidationError) as refused:  # an earlier timepoint would re-derive the locked one
        tx.chimerism(coordinator, day0, 3, 92)
    assert "locked chimerism form" in " ".join(refused.value.messages)


# ---- Viral load ------------------------------------------------------------------------------------------
VIRAL = {"sample_date": tx.on_day(7), "virus": "cmv", "specimen": "blood", "preemptive_treatment": "N"}


@pytest.mark.parametrize(("result", "field"), [
    pytest.param({"result": "detected"}, "load", id="detected without a load"),
    pytest.param({"result": "detected", "load": 2400}, "load_unit", id="detected without the unit"),
    pytest.param({"result": "not_detected", "load": 2400, "load_unit": "copies_ml"}, "load",
                 id="not detected with a load"),
])
def test_a_viral_load_detected_has_a_load_and_unit_and_one_not_detected_has_none(coordinator, day0, result,
                                                                                  field):
    with pytest.raises(ValidationError) as refused:
        save_crf(ViralLoad(patient=day0), user=coordinator, complete=True, data={**VIRAL, **result})
    assert field in _errors(refused)


def test_a_viral_load_detected_is_stored_with_its_unit(coordinator, day0):
    load = tx.viral_load(coordinator, day0, 7, load=2400)
    stored = ViralLoad.objects.get(pk=load.pk)
    assert (stored.load, stored.load_unit, stored.day_post_transplant, stored.visit) == (2400, "copies_ml", 7, "VL01")


# ---- Death, off-study and the data cut-off close the dates (D14) -----------------------------------------
def test_a_death_dated_before_another_recorded_date_is_refused_naming_that_form(coordinator, day0):
    tx.follow_up(coordinator, day0, date(2020, 12, 15))
    with pytest.raises(ValidationError) as refused:
        treatment.death(coordinator, day0, date(2020, 12, 1))
    message = _errors(refused)["death_date"]
    assert "2020-12-01" in message and "2020-12-15" in message and "follow-up" in message
    assert not Death.objects.filter(patient=day0).exists()


@pytest.mark.parametrize(("stop", "stop_on"), [
    pytest.param(lambda user, patient, day: treatment.death(user, patient, day), "the patient's death", id="death"),
    pytest.param(lambda user, patient, day: tx.off_study(user, patient, day, reason="lost"),
                 "the patient went off study", id="off-study"),
])
def test_after_death_or_off_study_no_record_is_dated_later(coordinator, day0, stop, stop_on):
    stop(coordinator, day0, tx.on_day(100))
    with pytest.raises(ValidationError) as refused:
        tx.viral_load(coordinator, day0, 101)
    message = _errors(refused)["sample_date"]
    assert stop_on in message and "2020-09-24" in message and "2020-09-23" in message
    assert tx.viral_load(coordinator, day0, 99).visit.startswith("VL")  # before it: accepted
    assert tx.viral_load(coordinator, day0, 100, virus="ebv").pk  # on the day itself: accepted


def test_a_record_dated_after_the_data_cut_off_is_refused(coordinator, data_manager, day0):
    DataCutoff.objects.create(cutoff_date=tx.on_day(100), reason="Interim analysis", set_by=data_manager)
    with pytest.raises(ValidationError) as refused:
        tx.viral_load(coordinator, day0, 101)
    assert "after the study's data cut-off date (2020-09-23)" in _errors(refused)["sample_date"]
    assert tx.viral_load(coordinator, day0, 100).pk


def test_a_record_dated_after_a_later_set_cut_off_stays_correctable_but_not_re_dated(coordinator, data_manager,
                                                                                      day0):
    """Recorded data stay correctable with a reason; only a new or re-dated record is held to the cut-off."""
    load = tx.viral_load(coordinator, day0, 120, load=2400)
    DataCutoff.objects.create(cutoff_date=tx.on_day(100), reason="Interim analysis", set_by=data_manager)
    _correct(load, coordinator, preemptive_treatment="Y")
    assert ViralLoad.objects.get(pk=load.pk).preemptive_treatment == "Y"
    with pytest.raises(ValidationError) as refused:
        _correct(load, coordinator, sample_date=tx.on_day(121))
    assert "data cut-off" in _errors(refused)["sample_date"]


# ---- Relapse after transplant and follow-up --------------------------------------------------------------
@pytest.mark.parametrize(("day", "accepted"), [
    pytest.param(-3, False, id="day −3"),
    pytest.param(0, False, id="day 0"),
    pytest.param(1, True, id="day +1"),
])
def test_a_relapse_after_transplant_is_after_day_0(coordinator, day0, day, accepted):
    if accepted:
        relapse = tx.relapse_after(coordinator, day0, day)
        assert PostTransplantRelapse.objects.get(pk=relapse.pk).day_post_transplant == day
        return
    with pytest.raises(ValidationError) as refused:
        tx.relapse_after(coordinator, day0, day)
    assert "starts on day 1" in _errors(refused)["relapse_date"]


def test_a_follow_up_that_says_dead_needs_the_death_form(coordinator, day0):
    with pytest.raises(ValidationError) as refused:
        tx.follow_up(coordinator, day0, date(2020, 12, 1), vital_status="dead", disease_status="unknown")
    assert "Death form first" in _errors(refused)["vital_status"]
    treatment.death(coordinator, day0, date(2020, 12, 1))
    tx.follow_up(coordinator, day0, date(2020, 12, 1), vital_status="dead", disease_status="unknown")
    assert FollowUp.objects.get(patient=day0).vital_status == "dead"
