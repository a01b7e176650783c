"""Data-quality rules of the treatment forms (TRT-…): a clean casebook raises nothing, each planted error its rule.

Dates follow tests.treatment_forms: eligible on 2020-03-12, debulking 2020-03-13 to 03-17, cycle 1 from 2020-03-20
to 2020-04-16 (30 kg, 135 cm: planned 5.3 then 15.9 µg/day), its response on 2020-04-20 and intrathecal therapy on
2020-04-30; cycle 2 from 2020-05-01 to 2020-05-28. Judged as of a day just after the data, so that nothing
scheduled later is overdue.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from patients.models import Baseline, Death, Eligibility
from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from treatment.models import (
    AdverseEvent,
    BlinatumomabCycle,
    CrsAssessment,
    IcansAssessment,
    InfusionInterruption,
    ResponseAssessment,
)
from trial.crf import save_crf
from trial.quality import rules
from trial.quality.engine import findings, scope_for

pytestmark = pytest.mark.django_db

AFTER_CYCLE_1 = date(2020, 5, 1)
SAE = {"serious": "Y", "seriousness": "hospitalization", "aware_at": treatment.aware(2020, 3, 25)}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _rules_run_here(settings):
    """The rules are run directly by each test; the re-check after every save would only repeat them."""
    settings.QUALITY_CHECK_ON_SAVE = False


@pytest.fixture
def patient(coordinator, registration_a):
    """An eligible patient (born 2012-05-03, 30 kg, 135 cm), no treatment yet."""
    build.enroll(coordinator, registration_a.patient)
    return registration_a.patient


@pytest.fixture
def treated(coordinator, patient):
    """Debulking, cycle 1 with a day of CRS, an ICANS baseline, an AE, its response and intrathecal therapy."""
    treatment.treat(coordinator, patient)
    return patient


def found(patients, prefix: str = "TRT-", today: date = AFTER_CYCLE_1) -> list[tuple[str, str, int | None, str, str]]:
    """(code, form, record id, field, English message) of every finding of rules starting with `prefix`."""
    ids = [p.pk for p in patients] if isinstance(patients, list) else [patients.pk]
    return sorted((rule.code, rule.form_of(hit), hit.record_id, rule.field_of(hit), rule.render(hit, "en"))
                  for rule, hit in findings(scope_for(ids, today)).values() if rule.code.startswith(prefix))


def codes(patient, today: date = AFTER_CYCLE_1, prefix: str = "TRT-") -> list[str]:
    return [code for code, *_rest in found(patient, prefix, today)]


def correct(record, user, **data):
    return save_crf(record, user=user, data=data, reason="Corrected from the source document",
                    expected_version=record.version)


def cycle_of(patient, number: int = 1) -> BlinatumomabCycle:
    return BlinatumomabCycle.objects.get(patient=patient, cycle_number=number)


# ---- A clean casebook ----------------------------------------------------------------------------------------
def test_a_complete_and_correct_casebook_raises_nothing(coordinator, treated):
    """Both cycles with their assessments, judged the day after the cycle-2 intrathecal therapy: no rule finds
    anything (the first follow-up contact is due, not overdue)."""
    treatment.cycle(coordinator, treated, 2)
    treatment.icans(coordinator, treated, date(2020, 5, 1), baseline="Y")
    treatment.response(coordinator, treated, cycle_number=2, assessment_date=date(2020, 6, 1))
    treatment.intrathecal(coordinator, treated, cycle_number=2, administration_date=date(2020, 6, 11))
    assert found(treated, prefix="", today=date(2020, 6, 12)) == []


def test_cycle_1_judged_after_its_intrathecal_therapy_raises_nothing(treated):
    assert found(treated, prefix="") == []


def test_a_transplanted_patient_raises_nothing_from_the_treatment_rules(coordinator, treated):
    tx.transplant(coordinator, treated)
    tx.follow_up(coordinator, treated, date(2020, 9, 14))
    assert found(treated, today=date(2020, 9, 15)) == []


def test_every_treatment_rule_reads_the_database_a_fixed_number_of_times(coordinator, register, site_a, treated):
    """Set-based: the same statements for one patient as for three, whatever their records."""
    others = [register(coordinator, site_a, initials=initials).patient for initials in ("DEF", "GHI")]
    for other in others:
        build.enroll(coordinator, other)
        treatment.treat(coordinator, other)
        treatment.cycle(coordinator, other, 2)
    for checked in rules():
        if not checked.code.startswith("TRT-"):
            continue
        counts = []
        for ids in ([treated.pk], [treated.pk, *(o.pk for o in others)]):
            scope = scope_for(ids, AFTER_CYCLE_1)
            with CaptureQueriesContext(connection) as queries:
                list(checked.check(scope))
            counts.append(len(queries))
        assert counts[0] == counts[1] <= 3, (checked.code, counts)


def test_drafts_with_empty_items_are_left_to_the_completeness_checks(coordinator, patient):
    """A draft saves whatever was typed: the rules skip what is not there yet instead of failing on it."""
    save_crf(BlinatumomabCycle(patient=patient), user=coordinator, data={"cycle_number": 1}, complete=False)
    save_crf(CrsAssessment(patient=patient), user=coordinator, data={"hypotension": "none"}, complete=False)
    save_crf(ResponseAssessment(patient=patient), user=coordinator, data={"cycle_number": 1}, complete=False)
    save_crf(InfusionInterruption(patient=patient), user=coordinator, data={"cycle_number": 1}, complete=False)
    assert found(patient) == []


# ---- Dose (TRT-001, TRT-002) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("step", "full", "expected"), [
    pytest.param("9.90", "28.00", [], id="step exactly +10 %: not a finding"),
    pytest.param("9.91", "28.00", [("prescribed_step_ug_day", "9.91", "+10.1 %", "9")], id="step +10.1 %"),
    pytest.param("9.00", "25.20", [], id="full exactly -10 %: not a finding"),
    pytest.param("9.00", "25.17", [("prescribed_full_ug_day", "25.17", "-10.1 %", "28")], id="full -10.1 %"),
    pytest.param("8.10", "30.80", [], id="both exactly 10 % away"),
])
def test_a_dose_more_than_10_percent_from_the_planned_one(coordinator, registration_a, step, full, expected):
    """D2 and the label's fixed doses from 45 kg: 9 µg/day on days 1–7, then 28 µg/day."""
    patient = registration_a.patient
    build.enroll(coordinator, patient, weight_kg=Decimal("50.0"), height_cm=Decimal("160.0"))
    cycle = treatment.cycle(coordinator, patient, 1, weight_kg=Decimal("50.0"), height_cm=Decimal("160.0"),
                            prescribed_step_ug_day=Decimal(step), prescribed_full_ug_day=Decimal(full),
                            deviation_reason="Rounded to the vial.")
    assert [(field, record) for _code, _form, record, field, _message in found(patient)] == [
        (field, cycle.pk) for field, *_rest in expected]
    for (_code, _form, _record, _field, message), (_f, prescribed, deviation, planned) in zip(
            found(patient), expected, strict=True):
        assert f": {prescribed} is {deviation} from the planned {planned} µg/day (more than 10 %). " \
               "Reason recorded: Rounded to the vial. Confirm the dose" in message


