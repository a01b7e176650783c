"""The one save path: versions, reasons, status, lock, audit rows, refusal of bulk writes."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from patients.models import Registration
from trial.crf import AuditBypassError, CrfLocked, CrfStatus, StaleEdit, change_status, save_crf

pytestmark = pytest.mark.django_db


def _reload(crf: Registration) -> Registration:
    return Registration.objects.get(pk=crf.pk)


def test_creation_writes_version_1_and_one_audit_row_with_the_user(registration_a, coordinator):
    assert registration_a.version == 1
    assert registration_a.status == CrfStatus.DRAFT
    assert registration_a.site_id == registration_a.patient.site_id
    records = list(registration_a.history.all())
    assert len(records) == 1
    assert records[0].history_user == coordinator
    assert records[0].history_type == "+"


def test_draft_edit_needs_no_reason_and_is_audited_old_to_new(registration_a, coordinator):
    save_crf(registration_a, user=coordinator, data={"initials": "XYZ"}, expected_version=1)
    crf = _reload(registration_a)
    assert (crf.initials, crf.version) == ("XYZ", 2)
    latest, previous = crf.history.order_by("-history_id")[:2]
    assert (previous.initials, latest.initials) == ("ABC", "XYZ")
    assert latest.history_user == coordinator


def test_completed_form_refuses_an_edit_without_reason_and_keeps_the_data(register, coordinator, site_a):
    crf = register(coordinator, site_a, complete=True)
    with pytest.raises(ValidationError) as error:
        save_crf(crf, user=coordinator, data={"initials": "XYZ"}, expected_version=1)
    assert "reason" in error.value.message_dict
    stored = _reload(crf)
    assert (stored.initials, stored.version, stored.history.count()) == ("ABC", 1, 1)


def test_reason_for_change_is_stored_whole_up_to_its_limit(register, coordinator, site_a):
    """Never cut: a reason of up to REASON_MAX characters is kept whole (a longer one is refused)."""
    from trial.crf import REASON_MAX

    crf = register(coordinator, site_a, complete=True)
    reason = ("Transcription error against the source document (clinical chart, page 3). " * 20)[:REASON_MAX]
    assert len(reason.strip()) == REASON_MAX
    save_crf(crf, user=coordinator, data={"initials": "XYZ"}, reason=reason, expected_version=1)
    assert _reload(crf).history.latest("history_id").history_change_reason == reason.strip()


def test_editing_a_verified_form_voids_the_verification(register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=monitor, transition="verify", expected_version=1)
    assert crf.status == CrfStatus.VERIFIED
    save_crf(crf, user=coordinator, data={"sex": "M"}, reason="Source says male", expected_version=2)
    assert _reload(crf).status == CrfStatus.COMPLETE


def test_stale_version_is_refused_and_the_newer_data_kept(registration_a, coordinator, investigator):
    save_crf(registration_a, user=investigator, data={"initials": "INV"}, expected_version=1)
    with pytest.raises(StaleEdit) as conflict:
        save_crf(registration_a, user=coordinator, data={"initials": "OLD"}, expected_version=1)
    assert conflict.value.current.initials == "INV"
    stored = _reload(registration_a)
    assert (stored.initials, stored.version) == ("INV", 2)


def test_a_stale_copy_does_not_overwrite_fields_it_did_not_touch(registration_a, coordinator, investigator):
    stale_copy = _reload(registration_a)
    save_crf(registration_a, user=investigator, data={"initials": "INV"})
    save_crf(stale_copy, user=coordinator, data={"sex": "M"})
    stored = _reload(registration_a)
    assert (stored.initials, stored.sex, stored.version) == ("INV", "M", 3)


def test_a_save_that_changes_nothing_writes_no_audit_row(registration_a, coordinator):
    save_crf(registration_a, user=coordinator, data={"initials": "ABC"}, expected_version=1)
    assert (_reload(registration_a).version, registration_a.history.count()) == (1, 1)


def test_locked_form_refuses_every_change_until_unlocked_with_reason(register, coordinator, data_manager, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=data_manager, transition="lock")
    with pytest.raises(CrfLocked):
        save_crf(crf, user=coordinator, data={"initials": "XYZ"}, reason="typo")
    with pytest.raises(ValidationError):
        change_status(crf, user=data_manager, transition="unlock")
    change_status(crf, user=data_manager, transition="unlock", reason="Query 12: wrong date of birth")
    assert crf.status == CrfStatus.COMPLETE  # the status it had before the lock
    assert _reload(crf).initials == "ABC"


def test_unlock_returns_a_verified_form_to_verified(register, coordinator, monitor, data_manager, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=monitor, transition="verify")
    change_status(crf, user=data_manager, transition="lock")
    change_status(crf, user=data_manager, transition="unlock", reason="Correction requested")
    assert crf.status == CrfStatus.VERIFIED


@pytest.mark.parametrize(("role_fixture", "transition", "allowed"), [
    ("coordinator", "complete", True),
    ("monitor", "complete", False),
    ("monitor", "verify", True),
    ("coordinator", "verify", False),
    ("investigator", "verify", False),
    ("coordinator", "lock", False),
    ("monitor", "lock", False),
    ("data_manager", "lock", True),
])
def test_who_may_move_a_form(request, registration_a, role_fixture, transition, allowed):
    user = request.getfixturevalue(role_fixture)
    crf = registration_a
    if transition in ("verify", "lock"):
        change_status(crf, user=request.getfixturevalue("coordinator"), transition="complete")
    if allowed:
        change_status(crf, user=user, transition=transition)
    else:
        with pytest.raises(PermissionDenied):
            change_status(crf, user=user, transition=transition)


def test_a_monitor_cannot_enter_data(registration_a, monitor):
    with pytest.raises(PermissionDenied):
        save_crf(registration_a, user=monitor, data={"initials": "MON"})


def test_another_sites_coordinator_cannot_write(registration_a, outsider):
    with pytest.raises(PermissionDenied):
        save_crf(registration_a, user=outsider, data={"initials": "OUT"})
    assert _reload(registration_a).initials == "ABC"


def test_a_second_registration_for_the_same_patient_is_refused(registration_a, coordinator):
    with pytest.raises(ValidationError):
        save_crf(Registration(patient=registration_a.patient), user=coordinator,
                 data={"initials": "DUP", "sex": "F", "date_of_birth": registration_a.date_of_birth,
                       "registration_date": registration_a.registration_date})
    assert Registration.objects.filter(patient=registration_a.patient).count() == 1


def test_fields_outside_the_form_cannot_be_set(registration_a, coordinator):
    with pytest.raises(ValidationError) as error:
        save_crf(registration_a, user=coordinator, data={"status": "locked", "age_years": 3})
    assert set(error.value.message_dict) == {"status", "age_years"}


@pytest.mark.parametrize("bulk_write", [
    lambda qs: qs.update(initials="XX"),
    lambda qs: qs.delete(),
    lambda qs: qs.bulk_update(list(qs), ["initials"]),
    lambda qs: qs.bulk_create([]),
], ids=["update", "delete", "bulk_update", "bulk_create"])
def test_queryset_writes_that_skip_the_audit_are_refused(registration_a, bulk_write):
    with pytest.raises(AuditBypassError):
        bulk_write(Registration.objects.all())
    assert _reload(registration_a).initials == "ABC"


def test_status_changes_are_audited_with_user_and_reason(register, coordinator, monitor, site_a):
    crf = register(coordinator, site_a, complete=True)
    change_status(crf, user=monitor, transition="verify")
    record = crf.history.latest("history_id")
    assert (record.status, record.history_user, record.history_change_reason) == (
        "verified", monitor, "Source data verified")
