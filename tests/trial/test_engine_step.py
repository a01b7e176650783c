"""The engine's contract for every form: partial drafts, no invented answers, explicit missing data, one audited
write with its on-commit hook, staleness only from people, and field names that cannot collide with the engine's."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import translation

from patients.models import Baseline, DiagnosisHistory
from tests import enrollment
from tests import treatment_forms as treatment
from treatment.models import CrsAssessment, IcansAssessment
from trial import events
from trial.checks import check_field_names
from trial.crf import Crf, CrfStatus, StaleEdit, change_status, crf_models, save_crf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def consented(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.consent(coordinator, patient)
    return patient


def _history_count(record) -> int:
    return type(record).history.filter(id=record.pk).count()


# --- partial drafts --------------------------------------------------------------------------------------------

def test_a_draft_saves_whatever_was_typed(consented, coordinator):
    draft = save_crf(Baseline(patient=consented), user=coordinator, data={"weight_kg": Decimal("30.0")})
    stored = Baseline.objects.get(pk=draft.pk)
    assert (stored.status, stored.weight_kg, stored.height_cm, stored.assessment_date) == (
        CrfStatus.DRAFT, Decimal("30.0"), None, None)


def test_a_draft_still_refuses_a_typed_value_outside_its_hard_range(consented, coordinator):
    with pytest.raises(ValidationError) as refused:
        save_crf(Baseline(patient=consented), user=coordinator, data={"weight_kg": Decimal("250")})
    assert refused.value.message_dict["weight_kg"] == ["Weight: 250 kg is outside the allowed range 0.5 to 200 kg."]
    assert not Baseline.objects.filter(patient=consented).exists()


def test_completing_names_every_item_still_missing_and_stores_nothing(consented, coordinator):
    draft = save_crf(Baseline(patient=consented), user=coordinator, data={"weight_kg": Decimal("30.0")})
    with pytest.raises(ValidationError) as refused:
        save_crf(draft, user=coordinator, data={}, expected_version=1, complete=True)
    errors = refused.value.message_dict
    assert errors["height_cm"] == ["Required to complete the form."]
    assert errors["hemoglobin_g_dl"] == ["Required to complete the form: answer it, or code it as missing (not done, "
                                         "unknown or not applicable)."]
    assert "weight_kg" not in errors and "comorbidities" not in errors  # answered / optional
    stored = Baseline.objects.get(pk=draft.pk)
    assert (stored.status, stored.version) == (CrfStatus.DRAFT, 1)


def test_a_draft_completed_later_by_its_transition_is_checked_the_same_way(consented, coordinator):
    draft = save_crf(Baseline(patient=consented), user=coordinator, data={"weight_kg": Decimal("30.0")})
    with pytest.raises(ValidationError) as refused:
        change_status(draft, user=coordinator, transition="complete", expected_version=1)
    assert "height_cm" in refused.value.message_dict
    assert Baseline.objects.get(pk=draft.pk).status == CrfStatus.DRAFT


# --- no invented answers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", crf_models(), ids=lambda m: m._meta.label)
def test_no_question_of_any_form_starts_answered(model):
    """A choice that starts as "No" records an answer nobody gave: every entry field starts empty."""
    fresh = model()
    answered = {f.name: getattr(fresh, f.attname) for f in model._meta.concrete_fields
                if f.name in model.entry_fields() and getattr(fresh, f.attname) not in (None, "", False)}
    assert answered == {}


def test_a_new_crs_day_has_no_hypotension_or_oxygen_answer_until_someone_gives_one():
    day = CrsAssessment()
    assert (day.hypotension, day.oxygen_device, day.tocilizumab, day.vasopressors) == ("", "", "", None)
    icans = IcansAssessment()
    assert (icans.consciousness, icans.seizure, icans.raised_icp) == (None, None, None)


def test_completing_a_crs_day_asks_for_each_unanswered_sign(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    with pytest.raises(ValidationError) as refused:
        save_crf(CrsAssessment(patient=patient), user=coordinator, complete=True,
                 data={"assessment_date": date(2020, 3, 21), "max_temperature_c": Decimal("38.5")})
    assert {"hypotension", "oxygen_device", "tocilizumab", "antipyretics"} <= set(refused.value.message_dict)


# --- explicit missing data -------------------------------------------------------------------------------------

def _baseline_without_hemoglobin() -> dict:
    return {k: v for k, v in enrollment.BASELINE.items() if k != "hemoglobin_g_dl"}


def test_an_item_coded_missing_counts_as_answered_and_is_stored_apart_from_a_blank(consented, coordinator):
    baseline = save_crf(Baseline(patient=consented), user=coordinator, data=_baseline_without_hemoglobin(),
                        complete=True, missing={"hemoglobin_g_dl": {"code": "not_done", "reason": "Lab closed"}})
    stored = Baseline.objects.get(pk=baseline.pk)
    assert stored.status == CrfStatus.COMPLETE
    assert stored.hemoglobin_g_dl is None
    assert stored.missing == {"hemoglobin_g_dl": {"code": "not_done", "reason": "Lab closed"}}
    assert stored.history.latest("history_id").missing == stored.missing  # in the audit trail too


def test_a_value_and_a_missing_code_for_the_same_item_are_refused(consented, coordinator):
    with pytest.raises(ValidationError) as refused:
        save_crf(Baseline(patient=consented), user=coordinator, data=enrollment.BASELINE, complete=True,
                 missing={"hemoglobin_g_dl": {"code": "unknown"}})
    assert refused.value.message_dict["hemoglobin_g_dl"] == [
        "Hemoglobin (g/dL) has a value and a missing-data code; keep one of them."]


@pytest.mark.parametrize(("coded", "field", "expected"), [
    pytest.param({"weight_kg": {"code": "unknown"}}, "weight_kg", "cannot be coded missing", id="weight has no code"),
    pytest.param({"hemoglobin_g_dl": {"code": "forgot"}}, "hemoglobin_g_dl", "is not a missing-data code",
                 id="unknown code"),
    pytest.param({"hemoglobin_g_dl": {"code": "not_done", "reason": "x" * 501}}, "hemoglobin_g_dl",
                 "at most 500", id="reason too long"),
])
def test_missing_codes_are_checked(consented, coordinator, coded, field, expected):
    with pytest.raises(ValidationError) as refused:
        save_crf(Baseline(patient=consented), user=coordinator, data=_baseline_without_hemoglobin(), missing=coded)
    assert expected in " ".join(refused.value.message_dict[field])


def test_removing_a_missing_code_after_completion_needs_a_reason_and_a_value(consented, coordinator):
    baseline = save_crf(Baseline(patient=consented), user=coordinator, data=_baseline_without_hemoglobin(),
                        complete=True, missing={"hemoglobin_g_dl": {"code": "not_done"}})
    with pytest.raises(ValidationError) as refused:
        save_crf(baseline, user=coordinator, data={}, missing={}, expected_version=baseline.version,
                 reason="Result found")
    assert "hemoglobin_g_dl" in refused.value.message_dict
    save_crf(baseline, user=coordinator, data={"hemoglobin_g_dl": Decimal("9.9")}, missing={},
             expected_version=baseline.version, reason="Result found in the lab system")
    assert Baseline.objects.get(pk=baseline.pk).missing == {}


# --- one audited write and its hook ----------------------------------------------------------------------------

def test_recomputation_writes_one_audit_row_per_changed_record(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    diagnosis = DiagnosisHistory.objects.get(patient=patient)
    before = _history_count(diagnosis)
    enrollment.relapse(coordinator, patient, date(2019, 12, 20))  # third relapse: the diagnosis is recomputed
    diagnosis.refresh_from_db()
    assert _history_count(diagnosis) == before + 1
    latest = diagnosis.history.latest("history_id")
    assert (latest.version, latest.history_change_reason, latest.history_user) == (
        diagnosis.version, "Recomputed after a change to another form of this patient", coordinator)


@pytest.mark.django_db(transaction=True)  # real commits: the hook's callbacks run when each save commits
def test_the_patient_changed_hook_runs_once_per_committed_transaction(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    heard = []
    listener = events.on_patient_changed(heard.append)
    try:
        enrollment.relapse(coordinator, patient, date(2019, 12, 20))  # writes the relapse and recomputes 3
        assert heard == [patient.pk]
        heard.clear()
        with pytest.raises(ValidationError):
            with transaction.atomic():
                save_crf(Baseline.objects.get(patient=patient), user=coordinator, data={"weight_kg": Decimal("999")},
                         reason="typo", expected_version=Baseline.objects.get(patient=patient).version)
        assert heard == []  # a refused or rolled-back change announces nothing
    finally:
        events.forget_listener(listener)


def test_a_recomputation_in_between_does_not_make_the_users_edit_stale(registration_a, coordinator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    opened = DiagnosisHistory.objects.get(patient=patient)  # the coordinator opens the diagnosis...
    enrollment.relapse(coordinator, patient, date(2019, 12, 20))  # ...the system recomputes it meanwhile
    assert DiagnosisHistory.objects.get(pk=opened.pk).version == opened.version + 1
    save_crf(opened, user=coordinator, data={"prior_chemotherapy_lines": 3}, reason="Source shows 3 lines",
             expected_version=opened.version)
    stored = DiagnosisHistory.objects.get(pk=opened.pk)
    assert (stored.prior_chemotherapy_lines, stored.relapse_count) == (3, 3)


def test_a_persons_change_in_between_is_refused_naming_who_and_when(registration_a, coordinator, investigator):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    opened = DiagnosisHistory.objects.get(patient=patient)
    enrollment.relapse(coordinator, patient, date(2019, 12, 20))  # system
    save_crf(DiagnosisHistory.objects.get(pk=opened.pk), user=investigator, data={"prior_chemotherapy_lines": 4},
             reason="Chart", expected_version=opened.version + 1)  # a person
    with pytest.raises(StaleEdit) as conflict:
        save_crf(opened, user=coordinator, data={"prior_chemotherapy_lines": 3}, reason="Source",
                 expected_version=opened.version)
    assert conflict.value.by == investigator.get_username()
    assert conflict.value.at is not None
    assert DiagnosisHistory.objects.get(pk=opened.pk).prior_chemotherapy_lines == 4


# --- field names -----------------------------------------------------------------------------------------------

def test_every_registered_form_passes_the_field_name_check():
    assert check_field_names(crf_models()) == []


class _CollidingForm:
    """Stands for a CRF model whose entry field is named `reason` (all the check reads of a model)."""

    class _meta:  # noqa: N801 - mirrors Django's Model._meta
        label = "trial.Colliding"

        @staticmethod
        def get_field(name: str):
            return Crf._meta.get_field(name)  # the engine's own fields, as every CRF inherits them

    @staticmethod
    def entry_fields() -> list[str]:
        return ["reason", "reason_detail"]

    @staticmethod
    def derived_fields() -> list[str]:
        return ["visit_count"]


class _RedeclaredStatusForm(_CollidingForm):
    """Stands for a CRF that declares a derived `status` of its own (a chimerism status once did): it would replace
    the engine's entry status, and neither entry_fields() nor derived_fields() would show it."""

    class _meta:  # noqa: N801
        label = "trial.Redeclared"

        @staticmethod
        def get_field(name: str):
            if name == "status":
                return models.CharField("chimerism", max_length=8, blank=True, editable=False)
            return Crf._meta.get_field(name)

    @staticmethod
    def entry_fields() -> list[str]:
        return ["sample_date"]