def test_a_step_dose_recorded_for_cycle_2(coordinator, treated):
    """Refused at entry (D2); planted as an import would bring it."""
    cycle = treatment.cycle(coordinator, treated, 2)
    BlinatumomabCycle._base_manager.filter(pk=cycle.pk).update(prescribed_step_ug_day=Decimal("5.30"))
    assert found(treated, today=date(2020, 5, 2)) == [
        ("TRT-002", "treatment.BlinatumomabCycle", cycle.pk, "prescribed_step_ug_day",
         "Prescribed dose, days 1–7 (µg/day): 5.3 is recorded for cycle 2, but the lower first-week dose belongs "
         "to cycle 1 only; cycle 2 is 28 days at the full dose. Correct the cycle number or the doses.")]


# ---- Order of cycles, assessments and debulking (TRT-003 to TRT-008) -----------------------------------------
def test_a_cycle_that_ends_before_it_starts(coordinator, patient):
    """Refused at entry; planted as an import would bring it."""
    cycle = treatment.cycle(coordinator, patient, 1)
    BlinatumomabCycle._base_manager.filter(pk=cycle.pk).update(end_date=date(2020, 3, 2))
    assert ("TRT-003", "treatment.BlinatumomabCycle", cycle.pk, "end_date",
            "End date: 2020-03-02 is before the start date 2020-03-20 of cycle 1. Correct one of them.") in found(
        patient)


