"""Treatment forms through the one save path, on real records: derivations, cross-form rules, review flags.

Dates follow tests.treatment_forms: eligible on 2020-03-12, cycle 1 from 2020-03-20 to 2020-04-16 (30 kg,
135 cm), its response on 2020-04-20, cycle 2 from 2020-05-01. The conftest patient is born 2012-05-03 (7 years
old during treatment, so ICANS is assessed with CAPD).
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from patients.models import Death
from tests import enrollment as build
from tests import treatment_forms as treatment
from treatment.models import AdverseEvent, BlinatumomabCycle, CrsAssessment, ResponseAssessment
from trial.crf import RECOMPUTED_REASON, save_crf

pytestmark = pytest.mark.django_db

DAY_1, DAY_2, DAY_3, DAY_4 = date(2020, 3, 21), date(2020, 3, 22), date(2020, 3, 23), date(2020, 3, 24)
BSA = 1.0607  # √(135 × 30 / 3600), Mosteller


@pytest.fixture(autouse=True)
def _english():
    """Messages in English here, so the assertions read like the code."""
    with translation.override("en"):
        yield


@pytest.fixture
def patient(coordinator, registration_a):
    """An eligible patient (born 2012-05-03), no treatment form yet."""
    build.enroll(coordinator, registration_a.patient)
    return registration_a.patient


@pytest.fixture
def on_cycle_1(coordinator, patient):
    """The eligible patient with cycle 1 entered (2020-03-20 to 2020-04-16)."""
    treatment.cycle(coordinator, patient, 1)
    return patient


@pytest.fixture
def responded(coordinator, on_cycle_1):
    """Cycle 1 and its response assessment (2020-04-20): cycle 2 may start."""
    treatment.response(coordinator, on_cycle_1)
    return on_cycle_1


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


def _correct(record, user, reason: str = "Corrected from the source document", **data):
    return save_crf(record, user=user, data=data, reason=reason, expected_version=record.version)


# ---- Blinatumomab cycle ----------------------------------------------------------------------------------
def test_cycle_stores_the_bsa_and_the_planned_doses(coordinator, patient):
    cycle = treatment.cycle(coordinator, patient, 1)
    stored = BlinatumomabCycle.objects.get(pk=cycle.pk)
    assert stored.bsa_m2 == pytest.approx(BSA, abs=5e-5)
    assert round(stored.planned_step_ug_day, 2) == 5.30
    assert round(stored.planned_full_ug_day, 2) == 15.91
    assert stored.planned_total_ug == pytest.approx(7 * 5 * stored.bsa_m2 + 21 * 15 * stored.bsa_m2)
    assert (stored.fixed_dose, stored.dose_deviation, stored.rules_version) == (False, False, "TRT-2")


@pytest.mark.parametrize("weight", [pytest.param(Decimal("45.0"), id="exactly 45 kg"),
                                    pytest.param(Decimal("62.5"), id="62.5 kg")])
def test_from_45_kg_the_cycle_gets_the_fixed_doses(coordinator, patient, weight):
    cycle = treatment.cycle(coordinator, patient, 1, weight_kg=weight, height_cm=Decimal("160.0"),
                            prescribed_step_ug_day=Decimal("9.0"), prescribed_full_ug_day=Decimal("28.0"))
    assert (cycle.fixed_dose, cycle.planned_step_ug_day, cycle.planned_full_ug_day) == (True, 9.0, 28.0)
    assert cycle.planned_total_ug == pytest.approx(651.0)
    assert cycle.dose_deviation is False


def test_cycle_2_has_no_step_dose(coordinator, responded):
    cycle = treatment.cycle(coordinator, responded, 2)
    bsa = (Decimal("135.5") * Decimal("30.5") / 3600) ** Decimal("0.5")
    assert cycle.planned_step_ug_day is None and cycle.step_deviation_pct is None
    assert cycle.planned_full_ug_day == pytest.approx(float(15 * bsa))
    assert cycle.planned_total_ug == pytest.approx(28 * cycle.planned_full_ug_day)


def test_cycle_2_refuses_a_step_dose(coordinator, responded):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, responded, 2, prescribed_step_ug_day=Decimal("5.3"))
    assert refused.value.message_dict["prescribed_step_ug_day"] == [
        "Cycle 2 has no step dose: it is 28 days at the full dose. Clear this field."]
    assert not BlinatumomabCycle.objects.filter(patient=responded, cycle_number=2).exists()


@pytest.mark.parametrize(("changes", "wording"), [
    pytest.param({"prescribed_full_ug_day": Decimal("17.6")},
                 "Prescribed 17.6 µg/day for days 8–28 is +10.6 % from the planned 15.9 µg/day (more than 10 %).",
                 id="full dose +10.6 %"),
    pytest.param({"prescribed_step_ug_day": Decimal("4.7")},
                 "Prescribed 4.7 µg/day for days 1–7 is -11.4 % from the planned 5.3 µg/day (more than 10 %).",
                 id="step dose -11.4 %"),
])
def test_a_dose_more_than_10_percent_off_needs_a_reason(coordinator, patient, changes, wording):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, patient, 1, **changes)
    assert refused.value.message_dict["deviation_reason"] == [f"{wording} Give the reason for the deviation."]
    assert not BlinatumomabCycle.objects.filter(patient=patient).exists()
    cycle = treatment.cycle(coordinator, patient, 1, deviation_reason="Pharmacy rounded the bag", **changes)
    assert cycle.dose_deviation is True


@pytest.mark.parametrize(("step", "full"), [
    pytest.param(Decimal("9.9"), Decimal("30.8"), id="+10 % exactly"),
    pytest.param(Decimal("8.1"), Decimal("25.2"), id="-10 % exactly"),
])
def test_exactly_10_percent_off_is_not_a_deviation(coordinator, patient, step, full):
    cycle = treatment.cycle(coordinator, patient, 1, weight_kg=Decimal("50.0"), height_cm=Decimal("160.0"),
                            prescribed_step_ug_day=step, prescribed_full_ug_day=full)  # planned 9 → 28 µg/day
    assert abs(cycle.step_deviation_pct) == pytest.approx(10) and abs(cycle.full_deviation_pct) == pytest.approx(10)
    assert cycle.dose_deviation is False and cycle.deviation_reason == ""


def test_a_third_cycle_is_impossible(coordinator, responded):
    treatment.cycle(coordinator, responded, 2)
    treatment.response(coordinator, responded, cycle_number=2, assessment_date=date(2020, 5, 29))
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, responded, 2, cycle_number=3, start_date=date(2020, 6, 15),
                        end_date=date(2020, 7, 12))
    assert "Value 3 is not a valid choice." in refused.value.message_dict["cycle_number"]
    assert BlinatumomabCycle.objects.filter(patient=responded).count() == 2


def test_a_cycle_number_cannot_be_entered_twice(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, on_cycle_1, 1, start_date=date(2020, 5, 1), end_date=date(2020, 5, 28))
    assert refused.value.message_dict["cycle_number"] == ["This patient already has cycle 1."]
    assert BlinatumomabCycle.objects.filter(patient=on_cycle_1).count() == 1


def test_cycle_2_needs_the_cycle_1_response_assessment_first(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, on_cycle_1, 2)
    assert refused.value.message_dict["start_date"] == [
        "Cycle 2 can start only after the cycle-1 response assessment; enter that first (its date on or before "
        "2020-05-01)."]
    treatment.response(coordinator, on_cycle_1)
    assert treatment.cycle(coordinator, on_cycle_1, 2).cycle_number == 2


def test_cycle_2_cannot_start_before_cycle_1_ended(coordinator, responded):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, responded, 2, start_date=date(2020, 4, 16), end_date=date(2020, 5, 13))
    assert refused.value.message_dict["start_date"] == [
        "Start date: 2020-04-16 is not after the end of cycle 1 (2020-04-16, the end date on the cycle-1 form)."]


def test_no_cycle_before_consent(coordinator, registration_a):
    with pytest.raises(ValidationError, match="Record the consent first"):
        treatment.cycle(coordinator, registration_a.patient, 1)
    assert not BlinatumomabCycle.objects.exists()


def test_no_cycle_for_a_screen_failure(coordinator, registration_a):
    build.enroll(coordinator, registration_a.patient, performance_score=80)  # Lansky 80: not > 80
    with pytest.raises(ValidationError, match="Screen failure .* no treatment forms can be entered"):
        treatment.cycle(coordinator, registration_a.patient, 1)
    assert not BlinatumomabCycle.objects.exists()


def test_early_discontinuation_needs_a_reason_and_an_end_date(coordinator, patient):
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, patient, 1, discontinued_early="Y", end_date=None, days_infused=None)
    assert refused.value.message_dict["discontinuation_reason"] == ["Give the reason for the early discontinuation."]
    assert refused.value.message_dict["end_date"] == ["Give the last day of infusion of the discontinued cycle."]
    cycle = treatment.cycle(coordinator, patient, 1, discontinued_early="Y", discontinuation_reason="crs",
                            end_date=date(2020, 3, 25), days_infused=6)
    assert cycle.discontinuation_reason == "crs"


@pytest.mark.parametrize(("days", "accepted"), [
    pytest.param(22, True, id="22 of 22 calendar days"),
    pytest.param(23, False, id="23 of 22 calendar days"),
])
def test_days_infused_cannot_exceed_the_calendar_days(coordinator, patient, days, accepted):
    changes = {"end_date": date(2020, 4, 10), "days_infused": days}  # 2020-03-20 to 2020-04-10: 22 days
    if accepted:
        assert treatment.cycle(coordinator, patient, 1, **changes).days_infused == days
        return
    with pytest.raises(ValidationError) as refused:
        treatment.cycle(coordinator, patient, 1, **changes)
    assert refused.value.message_dict["days_infused"] == [
        "Days infused: 23 is more than the 22 days from the start to the end date."]


# ---- CRS assessment (ASTCT 2019) -------------------------------------------------------------------------
CRS_DAYS = [
    pytest.param({"max_temperature_c": Decimal("37.9")}, 0, id="37.9 °C: no fever, grade 0"),
    pytest.param({"max_temperature_c": Decimal("38.0")}, 1, id="38.0 °C: fever, grade 1"),
    pytest.param({"max_temperature_c": Decimal("38.5"), "hypotension": "fluids"}, 2, id="fluids: grade 2"),
    pytest.param({"max_temperature_c": Decimal("38.5"), "hypotension": "vasopressors", "vasopressors": 1}, 3,
                 id="one vasopressor: grade 3"),
    pytest.param({"max_temperature_c": Decimal("38.5"), "hypotension": "vasopressors", "vasopressin": "Y"}, 3,
                 id="vasopressin alone: grade 3"),
    pytest.param({"max_temperature_c": Decimal("38.5"), "oxygen_device": "nasal_cannula",
                  "oxygen_flow_l_min": Decimal("6.1")}, 3, id="nasal cannula 6.1 L/min: grade 3"),
    pytest.param({"max_temperature_c": Decimal("38.5"), "oxygen_device": "cpap_bipap"}, 4, id="CPAP: grade 4"),
]


@pytest.mark.parametrize(("signs", "grade"), CRS_DAYS)
def test_crs_grade_per_day_from_the_raw_signs(coordinator, on_cycle_1, signs, grade):
    crs = treatment.crs(coordinator, on_cycle_1, DAY_1, **signs)
    assert CrsAssessment.objects.get(pk=crs.pk).crs_grade == grade
    assert crs.cycle_number == 1


MASKED = {"max_temperature_c": Decimal("37.2"), "tocilizumab": "Y", "hypotension": "vasopressors", "vasopressors": 1}


def test_after_a_crs_day_an_afebrile_day_on_tocilizumab_with_a_vasopressor_is_grade_3(coordinator, on_cycle_1):
    treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1)
    masked = treatment.crs(coordinator, on_cycle_1, DAY_2, **MASKED)
    assert (masked.crs_ongoing, masked.fever_counted, masked.crs_grade) == (True, False, 3)


def test_the_same_afebrile_day_without_a_crs_day_before_is_grade_0(coordinator, on_cycle_1):
    alone = treatment.crs(coordinator, on_cycle_1, DAY_2, **MASKED)
    assert (alone.crs_ongoing, alone.crs_grade, alone.episode_start) == (False, 0, None)


def test_correcting_the_earlier_day_to_grade_0_re_derives_the_later_day(coordinator, on_cycle_1):
    first = treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1)
    masked = treatment.crs(coordinator, on_cycle_1, DAY_2, **MASKED)
    _correct(first, coordinator, max_temperature_c=Decimal("37.0"), reason="Temperature was 37.0 °C")
    later = CrsAssessment.objects.get(pk=masked.pk)
    assert (later.crs_ongoing, later.crs_grade, later.version) == (False, 0, masked.version + 1)
    last = later.history.order_by("-history_id").first()
    assert last.history_change_reason == RECOMPUTED_REASON
    assert RECOMPUTED_REASON == "Recomputed after a change to another form of this patient"
    assert (last.crs_grade, last.history_user) == (0, coordinator)


@pytest.mark.parametrize(("signs", "grade"), [
    pytest.param({}, 1, id="date only: a new episode starts on 2020-03-23"),
    pytest.param(MASKED, 0, id="date and masked signs: no CRS before it, grade 0"),
])
def test_moving_a_crs_day_after_the_day_it_graded_re_derives_both(coordinator, on_cycle_1, signs, grade):
    first = treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1)
    treatment.crs(coordinator, on_cycle_1, DAY_2, **MASKED)  # grade 3 only because DAY_1 was CRS
    _correct(first, coordinator, assessment_date=DAY_3, **signs)
    stored = list(CrsAssessment.objects.filter(patient=on_cycle_1).order_by("assessment_date")
                  .values_list("assessment_date", "crs_grade", "crs_ongoing", "episode_start"))
    assert stored == [(DAY_2, 0, False, None), (DAY_3, grade, False, DAY_3 if grade else None)]


def test_the_fever_mask_lasts_the_episode_and_follows_a_correction_of_an_earlier_day(coordinator, on_cycle_1):
    """CLINICAL-RULES 1.2: tocilizumab on day 1 masks the fever on the afebrile days after it, until a day graded 0
    ends the episode. Correcting day 1 (no tocilizumab after all) re-grades the later days, each audited."""
    days = [date(2020, 3, 21) + timedelta(days=d) for d in range(5)]
    first = treatment.crs(coordinator, on_cycle_1, days[0], max_temperature_c=Decimal("39.2"), tocilizumab="Y")
    afebrile = {"max_temperature_c": Decimal("37.0")}
    treatment.crs(coordinator, on_cycle_1, days[1], **afebrile, hypotension="vasopressors", vasopressors=1,
                  vasopressin="Y")
    treatment.crs(coordinator, on_cycle_1, days[2], **afebrile, oxygen_device="nasal_cannula",
                  oxygen_flow_l_min=Decimal("2"))
    treatment.crs(coordinator, on_cycle_1, days[3], **afebrile)
    treatment.crs(coordinator, on_cycle_1, days[4], **afebrile, oxygen_device="nasal_cannula",
                  oxygen_flow_l_min=Decimal("2"))

    def grades():
        return list(CrsAssessment.objects.filter(patient=on_cycle_1).order_by("assessment_date")
                    .values_list("crs_grade", "episode_treated"))

    assert grades() == [(1, True), (3, True), (2, True), (0, False), (0, False)]
    _correct(first, coordinator, tocilizumab="N", reason="Tocilizumab was prescribed, not given")
    assert grades() == [(1, False), (0, False), (0, False), (0, False), (0, False)]
    day_2 = CrsAssessment.objects.get(patient=on_cycle_1, assessment_date=days[1])
    assert day_2.history.order_by("-history_id").first().history_change_reason == RECOMPUTED_REASON


def _statements(work) -> int:
    """SQL statements sent by `work()`; a batch sent with executemany counts one per row."""
    sent = 0

    def count(execute, sql, params, many, context):
        nonlocal sent
        sent += len(params) if many else 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        work()
    return sent


def test_correcting_day_1_re_grades_a_long_series_in_one_pass_with_an_audit_record_per_day(coordinator, patient):
    """Day 1 febrile opens the episode; later days afebrile under antipyretics with hypotension on fluids are grade
    2 only while it lasts. Correcting day 1 re-grades all of them, each with its own audit record, at about one
    statement per re-derived day (their reads are shared by the pass)."""
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1, end_date=date(2020, 4, 30))
    first = treatment.crs(coordinator, patient, date(2020, 3, 20), max_temperature_c=Decimal("38.6"))
    later = {"max_temperature_c": Decimal("37.0"), "antipyretics": "Y", "hypotension": "fluids"}
    for d in range(1, 20):
        treatment.crs(coordinator, patient, date(2020, 3, 20) + timedelta(days=d), **later)
    series = CrsAssessment.objects.filter(patient=patient).order_by("assessment_date")
    assert [r.crs_grade for r in series] == [1] + [2] * 19
    versions = {r.pk: r.version for r in series}

    last = series.last()
    unchanged = _statements(lambda: _correct(last, coordinator, oxygen_device="none", vasopressin="N",
                                             reason="Re-read", corticosteroids="Y"))
    regraded = _statements(lambda: _correct(first, coordinator, max_temperature_c=Decimal("37.0"),
                                            reason="Temperature was 37.0 °C"))
    series = list(CrsAssessment.objects.filter(patient=patient).order_by("assessment_date"))
    assert [r.crs_grade for r in series] == [0] * 20
    assert all(r.episode_start is None and r.crs_ongoing is False for r in series)
    for record in series[1:]:
        assert record.version == versions[record.pk] + (2 if record.pk == last.pk else 1)
        audit = record.history.order_by("-history_id").first()
        assert (audit.history_change_reason, audit.history_user, audit.crs_grade, audit.version) == (
            RECOMPUTED_REASON, coordinator, 0, record.version)
    assert (regraded - unchanged) / 19 <= 1.5, (regraded, unchanged)


def test_one_crs_assessment_per_day(coordinator, on_cycle_1):
    treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1)
    with pytest.raises(ValidationError) as refused:
        treatment.crs(coordinator, on_cycle_1, DAY_1, grade=2)
    assert refused.value.message_dict["assessment_date"] == [
        "This patient already has a CRS assessment on 2020-03-21; correct that one instead."]
    assert CrsAssessment.objects.filter(patient=on_cycle_1).count() == 1


def test_a_crs_date_before_cycle_1_is_refused(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.crs(coordinator, on_cycle_1, date(2020, 3, 19), grade=1)
    assert refused.value.message_dict["assessment_date"] == ["Date: 2020-03-19 is before cycle 1 started (2020-03-20)."]


def test_crs_episode_starts_on_the_first_graded_day_and_ends_on_the_first_grade_0_day(coordinator, on_cycle_1):
    days = [(DAY_1, 1), (DAY_2, 2), (DAY_3, 0), (DAY_4, 1)]
    for day, grade in days:
        treatment.crs(coordinator, on_cycle_1, day, grade=grade)
    stored = list(CrsAssessment.objects.filter(patient=on_cycle_1).order_by("assessment_date")
                  .values_list("assessment_date", "crs_grade", "episode_start"))
    assert stored == [(DAY_1, 1, DAY_1), (DAY_2, 2, DAY_1), (DAY_3, 0, None), (DAY_4, 1, DAY_4)]


def test_a_nasal_cannula_needs_its_flow(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.crs(coordinator, on_cycle_1, DAY_1, max_temperature_c=Decimal("38.5"), oxygen_device="nasal_cannula")
    assert refused.value.message_dict["oxygen_flow_l_min"] == [
        "Give the nasal cannula flow: up to 6 L/min is low flow, above is high flow."]


@pytest.mark.parametrize("pressor", [pytest.param({"vasopressors": 1}, id="one vasopressor"),
                                     pytest.param({"vasopressin": "Y"}, id="vasopressin")])
def test_vasopressors_with_no_hypotension_are_refused(coordinator, on_cycle_1, pressor):
    with pytest.raises(ValidationError) as refused:
        treatment.crs(coordinator, on_cycle_1, DAY_1, max_temperature_c=Decimal("38.5"), hypotension="none",
                      **pressor)
    assert refused.value.message_dict["hypotension"] == [
        "Vasopressors are recorded: set hypotension to “Needs vasopressors”."]


@pytest.mark.parametrize(("form", "build_day", "label"), [
    pytest.param("crs", lambda user, patient: treatment.crs(user, patient, DAY_2, grade=4, death_due_to_crs="Y"),
                 "CRS assessment", id="died of CRS"),
    pytest.param("icans", lambda user, patient: treatment.icans(user, patient, DAY_2, death_due_to_icans="Y"),
                 "ICANS assessment", id="died of ICANS"),
])
def test_moving_the_death_date_away_from_a_died_of_day_is_refused(coordinator, on_cycle_1, form, build_day, label):
    death = treatment.death(coordinator, on_cycle_1, DAY_2)
    day = build_day(coordinator, on_cycle_1)
    assert day.death_due_to_crs == "Y" if form == "crs" else day.icans_grade == 5
    with pytest.raises(ValidationError, match=f"would make the {label} form invalid"):
        _correct(death, coordinator, death_date=DAY_3)
    assert Death.objects.get(pk=death.pk).death_date == DAY_2


# ---- ICANS assessment ------------------------------------------------------------------------------------
ICE_NORMAL = {"ice_orientation": 4, "ice_naming": 3, "ice_commands": 1, "ice_writing": 1, "ice_attention": 1}
NO_CAPD = {f"capd_{n}": None for n in range(1, 9)}


@pytest.mark.parametrize(("born", "items", "tool", "age"), [
    pytest.param(date(2012, 5, 3), {}, "CAPD", 7, id="7 years: CAPD"),
    pytest.param(date(2008, 3, 20), {**NO_CAPD, **ICE_NORMAL}, "ICE", 12, id="12th birthday: ICE"),
])
def test_the_icans_tool_follows_the_age_on_the_assessment_date(coordinator, register, site_a, born, items, tool,
                                                               age):
    patient = register(coordinator, site_a, date_of_birth=born).patient
    build.enroll(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    icans = treatment.icans(coordinator, patient, date(2020, 3, 20), **items)
    assert (icans.tool, icans.age_years, icans.score, icans.icans_grade) == (tool, age, 10 if tool == "ICE" else 0, 0)


def test_an_empty_capd_item_is_refused_naming_capd(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.icans(coordinator, on_cycle_1, DAY_1, capd_3=None)
    assert refused.value.message_dict["capd_3"] == [
        "Answer this CAPD item (the patient is 7 years old on 2020-03-21: assessed with CAPD)."]


def test_ice_items_are_refused_for_a_capd_patient(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.icans(coordinator, on_cycle_1, DAY_1, ice_orientation=4)
    assert refused.value.message_dict["ice_orientation"] == [
        "Clear this item (the patient is 7 years old on 2020-03-21: assessed with CAPD)."]


def test_unable_to_perform_is_grade_4(coordinator, on_cycle_1):
    icans = treatment.icans(coordinator, on_cycle_1, DAY_1, unable_to_perform="Y", **NO_CAPD)
    assert (icans.tool, icans.score, icans.icans_grade) == ("CAPD", None, 4)


def test_a_seizure_that_resolves_rapidly_is_grade_3(coordinator, on_cycle_1):
    icans = treatment.icans(coordinator, on_cycle_1, DAY_1, seizure=3)
    assert (icans.score, icans.icans_grade) == (0, 3)


def test_a_later_capd_assessment_shows_the_baseline_capd_score(coordinator, on_cycle_1):
    baseline = treatment.icans(coordinator, on_cycle_1, date(2020, 3, 20), baseline="Y", capd_5=2, capd_8=1)
    later = treatment.icans(coordinator, on_cycle_1, DAY_2, capd_5=3, capd_1=3)
    assert (baseline.score, baseline.baseline_capd_score) == (3, None)
    assert (later.score, later.baseline_capd_score, later.icans_grade) == (4, 3, 1)


# ---- Adverse event (CTCAE v5.0) --------------------------------------------------------------------------
SAE = {"serious": "Y", "seriousness": "hospitalization", "aware_at": treatment.aware(2020, 3, 25, 10)}
FATAL = {"grade": 5, "serious": "Y", "seriousness": "death", "aware_at": treatment.aware(2020, 3, 30, 10),
         "resolution_date": date(2020, 3, 30), "outcome": "fatal"}


def test_the_ctcae_term_is_stored_with_its_meddra_code_and_organ_class(coordinator, on_cycle_1):
    event = treatment.adverse_event(coordinator, on_cycle_1)  # Febrile neutropenia, grade 3, 2020-03-25
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert (stored.term.term, stored.meddra_code, stored.soc) == (
        "Febrile neutropenia", 10016288, "Blood and lymphatic system disorders")
    assert stored.cycle_number == 1


def test_febrile_neutropenia_has_no_grade_2(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.adverse_event(coordinator, on_cycle_1, grade=2)
    assert refused.value.message_dict["grade"] == [
        "CTCAE v5.0 has no grade 2 for “Febrile neutropenia”; its grades are 3, 4, 5."]


def test_an_other_specify_term_needs_the_event_named(coordinator, on_cycle_1):
    other = 10005329  # Blood and lymphatic system disorders - Other, specify
    with pytest.raises(ValidationError) as refused:
        treatment.adverse_event(coordinator, on_cycle_1, term=other, grade=2)
    assert refused.value.message_dict["term_detail"] == [
        "“Blood and lymphatic system disorders - Other, specify” needs the event named here."]
    event = treatment.adverse_event(coordinator, on_cycle_1, term=other, grade=2,
                                    term_detail="  Hypogammaglobulinemia ")
    assert (event.term_detail, event.meddra_code) == ("Hypogammaglobulinemia", other)


def test_grade_5_needs_the_death_form(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.adverse_event(coordinator, on_cycle_1, **FATAL)
    assert refused.value.message_dict["grade"] == ["Grade 5 needs the patient's Death form: enter it first."]
    assert not AdverseEvent.objects.exists()


def test_grade_5_with_a_death_on_the_resolution_date_is_accepted(coordinator, on_cycle_1):
    treatment.death(coordinator, on_cycle_1, date(2020, 3, 30))
    event = treatment.adverse_event(coordinator, on_cycle_1, **FATAL)
    assert (event.grade, event.death_date, event.outcome) == (5, date(2020, 3, 30), "fatal")


def test_moving_the_death_date_is_refused_while_a_grade_5_event_names_it(coordinator, on_cycle_1):
    death = treatment.death(coordinator, on_cycle_1, date(2020, 3, 30))
    event = treatment.adverse_event(coordinator, on_cycle_1, **FATAL)
    with pytest.raises(ValidationError) as refused:
        _correct(death, coordinator, death_date=date(2020, 3, 31))
    assert "This change would make the adverse event form invalid:" in _messages(refused.value)
    assert "the date of death on the Death form (2020-03-31)" in _messages(refused.value)
    assert (Death.objects.get(pk=death.pk).death_date, Death.objects.get(pk=death.pk).version) == (
        date(2020, 3, 30), death.version)
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert (stored.death_date, stored.version) == (date(2020, 3, 30), event.version)


def test_a_serious_event_needs_the_awareness_time_and_a_criterion(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.adverse_event(coordinator, on_cycle_1, serious="Y")
    assert refused.value.message_dict["seriousness"] == ["Give the seriousness criterion of this serious event."]
    assert refused.value.message_dict["aware_at"] == ["Give when the site became aware of this serious event."]


def test_a_serious_event_entered_more_than_24_hours_after_awareness_is_flagged(coordinator, on_cycle_1):
    event = treatment.adverse_event(coordinator, on_cycle_1, **SAE)  # aware in 2020, entered today
    assert AdverseEvent.objects.get(pk=event.pk).entered_late is True
    flags = event.review_flags()
    assert [f.field for f in flags] == ["aware_at"]
    assert re.fullmatch(r"Serious event entered [\d,]+ (hours|days) after the site became aware \(limit 24 hours\)\.",
                        flags[0].message), flags[0].message
    assert AdverseEvent.objects.filter(AdverseEvent.review_filter()).get() == event


def test_a_serious_event_transcribed_retrospectively_is_not_flagged_as_entered_late(coordinator, on_cycle_1):
    """Item 6: reported on paper in time, copied in from source later: recorded as such, not "entered late"."""
    event = treatment.adverse_event(coordinator, on_cycle_1, **SAE, transcribed_retrospectively="Y")
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert (stored.entered_late, stored.review_flags()) == (None, [])
    assert not AdverseEvent.objects.filter(AdverseEvent.review_filter()).exists()
    assert stored.crf_summary().endswith("· serious · transcribed retrospectively")
    save_crf(stored, user=coordinator, data={"transcribed_retrospectively": "N"}, reason="Entered from the bedside",
             expected_version=stored.version)
    assert AdverseEvent.objects.get(pk=event.pk).entered_late is True  # then the 24-hour rule applies again


@pytest.mark.parametrize(("before_entry", "late"), [
    pytest.param(timedelta(hours=24), False, id="exactly 24 h: on time"),
    pytest.param(timedelta(hours=24, seconds=1), True, id="24 h and 1 s: late"),
])
def test_the_24_hour_clock_runs_from_awareness_to_entry(coordinator, on_cycle_1, before_entry, late):
    today = timezone.localdate()
    event = treatment.adverse_event(coordinator, on_cycle_1, **{**SAE, "aware_at": timezone.now() - timedelta(hours=1)},
                                    onset_date=today - timedelta(days=3), resolution_date=None, outcome="recovering")
    assert event.entered_late is False and event.review_flags() == []
    _correct(event, coordinator, aware_at=event.created_at - before_entry)
    stored = AdverseEvent.objects.get(pk=event.pk)
    assert stored.entered_late is late
    assert AdverseEvent.objects.filter(AdverseEvent.review_filter()).exists() is late


def test_a_fatal_outcome_needs_grade_5(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.adverse_event(coordinator, on_cycle_1, outcome="fatal")
    assert refused.value.message_dict["outcome"] == ["A fatal outcome is grade 5: correct the grade or the outcome."]


# ---- Response assessment (D5) ----------------------------------------------------------------------------
@pytest.mark.parametrize(("changes", "response", "standard", "negative"), [
    pytest.param({"mrd_pct": Decimal("0.0100")}, "PR", "CR_MRD_POS", False, id="MRD exactly 0.0100 %: PR"),
    pytest.param({"mrd_pct": Decimal("0.0099")}, "CR", "CR_MRD_NEG", True, id="MRD 0.0099 %: CR"),
    pytest.param({"mrd_result": "not_detected", "mrd_pct": None, "mrd_lod_pct": Decimal("0.1")}, "NE", "NE", None,
                 id="not detected, LOD 0.1 %: not evaluable"),
    pytest.param({"marrow_blasts_pct": Decimal("5.0")}, "NR", "NR", True, id="blasts 5.0 %: NR"),
    pytest.param({"extramedullary_disease": "Y"}, "NR", "NR", True, id="extramedullary disease: NR"),
])
def test_the_response_is_derived_from_marrow_and_mrd(coordinator, on_cycle_1, changes, response, standard, negative):
    assessment = treatment.response(coordinator, on_cycle_1, **changes)
    stored = ResponseAssessment.objects.get(pk=assessment.pk)
    assert (stored.response, stored.standard_response, stored.mrd_negative) == (response, standard, negative)


def test_one_response_per_cycle(coordinator, responded):
    with pytest.raises(ValidationError) as refused:
        treatment.response(coordinator, responded, assessment_date=date(2020, 4, 22))
    assert refused.value.message_dict["cycle_number"] == [
        "The response after cycle 1 is already entered; correct that form instead."]
    assert ResponseAssessment.objects.filter(patient=responded).count() == 1


@pytest.mark.parametrize(("day", "accepted"), [
    pytest.param(date(2020, 3, 20), False, id="on the cycle start"),
    pytest.param(date(2020, 4, 15), False, id="the day before the last infusion day"),
    pytest.param(date(2020, 4, 16), True, id="on the last infusion day"),
    pytest.param(date(2020, 4, 17), True, id="the day after"),
])
def test_the_response_after_a_cycle_is_not_dated_before_its_last_infusion_day(coordinator, on_cycle_1, day,
                                                                               accepted):
    """Cycle 1 runs from 2020-03-20 to 2020-04-16 (its end date): the refusal names both dates and where the
    cycle's came from."""
    if accepted:
        assert treatment.response(coordinator, on_cycle_1, assessment_date=day).assessment_date == day
        return
    with pytest.raises(ValidationError) as refused:
        treatment.response(coordinator, on_cycle_1, assessment_date=day)
    assert refused.value.message_dict["assessment_date"] == [
        f"Bone-marrow aspirate date: {day.isoformat()} is before the last infusion day of cycle 1 (2020-04-16, the "
        "end date on the cycle form)."]


