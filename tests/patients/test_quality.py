"""Data-quality rules of the patient's forms (PAT-…): a clean casebook raises nothing, each planted error its rule.

Dates follow tests.enrollment and tests.treatment_forms: registered and consented 2020-03-09 (born 2012-05-03),
diagnosed 2016-04-20, relapses 2017-08-01 and 2019-11-05, baseline 2020-03-10, eligible 2020-03-12, cycle 1 from
2020-03-20 to 2020-04-16, its response 2020-04-20 and intrathecal therapy 2020-04-30. Judged as of 2020-05-01, so
that nothing scheduled later is overdue.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from patients.models import Baseline, Consent, Death, DiagnosisHistory, FollowUp, Registration, Relapse
from tests import enrollment as build
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from trial.crf import save_crf
from trial.quality import rules
from trial.quality.engine import findings, scope_for

pytestmark = pytest.mark.django_db

AS_OF = date(2020, 5, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _rules_run_here(settings):
    """The rules are run directly by each test; the re-check after every save would only repeat them."""
    settings.QUALITY_CHECK_ON_SAVE = False


@pytest.fixture
def enrolled(coordinator, registration_a):
    """An eligible patient, no treatment yet."""
    build.enroll(coordinator, registration_a.patient)
    return registration_a.patient


@pytest.fixture
def treated(coordinator, enrolled):
    """Debulking, cycle 1 with a day of CRS, an ICANS baseline, an AE, its response and intrathecal therapy."""
    treatment.treat(coordinator, enrolled)
    return enrolled


def found(patients, prefix: str = "PAT-", today: date = AS_OF) -> list[tuple[str, str, int | None, str, str]]:
    """(code, form, record id, field, English message) of every finding of rules starting with `prefix`."""
    ids = [p.pk for p in patients] if isinstance(patients, list) else [patients.pk]
    return sorted((rule.code, rule.form_of(hit), hit.record_id, rule.field_of(hit), rule.render(hit, "en"))
                  for rule, hit in findings(scope_for(ids, today)).values() if rule.code.startswith(prefix))


def codes(patient, today: date = AS_OF) -> list[str]:
    return [code for code, *_rest in found(patient, today=today)]


def correct(record, user, **data):
    return save_crf(record, user=user, data=data, reason="Corrected from the source document",
                    expected_version=record.version)


# ---- A clean casebook ----------------------------------------------------------------------------------------
def test_a_complete_and_correct_casebook_raises_nothing(treated):
    assert found(treated, prefix="") == []


def test_a_transplanted_and_followed_patient_raises_nothing_from_the_patient_rules(coordinator, treated):
    tx.transplant(coordinator, treated)
    tx.follow_up(coordinator, treated, date(2020, 9, 14))
    assert found(treated, today=date(2020, 9, 15)) == []


def test_every_patient_rule_reads_the_database_a_fixed_number_of_times(coordinator, register, site_a, treated):
    """Set-based: the same statements for one patient as for three, whatever their records."""
    others = [register(coordinator, site_a, initials=initials).patient for initials in ("DEF", "GHI")]
    for other in others:
        build.enroll(coordinator, other)
        treatment.treat(coordinator, other)
    for checked in rules():
        if not checked.code.startswith("PAT-"):
            continue
        counts = []
        for ids in ([treated.pk], [treated.pk, *(o.pk for o in others)]):
            scope = scope_for(ids, AS_OF)
            with CaptureQueriesContext(connection) as queries:
                list(checked.check(scope))
            counts.append(len(queries))
        assert counts[0] == counts[1] <= 3, (checked.code, counts)


def test_drafts_with_empty_items_are_left_to_the_completeness_checks(coordinator, enrolled):
    """A draft saves whatever was typed: the rules skip what is not there yet instead of failing on it."""
    save_crf(Relapse(patient=enrolled), user=coordinator, data={"relapse_date": date(2018, 1, 5)}, complete=False)
    save_crf(FollowUp(patient=enrolled), user=coordinator, data={"disease_status": "ccr"}, complete=False)
    assert found(enrolled) == []


# ---- Consent (PAT-001, PAT-002) ------------------------------------------------------------------------------
def test_consent_dated_after_a_study_procedure(coordinator, treated):
    consent = Consent.objects.get(patient=treated)
    correct(consent, coordinator, consent_date=date(2020, 3, 13), assent_date=date(2020, 3, 13))
    assert found(treated) == [("PAT-001", "patients.Consent", consent.pk, "consent_date",
                               "Parent/guardian consent date: 2020-03-13 is after the eligibility of 2020-03-12. "
                               "Consent is given before any study procedure: correct the consent date or the date "
                               "on that form, or explain.")]


def test_baseline_tests_and_the_disease_history_may_precede_consent(coordinator, treated):
    """The baseline's routine tests may come from the 14 days before registration; relapses are the past."""
    consent = Consent.objects.get(patient=treated)
    correct(consent, coordinator, consent_date=date(2020, 3, 11), assent_date=date(2020, 3, 11))
    assert codes(treated) == []