def test_cycle_2_starting_before_cycle_1_ended(coordinator, treated):
    """Each cycle's form refuses it against the other; planted as an import would bring it."""
    second = treatment.cycle(coordinator, treated, 2)
    BlinatumomabCycle._base_manager.filter(pk=cycle_of(treated).pk).update(end_date=date(2020, 5, 1))
    assert ("TRT-004", "treatment.BlinatumomabCycle", second.pk, "start_date",
            "Start date: cycle 2 starts on 2020-05-01, not after the end of cycle 1 (2020-05-01). Correct the dates "
            "of one of the cycles.") in found(treated, today=date(2020, 5, 2))


@pytest.mark.parametrize(("today", "expected"), [
    pytest.param(date(2020, 5, 7), [], id="day 49 of the cycle: still possible with interruptions"),
    pytest.param(date(2020, 5, 8), ["TRT-005"], id="day 50: the end date is missing"),
])
def test_a_cycle_with_no_end_date_long_after_it_started(coordinator, patient, today, expected):
    cycle = treatment.cycle(coordinator, patient, 1, end_date=None, days_infused=None)
    assert codes(patient, today) == expected
    if expected:
        assert found(patient, today=today) == [(
            "TRT-005", "treatment.BlinatumomabCycle", cycle.pk, "end_date",
            "End date: cycle 1 started on 2020-03-20 and has no end date, though even with interruptions its infusion "
            "and the 14 treatment-free days were over by 2020-05-07. Enter the last day of infusion: the response "
            "assessment and the intrathecal therapy are expected from it.")]


def test_a_response_assessment_before_the_end_of_its_cycle(treated):
    """Refused at entry, and a cycle's correction that would leave it is refused too; planted as an import would
    bring it."""
    BlinatumomabCycle._base_manager.filter(pk=cycle_of(treated).pk).update(end_date=date(2020, 4, 22))
    response = ResponseAssessment.objects.get(patient=treated)
    assert ("TRT-006", "treatment.ResponseAssessment", response.pk, "assessment_date",
            "Bone-marrow aspirate date: 2020-04-20 for cycle 1, but cycle 1 ended on 2020-04-22, after it. The "
            "response to a cycle is assessed after its last infusion day and before the next cycle starts: correct "
            "this date or the cycle's dates.") in found(treated)


def test_a_response_assessment_of_a_cycle_with_no_end_date(treated):
    BlinatumomabCycle._base_manager.filter(pk=cycle_of(treated).pk).update(end_date=None, days_infused=None)
    (code, _form, record, _field, message), = [hit for hit in found(treated) if hit[0] == "TRT-006"]
    assert record == ResponseAssessment.objects.get(patient=treated).pk
    assert "2020-04-20 for cycle 1, but cycle 1 has no end date." in message


def test_a_response_assessment_after_the_next_cycle_started(coordinator, treated):
    """The response form refuses it; planted as an import would bring it."""
    treatment.cycle(coordinator, treated, 2)
    response = ResponseAssessment.objects.get(patient=treated)
    ResponseAssessment._base_manager.filter(pk=response.pk).update(assessment_date=date(2020, 5, 3))
    (code, _form, record, _field, message), = [hit for hit in found(treated, today=date(2020, 5, 4))
                                               if hit[0] == "TRT-006"]
    assert record == response.pk
    assert "2020-05-03 for cycle 1, but cycle 2 started before it, on 2020-05-01." in message


def test_debulking_dated_after_cycle_1_started(coordinator, patient):
    treatment.cycle(coordinator, patient, 1)
    debulking = treatment.debulking(coordinator, patient, start_date=date(2020, 3, 23), end_date=date(2020, 3, 27))
    assert found(patient) == [
        ("TRT-007", "treatment.Debulking", debulking.pk, "start_date",
         "Start date: 2020-03-23 is after cycle 1 started (2020-03-20). Debulking chemotherapy is given before cycle "
         "1: correct the date.")]