def test_no_response_after_a_cycle_that_has_not_ended(coordinator, patient):
    treatment.cycle(coordinator, patient, 1, end_date=None, days_infused=None)
    with pytest.raises(ValidationError) as refused:
        treatment.response(coordinator, patient, assessment_date=date(2020, 4, 20))
    assert refused.value.message_dict["assessment_date"] == [
        "The response after cycle 1 is assessed once the cycle has ended, but cycle 1 (started 2020-03-20) has no "
        "end date yet: enter its last infusion day on the cycle form first."]


# ---- Typed vs derived (Crf.crf_reported) -----------------------------------------------------------------
def test_a_reported_crs_grade_that_contradicts_the_derived_one_needs_confirmation(coordinator, on_cycle_1):
    with pytest.raises(ValidationError) as refused:
        treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1, reported_grade=2)
    [message] = refused.value.message_dict["reported_grade"]
    assert message.startswith("You entered Grade 2, but the recorded findings give Grade 1, which is what is stored.")
    assert not CrsAssessment.objects.exists()


def test_a_confirmed_crs_disagreement_stores_the_derived_grade_beside_the_reported_one(coordinator, on_cycle_1):
    crs = treatment.crs(coordinator, on_cycle_1, DAY_1, grade=1, reported_grade=2, disagreement_confirmed=True)
    stored = CrsAssessment.objects.get(pk=crs.pk)
    assert (stored.crs_grade, stored.reported_grade) == (1, 2)
    [flag] = stored.review_flags()
    assert (flag.field, flag.message) == ("reported_grade", "Reported Grade 2; computed from the recorded findings: "
                                                            "Grade 1. The computed value is the one stored.")
    assert list(CrsAssessment.objects.filter(CrsAssessment.review_filter())) == [stored]


