"""Business events of the study: "a patient's data changed", announced once the data are committed.

`trial.crf.write_record` announces every change; listeners (e.g. the data-quality re-check of one patient)
register with `on_patient_changed` and run after the transaction commits, once per patient and transaction,
however many of the patient's rows it wrote. A rolled-back transaction announces nothing.
"""

from collections.abc import Callable

from django.db import connection, transaction

Listener = Callable[[int], None]
_LISTENERS: list[Listener] = []


def on_patient_changed(listener: Listener) -> Listener:
    """Decorator: call `listener(patient_id)` after each committed transaction that changed that patient's data."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def forget_listener(listener: Listener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


def patient_changed(patient_id: int) -> None:
    """Announce, on commit, that `patient_id`'s data changed (once per transaction, whatever the number of rows)."""
    if not _LISTENERS:
        return
    # Django keeps the callbacks of the open transaction (and drops them on rollback): look there for ours.
    pending = (entry[1] for entry in connection.run_on_commit)
    if any(getattr(callback, "trial_patient_id", None) == patient_id for callback in pending):
        return

    def announce() -> None:
        for listener in list(_LISTENERS):
            listener(patient_id)

    announce.trial_patient_id = patient_id
    transaction.on_commit(announce, robust=True)


RecordListener = Callable[[object, frozenset[str], bool], None]
_RECORD_LISTENERS: dict[str, list[RecordListener]] = {}


def on_record_saved(label: str) -> Callable[[RecordListener], RecordListener]:
    """Decorator: call `listener(record, changed_fields, created)` after each committed save of a `label` record
    (e.g. a serious adverse event notifies the site's investigators)."""

    def register(listener: RecordListener) -> RecordListener:
        found = _RECORD_LISTENERS.setdefault(label, [])
        if listener not in found:
            found.append(listener)
        return listener

    return register


def record_saved(record, *, changed: frozenset[str], created: bool) -> None:
    """Announce, on commit, that `record` was saved with `changed` entry fields."""
    listeners = _RECORD_LISTENERS.get(record._meta.label)
    if not listeners:
        return
    for listener in listeners:
        transaction.on_commit(lambda listener=listener: listener(record, changed, created), robust=True)