def test_assessments_dated_before_cycle_1_started(treated):
    """Refused at entry, and a cycle's correction that would leave them is refused too; planted as an import would
    bring it."""
    BlinatumomabCycle._base_manager.filter(pk=cycle_of(treated).pk).update(start_date=date(2020, 3, 22))
    crs, icans = CrsAssessment.objects.get(patient=treated), IcansAssessment.objects.get(patient=treated)
    assert [hit for hit in found(treated) if hit[0] == "TRT-008"] == [
        ("TRT-008", "treatment.CrsAssessment", crs.pk, "assessment_date",
         "Date: 2020-03-21 is outside the cycles: cycle 1 started on 2020-03-22. Correct this date or the dates on "
         "the cycle form."),
        ("TRT-008", "treatment.IcansAssessment", icans.pk, "assessment_date",
         "Date: 2020-03-20 is outside the cycles: cycle 1 started on 2020-03-22. Correct this date or the dates on "
         "the cycle form.")]


def test_an_interruption_after_the_end_of_its_cycle(coordinator, treated):
    """Refused at entry, and a cycle's correction that would leave it is refused too; planted as an import would
    bring it."""
    interruption = save_crf(InfusionInterruption(patient=treated), user=coordinator, complete=True, data={
        "cycle_number": 1, "start_date": date(2020, 4, 10), "end_date": date(2020, 4, 11),
        "restart_dose_ug_day": Decimal("15.9"), "interruption_reason": "crs"})
    BlinatumomabCycle._base_manager.filter(pk=cycle_of(treated).pk).update(end_date=date(2020, 4, 8))
    assert ("TRT-008", "treatment.InfusionInterruption", interruption.pk, "start_date",
            "Interrupted on: 2020-04-10 is outside cycle 1 (2020-03-20 to 2020-04-08). Correct this date or the "
            "dates on the cycle form.") in found(treated)


# ---- The models' review flags (TRT-009 to TRT-011) -----------------------------------------------------------
@pytest.mark.parametrize(("restarted", "expected"), [
    pytest.param(date(2020, 4, 2), [], id="7 days: the same cycle goes on"),
    pytest.param(date(2020, 4, 3), ["TRT-009"], id="8 days: the label starts a new cycle"),
])
def test_an_interruption_of_more_than_7_days(coordinator, treated, restarted, expected):
    interruption = save_crf(InfusionInterruption(patient=treated), user=coordinator, complete=True, data={
        "cycle_number": 1, "start_date": date(2020, 3, 26), "end_date": restarted,
        "restart_dose_ug_day": Decimal("15.9"), "interruption_reason": "infection"})
    assert codes(treated) == expected
    if expected:
        assert found(treated) == [(
            "TRT-009", "treatment.InfusionInterruption", interruption.pk, "end_date",
            "Restarted on: the infusion of cycle 1 was interrupted for 8 days (2020-03-26 to 2020-04-03). After more "
            "than 7 days the label starts a new cycle: confirm the dates, or record the new cycle.")]


@pytest.mark.parametrize(("given", "days", "expected"), [
    pytest.param(date(2020, 4, 22), 6, ["TRT-010"], id="6 days after the cycle's end"),
    pytest.param(date(2020, 4, 23), 7, [], id="7 days: the window opens"),
    pytest.param(date(2020, 5, 7), 21, [], id="21 days: the window closes"),
    pytest.param(date(2020, 5, 8), 22, ["TRT-010"], id="22 days"),
])
def test_intrathecal_therapy_outside_14_plus_or_minus_7_days(coordinator, patient, given, days, expected):
    treatment.cycle(coordinator, patient, 1)
    therapy = treatment.intrathecal(coordinator, patient, administration_date=given)
    assert codes(patient, today=date(2020, 5, 9)) == expected
    if expected:
        assert found(patient, today=date(2020, 5, 9)) == [(
            "TRT-010", "treatment.IntrathecalTherapy", therapy.pk, "administration_date",
            f"Date given: {given.isoformat()} is {days} days after the end of cycle 1; it is expected 14 ± 7 days "
            "after it (7 to 21 days). Confirm the date against the source, or correct it.")]