def test_a_reported_response_that_contradicts_the_derived_one_needs_confirmation(coordinator, on_cycle_1):
    partial = {"mrd_pct": Decimal("0.0500")}
    with pytest.raises(ValidationError) as refused:
        treatment.response(coordinator, on_cycle_1, reported_response="CR", **partial)
    [message] = refused.value.message_dict["reported_response"]
    assert message.startswith("You entered CR: complete remission, MRD < 0.01 %, but the recorded findings give PR: "
                              "blasts < 5 %, MRD ≥ 0.01 %, which is what is stored.")
    confirmed = treatment.response(coordinator, on_cycle_1, reported_response="CR", disagreement_confirmed=True,
                                   **partial)
    stored = ResponseAssessment.objects.get(pk=confirmed.pk)
    assert (stored.response, stored.reported_response) == ("PR", "CR")
    assert [f.field for f in stored.review_flags()] == ["reported_response"]
    assert list(ResponseAssessment.objects.filter(ResponseAssessment.review_filter())) == [stored]


@pytest.mark.parametrize("form", ["crs", "response"])
def test_a_reported_value_equal_to_the_derived_one_needs_no_confirmation(coordinator, on_cycle_1, form):
    if form == "crs":
        record = treatment.crs(coordinator, on_cycle_1, DAY_1, grade=2, reported_grade=2)
        assert (record.crs_grade, record.reported_grade) == (2, 2)
    else:
        record = treatment.response(coordinator, on_cycle_1, reported_response="CR")
        assert (record.response, record.reported_response) == ("CR", "CR")
    assert record.disagreement_confirmed is False and record.review_flags() == []
    assert not type(record).objects.filter(type(record).review_filter()).exists()