def test_a_record_dated_after_consent_was_withdrawn(coordinator, treated):
    consent = Consent.objects.get(patient=treated)
    correct(consent, coordinator, withdrawal_date=date(2020, 4, 1), withdrawal_reason="Family moved away")
    assert found(treated) == [("PAT-002", "patients.Consent", consent.pk, "withdrawal_date",
                               "Consent withdrawal date: 2020-04-01, but the intrathecal therapy is dated 2020-04-30, "
                               "after it. Nothing is collected after consent is withdrawn: correct the withdrawal "
                               "date or the date on that form, or explain.")]


def test_a_withdrawal_after_the_last_record_is_not_a_finding(coordinator, treated):
    consent = Consent.objects.get(patient=treated)
    correct(consent, coordinator, withdrawal_date=date(2020, 4, 30), withdrawal_reason="Family moved away")
    assert codes(treated) == []


# ---- Birth and history (PAT-003 to PAT-007) ------------------------------------------------------------------
def test_a_diagnosis_before_the_date_of_birth(coordinator, enrolled):
    """Refused at entry either way; planted as an import would bring it."""
    diagnosis = DiagnosisHistory.objects.get(patient=enrolled)
    DiagnosisHistory._base_manager.filter(pk=diagnosis.pk).update(diagnosis_date=date(2011, 4, 20))
    assert found(enrolled) == [("PAT-003", "patients.DiagnosisHistory", diagnosis.pk, "diagnosis_date",
                                "Initial diagnosis date: 2011-04-20 is before the date of birth (2012-05-03, "
                                "Registration form). Correct this date or the date of birth.")]


@pytest.mark.parametrize(("born", "expected"), [
    pytest.param(date(2016, 3, 24), ["PAT-004"], id="diagnosed at 27 days of life"),
    pytest.param(date(2016, 3, 23), [], id="diagnosed at 28 days of life"),
    pytest.param(date(2016, 4, 20), ["PAT-004"], id="diagnosed on the day of birth"),
])
def test_a_diagnosis_in_the_first_four_weeks_of_life_is_confirmed(coordinator, register, site_a, born, expected):
    patient = register(coordinator, site_a, date_of_birth=born).patient
    build.enroll(coordinator, patient)
    assert codes(patient) == expected
    if expected:
        (_code, form, record, field, message), = found(patient)
        assert (form, record, field) == ("patients.DiagnosisHistory", patient.diagnosis.pk, "diagnosis_date")
        assert message.startswith(f"Initial diagnosis date: 2016-04-20 is {(date(2016, 4, 20) - born).days} days "
                                  f"after the date of birth ({born.isoformat()}): a congenital leukaemia.")


def test_a_relapse_dated_after_registration(coordinator, enrolled):
    later = build.relapse(coordinator, enrolled, date(2021, 1, 5))
    assert found(enrolled) == [("PAT-005", "patients.Relapse", later.pk, "relapse_date",
                                "Relapse date: 2021-01-05 is after the registration date (2020-03-09). The diagnosis "
                                "and the relapses that bring the patient to the study come before registration: "
                                "correct the date.")]


def test_a_relapse_on_the_registration_date_is_not_a_finding(coordinator, enrolled):
    build.relapse(coordinator, enrolled, date(2020, 3, 9))
    assert codes(enrolled) == []


def test_a_relapse_not_after_the_diagnosis(coordinator, enrolled):
    """Each form refuses it against the other; planted as concurrent saves of the two forms would leave it."""
    first = Relapse.objects.filter(patient=enrolled).order_by("relapse_date").first()
    Relapse._base_manager.filter(pk=first.pk).update(relapse_date=date(2016, 4, 20))
    assert found(enrolled) == [("PAT-006", "patients.Relapse", first.pk, "relapse_date",
                                "Relapse date: 2016-04-20 is not after the initial diagnosis (2016-04-20, Diagnosis "
                                "and history). Correct the relapse date or the diagnosis date.")]


@pytest.mark.parametrize(("stored", "field", "recorded", "expected"), [
    pytest.param({"relapse_count": 3}, "relapse_count", "3", "2", id="relapse count"),
    pytest.param({"disease_status": "first_hr_relapse"}, "disease_status", "First high-risk relapse",
                 "Second or later relapse", id="disease status"),
])
def test_a_stored_status_the_relapses_no_longer_give(enrolled, stored, field, recorded, expected):
    diagnosis = DiagnosisHistory.objects.get(patient=enrolled)
    DiagnosisHistory._base_manager.filter(pk=diagnosis.pk).update(**stored)
    (code, form, record, at, message), = found(enrolled)
    assert (code, form, record, at) == ("PAT-007", "patients.DiagnosisHistory", diagnosis.pk, field)
    assert f": {recorded} is stored, but the relapses recorded give {expected}." in message