def test_a_serious_event_entered_long_after_awareness(coordinator, treated):
    event = treatment.adverse_event(coordinator, treated, **SAE)  # aware in 2020, entered today
    (code, form, record, field, message), = found(treated)
    assert (code, form, record, field) == ("TRT-011", "treatment.AdverseEvent", event.pk, "aware_at")
    entered = timezone.localtime(AdverseEvent.objects.get(pk=event.pk).created_at)
    assert message.startswith(f"Site became aware: 2020-03-25 09:00, but the serious event was entered on "
                              f"{entered:%Y-%m-%d %H:%M}, ")
    assert "days later (limit 24 hours). Explain the late report" in message


def test_a_serious_event_transcribed_retrospectively_is_not_late(coordinator, treated):
    treatment.adverse_event(coordinator, treated, **SAE, transcribed_retrospectively="Y")
    assert codes(treated) == []


@pytest.mark.parametrize(("before_entry", "expected"), [
    pytest.param(timedelta(hours=24), [], id="exactly 24 h: on time"),
    pytest.param(timedelta(hours=24, seconds=1), ["TRT-011"], id="24 h and 1 s: late"),
])
def test_the_24_hours_run_from_awareness_to_entry(coordinator, treated, before_entry, expected):
    today = timezone.localdate()
    event = treatment.adverse_event(coordinator, treated, **{**SAE, "aware_at": timezone.now() - timedelta(hours=1)},
                                    onset_date=today - timedelta(days=3), resolution_date=None, outcome="recovering")
    correct(event, coordinator, aware_at=event.created_at - before_entry)
    assert codes(treated, today=today) == expected
    if expected:
        assert "24 hours later (limit 24 hours)." in found(treated, today=today)[0][4]


# ---- Death on the treatment forms (TRT-012) ------------------------------------------------------------------
def test_a_death_on_the_treatment_forms_on_another_day_than_the_death_form(coordinator, patient):
    """Refused at entry, and a correction of the Death form that would leave it is refused too; planted as an
    import would bring it."""
    treatment.cycle(coordinator, patient, 1)
    death = treatment.death(coordinator, patient, date(2020, 4, 18))
    event = treatment.adverse_event(coordinator, patient, grade=5, serious="Y", seriousness="death",
                                    aware_at=treatment.aware(2020, 4, 18), transcribed_retrospectively="Y",
                                    resolution_date=date(2020, 4, 18), outcome="fatal")
    crs = treatment.crs(coordinator, patient, date(2020, 4, 18), grade=4, death_due_to_crs="Y")
    assert codes(patient) == []
    Death._base_manager.filter(pk=death.pk).update(death_date=date(2020, 4, 19))
    assert found(patient) == [
        ("TRT-012", "treatment.AdverseEvent", event.pk, "resolution_date",
         "Resolution date: this form records a death on 2020-04-18, but the Death form gives 2020-04-19. A death has "
         "one date: correct this form or the Death form."),
        ("TRT-012", "treatment.CrsAssessment", crs.pk, "death_due_to_crs",
         "Died of CRS this day: this form records a death on 2020-04-18, but the Death form gives 2020-04-19. A death "
         "has one date: correct this form or the Death form.")]
    Death._base_manager.filter(pk=death.pk).delete()
    assert [message.split(", but ")[1] for *_rest, message in found(patient)] == [
        "no Death form is recorded. A death has one date: correct this form or the Death form."] * 2


# ---- Eligibility (TRT-013) -----------------------------------------------------------------------------------
def test_treatment_for_a_patient_who_became_a_screen_failure(coordinator, treated):
    """The baseline's performance score corrected to 80 after treatment: the eligibility is recomputed."""
    correct(Baseline.objects.get(patient=treated), coordinator, performance_score=80)
    eligibility = Eligibility.objects.get(patient=treated)
    assert eligibility.outcome == "screen_failure"
    assert found(treated) == [
        ("TRT-013", "patients.Eligibility", eligibility.pk, "outcome",
         "Eligibility: Screen failure, but treatment is recorded (debulking chemotherapy of 2020-03-13). Only eligible "
         "patients are treated: correct the data the criteria are judged from, or report the protocol deviation.")]