def test_a_field_named_like_the_engines_reason_is_refused_at_start_up():
    errors = check_field_names([_CollidingForm])
    assert [(e.id, e.msg) for e in errors] == [
        ("trial.E006", "trial.Colliding.reason: the name collides with the engine's own 'reason'.")]


def test_a_form_that_declares_the_engines_status_again_is_refused_at_start_up():
    errors = check_field_names([_RedeclaredStatusForm])
    assert [(e.id, e.msg) for e in errors] == [
        ("trial.E006", "trial.Redeclared.status: the name collides with the engine's own 'status'.")]


def test_rederive_brings_stored_values_to_the_current_rules_with_an_audit_record(coordinator, data_manager,
                                                                                 registration_a, register, site_a):
    """After a rule version changes, `manage.py rederive` recomputes what is stored: each changed record gets an
    audit record by the system; a patient whose locked form would change is left as it was, and named."""
    from io import StringIO

    from django.core.management import call_command

    from patients.models import Registration
    from trial.crf import RULES_REASON, change_status

    other = register(coordinator, site_a, initials="XYZ", complete=True)
    change_status(Registration.objects.get(pk=other.pk), user=data_manager, transition="lock")
    for registration in (registration_a, other):
        _store_old_values(registration)  # as an older age rule would have left them
    dry = StringIO()
    call_command("rederive", "--dry-run", stdout=dry)
    assert Registration.objects.get(pk=registration_a.pk).age_years == 3  # nothing written
    out = StringIO()
    call_command("rederive", stdout=out)
    fixed = Registration.objects.get(pk=registration_a.pk)
    latest = fixed.history.latest("history_id")
    assert (fixed.age_years, fixed.rules_version) == (7, "AGE-1")
    assert (latest.history_change_reason, latest.history_user_id) == (RULES_REASON, None)
    assert Registration.objects.get(pk=other.pk).age_years == 3  # locked: left as it was
    assert "2 patients, 1 records would change, 1 patients left as they were" in dry.getvalue()
    assert out.getvalue().startswith("2 patients, 1 records changed, 1 patients left as they were")
    assert f"{other.patient.subject_id}: " in out.getvalue()
    call_command("rederive", stdout=StringIO())
    assert fixed.history.count() == Registration.objects.get(pk=registration_a.pk).history.count()  # idempotent


def _store_old_values(registration) -> None:
    """Rewrite stored derived values as an older rule would have left them, with a matching audit row."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE patients_registration SET age_years = 3, rules_version = 'AGE-0' WHERE id = %s",
                       [registration.pk])