# ---- Body size (PAT-008) -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("weight", "height", "bmi"), [
    pytest.param("30.0", "135.0", None, id="30 kg, 135 cm: BMI 16.5"),
    pytest.param("30.0", "53.0", "106.8", id="height in inches: BMI 106.8"),
    pytest.param("66.0", "53.0", "235", id="pounds and inches"),
    pytest.param("72.9", "135.0", None, id="BMI exactly 40"),
    pytest.param("73.0", "135.0", "40.1", id="BMI 40.1"),
    pytest.param("18.3", "135.0", None, id="BMI 10.0"),
    pytest.param("18.0", "135.0", "9.9", id="BMI 9.9"),
])
def test_a_weight_and_height_no_child_has(coordinator, registration_a, weight, height, bmi):
    patient = registration_a.patient
    build.enroll(coordinator, patient, weight_kg=Decimal(weight), height_cm=Decimal(height))
    hits = [hit for hit in found(patient) if hit[0] == "PAT-008"]
    if bmi is None:
        assert hits == []
        return
    (_code, form, record, field, message), = hits
    assert (form, record, field) == ("patients.Baseline", Baseline.objects.get(patient=patient).pk, "weight_kg")
    assert message.startswith(f"Weight (kg): {Decimal(weight).normalize():f}; with the height of "
                              f"{Decimal(height).normalize():f} cm the body-mass index is {bmi} kg/m², outside 10–40 "
                              "for a child.")


def test_a_weight_or_height_outside_its_soft_range_is_asked_about_once(coordinator, registration_a):
    """135 kg and 30 cm (the two swapped): QC-001 asks about the height, outside 45–200 cm; PAT-008 does not ask
    again about the same form."""
    patient = registration_a.patient
    build.enroll(coordinator, patient, weight_kg=Decimal("135.0"), height_cm=Decimal("30.0"))
    assert [(code, field) for code, _form, _record, field, _message in found(patient, prefix="")
            if code.startswith(("PAT", "QC"))] == [("QC-001", "height_cm")]


# ---- Vital status (PAT-009, PAT-010) -------------------------------------------------------------------------
def test_a_follow_up_reporting_death_before_the_date_of_death(coordinator, treated):
    treatment.death(coordinator, treated, date(2020, 6, 1))
    contact = tx.follow_up(coordinator, treated, date(2020, 5, 20), vital_status="dead", disease_status="unknown")
    assert found(treated, today=date(2020, 6, 2)) == [
        ("PAT-009", "patients.FollowUp", contact.pk, "vital_status",
         "Vital status: dead on the contact of 2020-05-20, but the Death form gives 2020-06-01. Enter or correct the "
         "Death form, or correct this contact.")]


def test_off_study_for_death_before_the_corrected_date_of_death(coordinator, treated):
    death = treatment.death(coordinator, treated, date(2020, 6, 1))
    off = tx.off_study(coordinator, treated, date(2020, 6, 1))
    assert codes(treated, today=date(2020, 6, 10)) == []
    correct(death, coordinator, death_date=date(2020, 6, 5))
    assert found(treated, today=date(2020, 6, 10)) == [
        ("PAT-010", "patients.OffStudy", off.pk, "off_study_date",
         "Off-study date: 2020-06-01, for the reason “Death”, but the Death form gives 2020-06-05. Correct the "
         "off-study date or the Death form.")]


def test_off_study_for_death_with_no_death_form(coordinator, treated):
    """The Death form is required first; planted as an import would bring it."""
    death = treatment.death(coordinator, treated, date(2020, 6, 1))
    off = tx.off_study(coordinator, treated, date(2020, 6, 1))
    Death._base_manager.filter(pk=death.pk).delete()
    (code, form, record, _field, message), = found(treated, today=date(2020, 6, 10))
    assert (code, form, record) == ("PAT-010", "patients.OffStudy", off.pk)
    assert "but no Death form is recorded." in message


# ---- Identity (PAT-011) --------------------------------------------------------------------------------------
def test_a_registration_confirmed_as_a_different_child_is_not_raised_again(coordinator, register, site_a,
                                                                           registration_a):
    """The second registration was saved only after the user confirmed it is a different child."""
    twin = register(coordinator, site_a)
    assert found([registration_a.patient, twin.patient]) == []


def test_a_registration_corrected_into_a_possible_duplicate(coordinator, register, site_a, registration_a):
    other = register(coordinator, site_a, initials="ABD")
    assert codes(other.patient) == []
    correct(Registration.objects.get(pk=other.pk), coordinator, initials="ABC")
    first, second = registration_a.patient, other.patient
    message = ("Initials ABC, sex and date of birth (2012-05-03) are those of {} at the same site. Check that these "
               "are different children, or tell the data manager which registration is the duplicate.")
    assert found([first, second]) == [
        ("PAT-011", "patients.Registration", registration_a.pk, "initials", message.format(second.subject_id)),
        ("PAT-011", "patients.Registration", other.pk, "initials", message.format(first.subject_id))]
    # checked alone, the patient still finds the other one outside its scope
    assert found(second) == [("PAT-011", "patients.Registration", other.pk, "initials",
                              message.format(first.subject_id))]


def test_the_same_child_data_at_another_site_is_not_a_duplicate(registration_a, registration_b):
    assert found([registration_a.patient, registration_b.patient]) == []