def test_treatment_with_no_eligibility_recorded(coordinator, treated):
    """The eligibility form is required first; planted as an import would bring it."""
    Eligibility._base_manager.filter(patient=treated).delete()
    (code, form, record, field, message), = found(treated)
    assert (code, form, record, field) == ("TRT-013", "patients.Eligibility", None, "outcome")
    assert message.startswith("Eligibility: no eligibility is recorded, but treatment is recorded (debulking")


# ---- Body size at each cycle (TRT-014, TRT-015) --------------------------------------------------------------
def test_a_cycle_weight_and_height_no_child_has(coordinator, patient):
    cycle = treatment.cycle(coordinator, patient, 1, weight_kg=Decimal("30.0"), height_cm=Decimal("53.0"),
                            deviation_reason="Dosed on the measured BSA")
    assert ("TRT-014", "treatment.BlinatumomabCycle", cycle.pk, "weight_kg",
            "Weight (kg): 30; with the height of 53 cm the body-mass index is 106.8 kg/m², outside 10–40 for a child. "
            "Check both values and their units (kg, cm); the BSA and the doses are computed from them.") in found(
        patient)


@pytest.mark.parametrize(("changes", "expected"), [
    pytest.param({"weight_kg": Decimal("37.5")}, [], id="weight +25 %"),
    pytest.param({"weight_kg": Decimal("37.6")}, [("weight_kg", "37.6", "30")], id="weight +25.3 %"),
    pytest.param({"weight_kg": Decimal("66.0")}, [("weight_kg", "66", "30")], id="weight in pounds"),
    pytest.param({"height_cm": Decimal("148.5")}, [], id="height +10 %"),
    pytest.param({"height_cm": Decimal("121.4")}, [("height_cm", "121.4", "135")], id="height -10.1 %"),
])
def test_a_weight_or_height_that_jumps_from_the_baseline(coordinator, patient, changes, expected):
    cycle = treatment.cycle(coordinator, patient, 1, **changes, deviation_reason="Dosed on the baseline BSA")
    hits = [hit for hit in found(patient) if hit[0] == "TRT-015"]
    assert [(field, record) for _code, _form, record, field, _message in hits] == [
        (field, cycle.pk) for field, *_rest in expected]
    for (*_hit, message), (_field, value, previous) in zip(hits, expected, strict=True):
        assert f": {value} at cycle 1, against {previous} on the baseline of 2020-03-10. Confirm it" in message


def test_cycle_2_is_compared_with_cycle_1(coordinator, treated):
    second = treatment.cycle(coordinator, treated, 2, weight_kg=Decimal("15.0"),
                             deviation_reason="Dosed on the previous BSA")
    assert [hit for hit in found(treated, today=date(2020, 5, 2)) if hit[0] == "TRT-015"] == [
        ("TRT-015", "treatment.BlinatumomabCycle", second.pk, "weight_kg",
         "Weight (kg): 15 at cycle 2, against 30 on the blinatumomab cycle of 2020-03-20. Confirm it, or correct it "
         "(pounds or inches instead of kg or cm?); the BSA and the doses are computed from it.")]


# ---- MRD (TRT-016) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lod", "expected"), [
    pytest.param("0.0010", [], id="detected above the limit"),
    pytest.param("0.0040", [], id="detected at the limit"),
    pytest.param("0.0100", ["TRT-016"], id="detected below the limit"),
])
def test_mrd_detected_below_the_limit_of_detection(coordinator, patient, lod, expected):
    treatment.cycle(coordinator, patient, 1)
    assessment = treatment.response(coordinator, patient, mrd_lod_pct=Decimal(lod))
    assert codes(patient) == expected
    if expected:
        assert found(patient) == [(
            "TRT-016", "treatment.ResponseAssessment", assessment.pk, "mrd_pct",
            "MRD level (%): 0.004 % detected, below the assay's limit of detection (0.01 %). Check both values and "
            "their unit (percent of nucleated cells: 0.01 % = 10⁻⁴); the response is judged on them.")]
