"""Reads shared within one re-derivation pass, so that re-deriving a series costs its writes and little else.

When one save re-derives many of a patient's records (correcting day 1 of a 56-day CRS series re-grades every
later day), each record's derivation and validation would read the same patient-level facts again: the cycles,
the death record, the record before it. Inside `shared_reads()` (the engine opens it around a re-derivation
pass, under the patient's lock):

- a function decorated with `@shared("app.Model", ...)` and called with a patient id is run once per pass; its
  answer is dropped as soon as a record of one of the named models is written (`forget`, called by the one
  audited write), so a read is never staler than the pass's own writes;
- the engine holds the patient's records of a self-derived form (`series`), the very instances it re-derives
  in order, so that "the record before this one" is read from memory with the values it was just given.

Outside a pass every call reads the database, as before.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_READS: ContextVar[dict | None] = ContextVar("trial_shared_reads", default=None)
_SERIES: ContextVar[dict | None] = ContextVar("trial_shared_series", default=None)


@contextmanager
def shared_reads() -> Iterator[None]:
    """Open a pass (nested passes share the outer one)."""
    if _READS.get() is not None:
        yield
        return
    reads, series = _READS.set({}), _SERIES.set({})
    try:
        yield
    finally:
        _READS.reset(reads)
        _SERIES.reset(series)


def shared(*labels: str) -> Callable[[Callable[[int | None], T]], Callable[[int | None], T]]:
    """Decorator for a read of one patient's data (`fn(patient_id)`) that depends on the models `labels`."""

    def decorate(fn: Callable[[int | None], T]) -> Callable[[int | None], T]:
        @functools.wraps(fn)
        def read(patient_id: int | None) -> T:
            cache = _READS.get()
            if cache is None or patient_id is None:
                return fn(patient_id)
            key = (fn.__module__, fn.__qualname__, patient_id)
            if key not in cache:
                cache[key] = (frozenset(labels), fn(patient_id))
            return cache[key][1]

        return read

    return decorate


def forget(label: str) -> None:
    """A record of `label` was written: shared reads that depend on that model are read again."""
    cache = _READS.get()
    if cache:
        for key in [k for k, (labels, _value) in cache.items() if label in labels]:
            del cache[key]


def hold_series(label: str, patient_id: int, records: list) -> None:
    series = _SERIES.get()
    if series is not None:
        series[(label, patient_id)] = records


def series(label: str, patient_id: int | None) -> list | None:
    """All of the patient's records of a self-derived form, in order, as this pass holds them; None outside."""
    held = _SERIES.get()
    return None if held is None or patient_id is None else held.get((label, patient_id))
