"""Registration: subject IDs, validation messages, derived age, atomicity."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from patients.models import Patient, Registration, SubjectNumber
from patients.services import format_subject_id

pytestmark = pytest.mark.django_db


def test_subject_ids_follow_the_site_sequence(register, coordinator, site_a):
    ids = [register(coordinator, site_a).patient.subject_id for _ in range(3)]
    assert ids == ["MX01-001", "MX01-002", "MX01-003"]


def test_each_site_has_its_own_sequence(register, coordinator, outsider, site_a, site_b):
    register(coordinator, site_a)
    assert register(outsider, site_b).patient.subject_id == "MX04-001"


def test_subject_id_beyond_999_keeps_all_digits():
    assert format_subject_id("MX02", 7) == "MX02-007"
    assert format_subject_id("MX02", 1000) == "MX02-1000"


def test_derived_age_and_group_are_stored_with_the_rule_version(registration_a):
    assert (registration_a.age_years, registration_a.age_months) == (7, 10)
    assert registration_a.age_group == "1_to_10"
    assert registration_a.rules_version == "AGE-1"


def test_age_is_recomputed_when_the_date_of_birth_is_corrected(registration_a, coordinator):
    from trial.crf import save_crf

    save_crf(registration_a, user=coordinator, data={"date_of_birth": date(2008, 1, 1)}, expected_version=1)
    stored = Registration.objects.get(pk=registration_a.pk)
    assert (stored.age_years, stored.age_group) == (12, "over_10")


def test_invalid_registration_leaves_no_patient_and_no_used_number(register, coordinator, site_a):
    with pytest.raises(ValidationError):
        register(coordinator, site_a, date_of_birth=date(2021, 1, 1))  # after the registration date
    assert Patient.objects.count() == 0
    assert not SubjectNumber.objects.filter(site=site_a, last_number__gt=0).exists()
    assert register(coordinator, site_a).patient.subject_id == "MX01-001"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"date_of_birth": date(2021, 1, 1)}, "date_of_birth", ["2021-01-01", "after the registration date"]),
    ({"date_of_birth": date(1990, 1, 1)}, "date_of_birth", ["1990-01-01", "30 years", "0 to 24"]),
    ({"registration_date": "tomorrow"}, "registration_date", ["future"]),  # resolved when the test runs
    ({"initials": "A1"}, "initials", ["2 or 3 capital letters"]),
    ({"sex": "X"}, "sex", ["X"]),
])
def test_bad_values_get_a_specific_message(register, coordinator, site_a, changes, field, words):
    # "tomorrow" is taken when the test runs, not when it is collected (a run may cross midnight in Mexico City)
    changes = {k: timezone.localdate() + timedelta(days=1) if v == "tomorrow" else v for k, v in changes.items()}
    with translation.override("en"):
        with pytest.raises(ValidationError) as error:
            register(coordinator, site_a, **changes)
        message = " ".join(error.value.message_dict[field])
    for word in words:
        assert word in message


def test_messages_are_in_spanish_by_default(register, coordinator, site_a):
    with translation.override("es-mx"):
        with pytest.raises(ValidationError) as error:
            register(coordinator, site_a, date_of_birth=date(2021, 1, 1))
        assert "posterior a la fecha de registro" in " ".join(error.value.message_dict["date_of_birth"])


def test_initials_are_normalised_to_capitals(register, coordinator, site_a):
    assert register(coordinator, site_a, initials="abc").initials == "ABC"


def test_a_monitor_cannot_register(register, monitor, site_a):
    with pytest.raises(PermissionDenied):
        register(monitor, site_a)


def test_a_coordinator_cannot_register_at_another_site(register, coordinator, site_b):
    with pytest.raises(PermissionDenied):
        register(coordinator, site_b)
    assert Patient.objects.count() == 0


def test_registration_audit_records_the_patient_and_the_form(registration_a, coordinator):
    assert registration_a.patient.history.get().history_user == coordinator
    assert registration_a.history.get().history_user == coordinator