# ---- Intrathecal therapy (D12: 14 ± 7 days after the cycle's end) ----------------------------------------
@pytest.mark.parametrize(("days", "inside"), [
    pytest.param(6, False, id="6 days after"), pytest.param(7, True, id="7 days after"),
    pytest.param(21, True, id="21 days after"), pytest.param(22, False, id="22 days after"),
])
def test_intrathecal_therapy_is_expected_7_to_21_days_after_the_cycle_end(coordinator, on_cycle_1, days, inside):
    given = treatment.intrathecal(coordinator, on_cycle_1, administration_date=date(2020, 4, 16) + timedelta(days))
    stored = type(given).objects.get(pk=given.pk)
    assert (stored.days_after_cycle_end, stored.within_window) == (days, inside)
    expected = [] if inside else [("administration_date",
                                   f"Given {days} days after the end of cycle 1; expected 7 to 21 days after it.")]
    assert [(f.field, f.message) for f in stored.review_flags()] == expected
    assert type(given).objects.filter(type(given).review_filter()).exists() is not inside


def test_a_prescribed_dose_is_kept_as_the_pharmacy_writes_it(api_client, coordinator, patient):
    """D11: 6.75 µg/day is accepted and kept exactly, compared with the planned dose unrounded, shown to 0.1 µg.
    A 9 kg, 81 cm child has a BSA of exactly 0.45 m²: planned 2.25 (days 1–7) and 6.75 µg/day (days 8–28)."""
    data = {**treatment.CYCLES[1], "weight_kg": "9.0", "height_cm": "81.0", "prescribed_step_ug_day": "2.25",
            "prescribed_full_ug_day": "6.75", "patient": patient.subject_id, "complete": True}
    data = {k: v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, Decimal) else v
            for k, v in data.items()}
    response = api_client(coordinator).post(reverse("crf-blinatumomabcycle-list"), data, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["prescribed_step_ug_day"], response.json()["prescribed_full_ug_day"]) == ("2.25", "6.75")
    stored = BlinatumomabCycle.objects.get(patient=patient, cycle_number=1)
    assert (stored.prescribed_step_ug_day, stored.prescribed_full_ug_day) == (Decimal("2.25"), Decimal("6.75"))
    assert stored.step_deviation_pct == pytest.approx(0, abs=1e-9)
    assert stored.full_deviation_pct == pytest.approx(0, abs=1e-9)
    assert stored.dose_deviation is False
    with translation.override("en"):
        shown = BlinatumomabCycle.display_value("planned_step_ug_day", stored.planned_step_ug_day)
    assert re.fullmatch(r"2\.[23] µg/day", shown)  # to 0.1 µg (2.25 as a float may round either way)


def test_an_interruption_carries_the_dose_at_restart(coordinator, on_cycle_1):
    """Item 7: the dose the infusion restarted at is asked once it restarted, shown and in the API."""
    from treatment.models import InfusionInterruption

    data = {"cycle_number": 1, "start_date": date(2020, 3, 26), "end_date": date(2020, 3, 27),
            "interruption_reason": "crs"}
    with pytest.raises(ValidationError) as refused:
        save_crf(InfusionInterruption(patient=on_cycle_1), user=coordinator, data=data, complete=True)
    assert "restart_dose_ug_day" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        save_crf(InfusionInterruption(patient=on_cycle_1), user=coordinator, complete=True,
                 data={**data, "end_date": None, "restart_dose_ug_day": Decimal("15.9")})
    assert refused.value.message_dict["restart_dose_ug_day"] == [
        "The infusion has no restart date: give the date it restarted, or clear the dose at restart."]
    saved = save_crf(InfusionInterruption(patient=on_cycle_1), user=coordinator, complete=True,
                     data={**data, "restart_dose_ug_day": Decimal("15.95")})
    assert saved.restart_dose_ug_day == Decimal("15.95")
    assert saved.crf_summary() == (
        "Cycle 1 · 2020-03-26 · Cytokine release syndrome · restarted 2020-03-27 at 16.0 µg/day")
