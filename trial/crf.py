"""The case-report-form engine: one abstract base for every CRF and the one path that writes them.

Every CRF inherits `Crf` (audit trail, status, version, site) and changes only through
`save_crf()` / `change_status()`: web forms, the API, imports, the demo loader and tests alike.
"""

import contextlib
import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connection, models, transaction
from django.db.models.signals import class_prepared
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from simple_history.models import HistoricalRecords

from trial import access, audit, events, reads, rows, visits
from trial.access import Action, SiteScopedQuerySet
from trial.patients import patient_model


class CrfStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    COMPLETE = "complete", _("Complete")
    VERIFIED = "verified", _("Source-verified")
    SIGNED = "signed", _("Signed")
    LOCKED = "locked", _("Locked")


class Phase(models.TextChoices):
    """Where a form belongs in the study; entry checks use it (e.g. treatment needs eligibility)."""

    ENROLLMENT = "enrollment", _("Screening and enrollment")
    TREATMENT = "treatment", _("Treatment")
    TRANSPLANT = "transplant", _("Transplant")
    FOLLOW_UP = "follow_up", _("Follow-up")
    SCHEDULE = "schedule", _("Visits not done")


class AuditBypassError(RuntimeError):
    """Raised by any write path that would skip the audit trail."""


class CrfLocked(PermissionDenied):
    """A locked form cannot change by any path."""


class StaleEdit(Exception):
    """Someone saved this form after it was opened; their change is kept and this one refused.

    `by` and `at` name the person whose change came in between (the latest one), for the message.
    """

    def __init__(self, current: "Crf", *, by: str = "", at=None) -> None:
        super().__init__(f"{current._meta.label} {current.pk} is at version {current.version}")
        self.current = current
        self.by = by
        self.at = at


class MissingCode(models.TextChoices):
    """Why a required item has no value: stored apart from a blank (CRF-SPEC conventions), exported as such."""

    NOT_DONE = "not_done", _("Not done")
    UNKNOWN = "unknown", _("Unknown")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


MISSING_REASON_MAX = 500
# Free text is bounded: an item of free text on a form, and a reason for change (it is copied into the audit trail).
FREE_TEXT_MAX = 2000
REASON_MAX = 1000


class CrfQuerySet(SiteScopedQuerySet):
    """Reads are site-scoped; bulk writes are refused because they would leave no audit record."""

    def update(self, **kwargs):  # Model.save() does not come through here
        raise AuditBypassError("CRFs change only through trial.crf.save_crf()")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditBypassError("CRFs change only through trial.crf.save_crf()")

    def delete(self):
        raise AuditBypassError("CRFs are never deleted; they are corrected with a reason")

    def bulk_create(self, objs, *args, **kwargs):
        raise AuditBypassError("CRFs are created only through trial.crf.save_crf()")


# Fields every CRF has; they are set by the engine and never typed into a form.
BASE_FIELDS = frozenset(
    {"id", "site", "patient", "status", "version", "created_at", "created_by", "updated_at", "updated_by", "visit",
     "missing"}
)
# Names the engine itself uses on pages and in the API (reason for change, the version opened, "complete"...):
# a CRF field with one of these names would collide with them (system check trial.E006).
ENGINE_NAMES = BASE_FIELDS | {"reason", "complete", "record", "transition", "history", "save_draft", "save_complete",
                              "save", "csrfmiddlewaretoken"}


def _nullable_entry_fields(sender, **kwargs) -> None:
    """Every entry field of a CRF may be empty in the database, so a draft saves whatever was typed; its free text
    is bounded.

    Whether an item is required is said by `blank` alone and checked when the form is completed (a field
    declared without `blank=True` must then be answered or coded missing). Connected before `Crf` is defined,
    so it runs before simple-history copies the fields into the audit table, and both tables agree.
    """
    crf_base = globals().get("Crf")
    if crf_base is None or not issubclass(sender, crf_base) or sender._meta.abstract:
        return
    for field in sender._meta.local_concrete_fields:
        if (field.editable and field.name not in BASE_FIELDS and not field.null
                and not isinstance(field, models.CharField | models.TextField | models.BooleanField)):
            field.null = True
        if isinstance(field, models.TextField) and field.editable and field.name not in BASE_FIELDS:
            # Free text holds at most FREE_TEXT_MAX characters unless the form says less; the page, the API and
            # the save path all refuse more, naming the limit and the length typed.
            field.max_length = min(field.max_length or FREE_TEXT_MAX, FREE_TEXT_MAX)
            field._validators = [*field._validators, MaxLengthValidator(field.max_length)]


class_prepared.connect(_nullable_entry_fields, dispatch_uid="trial_crf_nullable_entry_fields")


class Crf(models.Model):
    """Abstract base of every case report form. Fields common to all CRFs live here and nowhere else."""

    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, editable=False, related_name="+",
                             verbose_name=_("site"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    status = models.CharField(_("status"), max_length=10, choices=CrfStatus.choices, default=CrfStatus.DRAFT,
                              editable=False)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   editable=False, related_name="+", verbose_name=_("created by"))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   editable=False, related_name="+", verbose_name=_("last changed by"))
    # The visit this record belongs to (trial.visits: "SCR", "C1", "C1-IT", later "W03", "FU04"), set by the save
    # path from the schedule; it keys exports and ODM StudyEvents.
    visit = models.CharField(_("visit"), max_length=16, blank=True, editable=False, db_index=True)
    # Items explicitly coded missing: {"field": {"code": MissingCode, "reason": "..."}}, apart from blanks.
    missing = models.JSONField(_("missing data"), default=dict, blank=True, editable=False)

    history = HistoricalRecords(inherit=True, history_change_reason_field=models.TextField(null=True))
    objects = CrfQuerySet.as_manager()
    do_not_call_in_templates = True  # `section.model.crf_repeating` in a template reads the class, not a new record

    # Casebook metadata, overridden per CRF.
    crf_repeating: bool = False  # several records per patient (daily assessments, relapses, ...)
    crf_order: int = 100  # position on the patient page
    crf_addable: bool = True  # False when the form is created by another service (e.g. with the patient)
    crf_phase: str  # every concrete CRF says where it belongs (system check trial.E005): no silent default
    # Labels ("app.Model") of the CRFs whose data this form's derived values are computed from. When one of
    # them is saved, this form's records for the same patient are re-derived (and audited) automatically.
    crf_derived_from: tuple[str, ...] = ()
    # For a source in crf_derived_from, the only fields of it that this form's derivation and validation read
    # ({"patients.Registration": ("date_of_birth", ...)}); a source not named here is read whole. A save of the
    # source that changes none of the fields its dependents read looks for nothing to re-derive (trial.E009
    # checks the names).
    crf_reads: dict[str, tuple[str, ...]] = {}
    # Field that orders a patient's records when they are re-derived, for forms derived from their own earlier
    # records (e.g. a CRS day is graded knowing whether the day before was): earlier records first.
    crf_sequence_field: str | None = None
    # Typed values that restate a derived one ({"reported_grade": "crs_grade"}). The derived value is stored;
    # a typed value that contradicts it is kept beside it only once the user confirms the disagreement
    # (field `disagreement_confirmed`), and it is listed for data review.
    crf_reported: dict[str, str] = {}
    # Items a site may legitimately lack: they accept a missing-data code (not done / unknown / not applicable)
    # instead of a value, and a complete form counts them as answered.
    crf_may_be_missing: tuple[str, ...] = ()
    # Items needed even in a draft (e.g. what identifies a new patient at registration): most forms have none.
    crf_draft_requires: tuple[str, ...] = ()
    # Related rows that the form's one-line summary reads (e.g. an adverse event's CTCAE term): lists of records
    # read them in the same query, so a page costs the same queries whatever the number of records.
    crf_summary_related: tuple[str, ...] = ()
    # A page that enters a patient's records of this form together (URL name taking the subject ID), e.g. the
    # daily-counts grid; the casebook offers it beside the one-record form.
    crf_series_url: str | None = None

    class Meta:
        abstract = True

    def derive(self) -> None:
        """Recompute derived fields from inputs by calling the app's pure rules. Override per CRF."""

    def normalize(self) -> None:
        """Put typed values in canonical form (e.g. capitals) before they are compared and validated."""

    def delete(self, *args, **kwargs):
        raise AuditBypassError("CRFs are never deleted; they are corrected with a reason")

    # Entry fields this save changes (all of them on creation); set by save_crf before validation, so a
    # clean() can skip cross-form checks whose inputs did not change.
    crf_changed: frozenset[str] = frozenset()

    def crf_summary(self) -> str:
        """A few words that tell this record from its siblings on the patient page (repeating forms)."""
        return ""

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        """How a derived value reads for people, when its stored form (e.g. a list of codes) does not."""
        return None

    def review_flags(self) -> list["ReviewFlag"]:
        """What the study's rules flag on this record for data review (a late report, a date out of window...).

        Override per CRF and extend `review_filter()` so the review page finds the records in one query.
        """
        return [ReviewFlag(self, reported, _("Reported %(reported)s; computed from the recorded findings: "
                                              "%(derived)s. The computed value is the one stored.")
                           % {"reported": self.display(reported), "derived": self.display(derived)})
                for reported, derived in self.disagreements()]

    @classmethod
    def review_filter(cls) -> models.Q | None:
        """The records that have review flags, as a database filter (None: this form raises none)."""
        found = None
        for reported, derived in cls.crf_reported.items():
            typed = (~models.Q(**{f"{reported}__isnull": True}) & models.Q(**{f"{derived}__isnull": False})
                     & ~models.Q(**{reported: models.F(derived)}))
            if isinstance(cls._meta.get_field(reported), models.CharField):
                typed &= ~models.Q(**{reported: ""})
            found = typed if found is None else found | typed
        return found

    def disagreements(self) -> list[tuple[str, str]]:
        """(reported field, derived field) pairs where a typed value contradicts the derived one."""
        return [(reported, derived) for reported, derived in self.crf_reported.items()
                if getattr(self, reported) not in (None, "") and getattr(self, derived) is not None
                and getattr(self, reported) != getattr(self, derived)]

    def display(self, name: str) -> str:
        """A field's value as people read it (choice label, custom display), as the audit trail shows it."""
        return audit.display_value(type(self), name, getattr(self, name))

    @classmethod
    def crf_slug(cls) -> str:
        return cls._meta.model_name

    @classmethod
    def entry_fields(cls) -> list[str]:
        """Names of the fields a user types (everything but the engine's fields and derived values)."""
        return [f.name for f in cls._meta.concrete_fields if f.editable and f.name not in BASE_FIELDS]

    @classmethod
    def derived_fields(cls) -> list[str]:
        return [f.name for f in cls._meta.concrete_fields if not f.editable and f.name not in BASE_FIELDS]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} · {self.patient_id}"


@dataclass(frozen=True)
class ReviewFlag:
    """One thing a study rule flags on a record for the study team to review (later: a data query)."""

    record: "Crf"
    field: str
    message: str

    @property
    def label(self) -> str:
        return str(type(self.record)._meta.get_field(self.field).verbose_name)


def crf_models() -> list[type[Crf]]:
    """Every concrete CRF model, in casebook order. Discovered from the app registry, never listed."""
    found = [m for m in apps.get_models() if issubclass(m, Crf)]
    return sorted(found, key=lambda m: (m.crf_order, m._meta.label))


def crf_model_by_slug(slug: str) -> type[Crf] | None:
    return _models_by_slug().get(slug)


@functools.cache
def _models_by_slug() -> dict[str, type[Crf]]:
    return {m.crf_slug(): m for m in crf_models()}


# Checks that may refuse a new form for a patient (consent first, no treatment for a screen failure...).
# Domain apps register them; the engine runs them without knowing what they check.
EntryCheck = Callable[[models.Model, type[Crf]], str | None]
_ENTRY_CHECKS: list[EntryCheck] = []


def entry_check(check: EntryCheck) -> EntryCheck:
    """Decorator: `check(patient, model)` returns why a new `model` form may not be entered, or None."""
    if check not in _ENTRY_CHECKS:
        _ENTRY_CHECKS.append(check)
    return check


def entry_refusal(patient, model: type[Crf]) -> str | None:
    """Why a new `model` form cannot be entered for `patient` now, in the user's words; None if it can."""
    for check in _ENTRY_CHECKS:
        refusal = check(patient, model)
        if refusal:
            return str(refusal)
    return None


RECOMPUTED_REASON = gettext_noop("Recomputed after a change to another form of this patient")
RULES_REASON = gettext_noop("Recomputed under the current rule versions")




def write_record(record: Crf, *, user, reason: str | None) -> None:
    """The one audited write: every CRF row is saved here, with its audit record, by every path.

    Page, API, imports, re-derivation, status changes and jobs all come through: the version moves on, the user
    and the reason go into the audit record written in the same transaction, and the patient's "data changed"
    hook (trial.events) fires once the transaction commits.
    """
    record.version = (record.version or 0) + 1
    created = record.pk is None
    if created:
        record.created_by = user
    record.updated_by = user
    record._history_user = user
    record._change_reason = reason or None
    record.save()
    reads.forget(record._meta.label)
    events.patient_changed(record.patient_id)
    events.record_saved(record, changed=frozenset(record.crf_changed), created=created)


def write_records(records: list[Crf], *, user, reason: str) -> None:
    """The same audited write for many re-derived rows of one form at once (a re-derivation pass over a series):
    their derived values, status, visit and version in one batch of UPDATEs sent together, and their audit
    records in one INSERT. Each row still gets its own audit record with the user, the time and the reason, in
    the same transaction as its new values. Only what re-derivation changes is written; entry fields are not."""
    if len(records) <= 1:
        for record in records:
            write_record(record, user=user, reason=reason)
        return
    model = type(records[0])
    now = timezone.now()
    for record in records:
        record.version += 1
        record.updated_by, record.updated_at = user, now
        record._history_user, record._change_reason = user, reason or None
    columns = [model._meta.get_field(name) for name in (*model.derived_fields(), *_REDERIVED_BASE)]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 - identifiers from model metadata, quoted
        quote(model._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in columns),
        quote(model._meta.pk.column))
    # CrfQuerySet refuses bulk writes everywhere else: they would leave no audit record. Here each row gets one.
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*(f.get_db_prep_save(getattr(r, f.attname), connection) for f in columns), r.pk]
                                 for r in records])
    model.history.bulk_history_create(records, update=True, default_user=user, default_change_reason=reason or None,
                                      default_date=now)
    reads.forget(model._meta.label)
    for patient_id in {r.patient_id for r in records}:
        events.patient_changed(patient_id)


_REDERIVED_BASE = ("status", "version", "visit", "updated_at", "updated_by")


def _is_unanswered(record: Crf, name: str) -> bool:
    try:
        field = record._meta.get_field(name)
    except FieldDoesNotExist:  # a non-field key (e.g. __all__) is never "unanswered"
        return False
    return getattr(record, field.attname) in (None, "")


def required_items(model: type[Crf]) -> list[str]:
    """Entry fields that a complete form must answer (or code missing)."""
    return [f.name for f in model._meta.concrete_fields if f.name in model.entry_fields() and not f.blank]


def validate_record(record: Crf) -> None:
    """Validate a record as its status asks: a draft keeps what was typed, a complete form must be whole.

    Every typed value is checked (type, hard range, and its consistency with the form and the patient's other
    forms). What is still missing is asked for only once the form leaves draft: on a draft, errors about empty
    items are dropped. A complete form has every required item answered or explicitly coded missing.
    """
    try:
        record.full_clean(exclude=["site", "patient", "created_by", "updated_by"])
    except ValidationError as invalid:
        errors = invalid.error_dict if hasattr(invalid, "error_dict") else {NON_FIELD: invalid.error_list}
        kept: dict[str, list] = {}
        for name, problems in errors.items():
            draft_may_skip = record.status == CrfStatus.DRAFT and name not in record.crf_draft_requires
            if _is_unanswered(record, name) and (draft_may_skip or name in record.missing):
                continue  # a draft may leave it empty; a coded-missing item counts as answered
            kept[name] = [_required_message(record, name) if p.code in ("null", "blank", "required") else p
                          for p in problems]
        if kept:
            raise ValidationError(kept) from invalid


NON_FIELD = "__all__"


def _required_message(record: Crf, name: str) -> ValidationError:
    if name in record.crf_may_be_missing:
        return ValidationError(_("Required to complete the form: answer it, or code it as missing (not done, "
                                 "unknown or not applicable)."), code="required")
    return ValidationError(_("Required to complete the form."), code="required")


def clean_missing(model: type[Crf], coded: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """Check explicit missing-data codes ({"field": {"code": ..., "reason": ...}}) and put them in stored form."""
    cleaned: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    if not isinstance(coded, Mapping):
        raise ValidationError({"missing": _("Give missing-data codes as {\"field\": {\"code\": ..., "
                                            "\"reason\": ...}}.")})
    for name, entry in coded.items():
        if entry in (None, "", {}):
            continue  # no code: the item is answered (or still open)
        code = entry.get("code") if isinstance(entry, Mapping) else entry
        reason = str(entry.get("reason") or "").strip() if isinstance(entry, Mapping) else ""
        if name not in model.crf_may_be_missing:
            allowed = ", ".join(model.crf_may_be_missing) or "—"
            errors[name] = _("%(field)s cannot be coded missing on this form (items that can: %(allowed)s).") % {
                "field": name, "allowed": allowed}
        elif code not in MissingCode.values:
            errors[name] = _("“%(code)s” is not a missing-data code; use one of: %(codes)s.") % {
                "code": code, "codes": ", ".join(MissingCode.values)}
        elif len(reason) > MISSING_REASON_MAX:
            errors[name] = _("The reason it is missing has %(n)s characters; at most %(max)s are kept.") % {
                "n": len(reason), "max": MISSING_REASON_MAX}
        else:
            cleaned[name] = {"code": code, "reason": reason}
    if errors:
        raise ValidationError(errors)
    return cleaned


def _missing_with_values(record: Crf) -> dict[str, str]:
    """Items coded missing that also have a value: one or the other, never both."""
    return {name: _("%(field)s has a value and a missing-data code; keep one of them.") % {
        "field": capfirst(record._meta.get_field(name).verbose_name)}
        for name in record.missing if not _is_unanswered(record, name)}


def sources_of(model: type[Crf]) -> dict[str, tuple[str, ...] | None]:
    """The forms whose data `model`'s stored values are computed from, with the fields of each it reads (None: the
    whole form): its `crf_derived_from` (narrowed by `crf_reads`), and the forms that record the schedule anchors its
    visit key is matched against (a weekly assessment is keyed "W03" by its date's distance from day 0)."""
    found: dict[str, tuple[str, ...] | None] = {label: model.crf_reads.get(label) for label in model.crf_derived_from}
    for label, fields in visits.anchor_reads(model._meta.label).items():
        if label not in found:
            found[label] = fields
        elif found[label] is not None:
            found[label] = tuple(dict.fromkeys((*found[label], *fields)))
    return found


@functools.cache
def dependents_of(model: type[Crf]) -> list[type[Crf]]:
    """CRFs whose stored values depend, directly or through others, on `model`'s data; casebook order.

    A form re-derived because of `model` changes only its derived values, so the chain goes on from it only to
    forms that read one of those (a daily count reads the transplant's date, not the engraftment day the transplant
    derives from the counts: saving a count re-derives the transplant, and stops there).
    """
    found: set[type[Crf]] = set()
    frontier = [model]
    while frontier:
        source = frontier.pop()
        label = source._meta.label
        for candidate in crf_models():
            reads_from = sources_of(candidate)
            if label not in reads_from or candidate in found:
                continue
            read = reads_from[label]
            if source is not model and read is not None and not set(read) & set(source.derived_fields()):
                continue  # it reads only what re-derivation never changes
            found.add(candidate)
            frontier.append(candidate)
    return sorted(found, key=lambda m: (m.crf_order, m._meta.label))


def _feeds_dependents(model: type[Crf], changed: set[str]) -> bool:
    """Whether a save that changed `changed` (field names, "status", "missing") can change another form's derived
    values: some form derived from `model` reads one of them, or reads `model` whole (no `crf_reads` for it)."""
    label = model._meta.label
    for dependent in crf_models():
        reads_from = sources_of(dependent)
        if label in reads_from:
            read = reads_from[label]
            if read is None or changed & set(read):
                return True
    return False


def rederive(record: Crf, *, user, batch: list[Crf] | None = None) -> bool:
    """Recompute a saved record's derived values after one of its sources changed; audited when they change.

    Like an edit, a change of derived values voids source verification and signature (back to complete).
    A change that would alter a locked record, or leave a record invalid (e.g. assent now required), is
    refused: the source's save rolls back with a message naming the dependent form. The caller holds the
    patient's lock. With `batch`, a changed record is added to it for the caller's `write_records` instead of
    being written at once.
    """
    names = record.derived_fields()
    before = [getattr(record, name) for name in names]
    visit_before = record.visit
    _derive(record)
    record.visit = visits.visit_for(record)
    # A new visit key is a change too: a follow-up keyed from registration is keyed from day 0 once transplanted.
    changed = [getattr(record, name) for name in names] != before or record.visit != visit_before
    label = str(record._meta.verbose_name)
    if changed and record.status == CrfStatus.LOCKED:
        raise ValidationError(
            _("This change would alter the values computed on the locked %(form)s form; ask a data manager to "
              "unlock it first.") % {"form": label}, code="dependent_locked")
    try:
        validate_record(record)
    except ValidationError as invalid:
        raise ValidationError(
            _("This change would make the %(form)s form invalid: %(problem)s Correct that form first.")
            % {"form": label, "problem": " ".join(invalid.messages)}, code="dependent_invalid") from invalid
    if not changed:
        return False
    if record.status in (CrfStatus.VERIFIED, CrfStatus.SIGNED):
        record.status = CrfStatus.COMPLETE
    if batch is not None:
        batch.append(record)
    else:
        write_record(record, user=user, reason=RECOMPUTED_REASON)
    return True


def _derive(record: Crf) -> None:
    """Recompute derived values; a draft's half-typed inputs leave the values they cannot give empty."""
    if record.status != CrfStatus.DRAFT:
        record.derive()
        return
    with contextlib.suppress(TypeError, ValueError, ArithmeticError):
        record.derive()


_DEFERRED: ContextVar[dict | None] = ContextVar("trial_crf_deferred_rederivation", default=None)


@contextlib.contextmanager
def one_rederivation():
    """Saves made inside re-derive what depends on them once, when the block ends, instead of after each save.

    For a series entered together (31 days of blood counts saved in one request): the transplant's engraftment is
    derived once from the whole series, not 31 times. Use it inside the caller's transaction; on an error inside
    the block nothing is re-derived and the caller rolls back.
    """
    if _DEFERRED.get() is not None:
        yield
        return
    token = _DEFERRED.set({})
    try:
        yield
        pending = _DEFERRED.get()
    finally:
        _DEFERRED.reset(token)
    for (model, patient_id), (user, earliest) in pending.items():
        _refresh_dependents(model, patient_id, user, earliest=earliest)


def _refresh_or_defer(model: type[Crf], patient_id: int, user, earliest: object) -> None:
    pending = _DEFERRED.get()
    if pending is None:
        _refresh_dependents(model, patient_id, user, earliest=earliest)
        return
    key = (model, patient_id)
    if key in pending:
        before = pending[key][1]
        earliest = None if before is None or earliest is None else min(before, earliest)
    pending[key] = (user, earliest)


def _refresh_dependents(model: type[Crf], patient_id: int, user, earliest: object = None) -> None:
    """Re-derive the patient's records computed from `model`'s data, after a save of one of them.

    For a form derived from its own earlier records (`crf_sequence_field`), only its records from `earliest`
    on (the saved record's old or new position, whichever comes first) can change, so only those are re-derived;
    the whole series is read once and held in memory (trial.reads), so each re-derived row costs its own write
    and audit record, not the reads of the records before it.
    """
    dependents = dependents_of(model)
    if not dependents:
        return
    # One query finds which dependent records the patient has; only those are then locked and re-derived.
    with connection.cursor() as cursor:
        cursor.execute(_dependents_sql(model, connection.vendor), [patient_id] * len(dependents))
        existing: dict[int, list[int]] = {}
        for index, pk in cursor.fetchall():
            existing.setdefault(index, []).append(pk)
    with reads.shared_reads():
        for index, pks in sorted(existing.items()):
            dependent = dependents[index]
            sequence = dependent.crf_sequence_field
            records = list(dependent.objects.select_for_update().select_related("patient").filter(pk__in=pks)
                           .order_by(*((sequence, "pk") if sequence else ("pk",))))
            if records:
                patient = records[0].patient  # one instance: what it caches (e.g. its registration) is read once
                for record in records:
                    record.patient = patient
            if sequence:
                reads.hold_series(dependent._meta.label, patient_id, records)
                if dependent is model and earliest is not None:
                    # The saved record is included: moved later, it is re-derived after the records it now follows.
                    records = [r for r in records
                               if getattr(r, sequence) is not None and getattr(r, sequence) >= earliest]
            # Re-derived in order in memory (a series reads the rows before it as just re-derived), then written
            # together before the next form, which may read them.
            changed: list[Crf] = []
            for record in records:
                rederive(record, user=user, batch=changed)
            write_records(changed, user=user, reason=RECOMPUTED_REASON)


def rederive_patient(patient_id: int) -> int:
    """Recompute every stored value of one patient's forms under the current rules (e.g. after a rule version
    changed), in casebook order and, within a form, in its sequence; each changed record is written with its
    audit record (reason RULES_REASON, by the system). Returns how many records changed.

    Runs in the caller's transaction under the patient's lock. A change that would alter a locked form or leave
    a form invalid raises ValidationError naming it (rederive), and the caller rolls the patient back whole.
    """
    _lock_patient_rows("%s", patient_id)
    changed_total = 0
    with reads.shared_reads():
        for model in crf_models():
            if not model.derived_fields() and not visits.anchor_reads(model._meta.label):
                continue
            sequence = model.crf_sequence_field
            records = list(model.objects.select_for_update().select_related("patient").filter(patient_id=patient_id)
                           .order_by(*((sequence, "pk") if sequence else ("pk",))))
            if not records:
                continue
            for record in records[1:]:
                record.patient = records[0].patient
            if sequence:
                reads.hold_series(model._meta.label, patient_id, records)
            changed: list[Crf] = []
            for record in records:
                rederive(record, user=None, batch=changed)
            write_records(changed, user=None, reason=RULES_REASON)
            changed_total += len(changed)
    return changed_total


@functools.cache
def _dependents_sql(model: type[Crf], vendor: str) -> str:
    """SELECT <index>, id FROM <dependent table> WHERE patient_id = %s UNION ALL ... (built once per model)."""
    quote = connection.ops.quote_name
    # Identifiers come from model metadata and are quoted; the patient id is a bound parameter.
    selects = []
    for i, dependent in enumerate(dependents_of(model)):
        table, pk = quote(dependent._meta.db_table), quote(dependent._meta.pk.column)
        patient = quote(dependent._meta.get_field("patient").column)
        selects.append(f"SELECT {i}, {pk} FROM {table} WHERE {patient} = %s")  # noqa: S608
    return " UNION ALL ".join(selects)


def locked_record(model: type[Crf], pk, *, user=None) -> Crf:
    """Inside a transaction, the current row of a record about to be written, under lock: its patient first (the
    one lock order of every write), then the record; read with its patient and site. With `user`, a record of a
    site they may not see raises DoesNotExist, exactly like one that does not exist (trial.access.can_see).
    Pass it to `save_crf(..., locked=True)`: it is read once, not twice.

    On PostgreSQL it is one statement: `FOR UPDATE OF patient, record` locks the patient row, then the record's,
    and a record changed by a writer it waited for is read again at its newest version (READ COMMITTED re-checks
    the locked rows). It runs on every correction, so its SQL is built once (trial.rows).
    """
    try:
        key = model._meta.pk.to_python(pk)
    except ValidationError:
        raise model.DoesNotExist from None
    if key is None:
        raise model.DoesNotExist
    patient, site = patient_model(), model._meta.get_field("site").related_model
    if connection.features.has_select_for_update and not connection.features.has_select_for_update_of:
        _lock_patient_rows(_owner_sql(model), key)
    with connection.cursor() as cursor:
        cursor.execute(_locked_record_sql(model, connection.vendor), [key])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist
    record, record.patient, record.site = rows.instances(row, model, patient, site)
    if user is not None and not access.can_see(user, record.site_id):
        raise model.DoesNotExist
    return record


@functools.cache
def _locked_record_sql(model: type[Crf], vendor: str) -> str:
    patient, site = patient_model(), model._meta.get_field("site").related_model
    features = connection.features
    lock = ""
    if features.has_select_for_update_of:
        lock = f" FOR UPDATE OF {rows.table(patient)}, {rows.table(model)}"
    elif features.has_select_for_update:
        lock = " FOR UPDATE"
    return (f"SELECT {rows.columns(model)}, {rows.columns(patient)}, {rows.columns(site)} "  # noqa: S608
            f"FROM {rows.table(model)} "  # identifiers from model metadata, quoted; the key is a parameter
            f"INNER JOIN {rows.table(patient)} ON {rows.column(patient, 'id')} = {rows.column(model, 'patient')} "
            f"INNER JOIN {rows.table(site)} ON {rows.column(site, 'id')} = {rows.column(model, 'site')} "
            f"WHERE {rows.column(model, 'id')} = %s{lock}")


def _owner_sql(model: type[Crf]) -> str:
    return f"(SELECT {rows.column(model, 'patient')} FROM {rows.table(model)} WHERE {rows.column(model, 'id')} = %s)"  # noqa: S608


def _lock_patient_rows(key_sql: str, param) -> None:
    """SELECT ... FOR UPDATE of the patient row whose id `key_sql` gives (plain SQL: it runs on every write)."""
    patient = patient_model()._meta
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(patient.pk.column)} FROM {quote(patient.db_table)} "  # noqa: S608
                       f"WHERE {quote(patient.pk.column)} = {key_sql}{lock}", [param])


_NEW_PATIENT = "_crf_new_patient"


def mark_new_patient(patient: models.Model) -> None:
    """`patient` was created in the current transaction and has no forms yet (set by whoever created it).

    Its first form's save then skips the reads that could only find nothing: another form of the same kind,
    the patient's other forms for cross-form checks (`has_no_forms`), records to re-derive. The mark goes with
    that first save.
    """
    setattr(patient, _NEW_PATIENT, True)


def has_no_forms(patient: models.Model | None) -> bool:
    """True only for a patient created in this transaction whose first form is being saved."""
    return bool(getattr(patient, _NEW_PATIENT, False))


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for changing a form that has left draft.")})
    check_reason_length(reason)


def check_reason_length(reason: str) -> None:
    """A reason for change is copied into the audit trail: at most REASON_MAX characters."""
    if len(reason.strip()) > REASON_MAX:
        raise ValidationError({"reason": _("The reason for change has %(n)s characters; at most %(max)s are "
                                           "allowed.") % {"n": len(reason.strip()), "max": REASON_MAX}})


def save_crf(crf: Crf, *, user, data: Mapping[str, object], reason: str = "",
             expected_version: int | None = None, complete: bool = False,
             missing: Mapping[str, object] | None = None, locked: bool = False, savepoint: bool = True) -> Crf:
    """The only write path for CRF data: web forms, API, imports and tests all call it.

    Checks access and lock, refuses a stale version (the newer data are kept), requires a reason once
    the form has left draft, recomputes derived fields, validates as the status asks (a draft keeps what was
    typed; a complete form is whole), assigns the record's visit, and writes it through `write_record`.
    `missing` replaces the record's missing-data codes when given ({"field": {"code": ..., "reason": ...}}).
    `locked`: `crf` was read by `locked_record` in the caller's transaction, so it is already the current row
    (for a new record: its patient is locked and current, e.g. created in the caller's transaction).
    `savepoint=False`: the caller opened its transaction for this write alone and rolls it back whole on any
    error, so no savepoint of its own is needed (two statements fewer).
    """
    with transaction.atomic(savepoint=savepoint):
        return _save_crf(crf, user=user, data=data, reason=reason, expected_version=expected_version,
                         complete=complete, missing=missing, locked=locked)


def _save_crf(crf: Crf, *, user, data: Mapping[str, object], reason: str, expected_version: int | None,
              complete: bool, missing: Mapping[str, object] | None, locked: bool) -> Crf:
    model = type(crf)
    unknown = set(data) - set(model.entry_fields())
    if unknown:
        raise ValidationError({name: _("This field cannot be set.") for name in sorted(unknown)})
    coded = clean_missing(model, missing) if missing is not None else None

    before: dict[str, object] = {}
    changed_fields: set[str] | None = None  # a new record: everything
    if crf.pk is None:
        # `locked`: the caller holds the patient's row already (e.g. it created the patient in this transaction).
        patient = crf.patient if locked else type(crf.patient).objects.select_for_update().get(pk=crf.patient_id)
        access.require(user, Action.ENTER_DATA, site=patient.site_id)
        crf.patient = patient
        refusal = entry_refusal(patient, model)
        if refusal:
            raise ValidationError(refusal, code="entry_refused")
        target = crf
        if type(patient).site.is_cached(patient):
            target.site = patient.site  # the same object: showing the record's site reads nothing more
        else:
            target.site_id = patient.site_id
        if (not model.crf_repeating and not has_no_forms(patient)
                and model.objects.filter(patient_id=patient.pk).exists()):
            raise ValidationError(_("This patient already has a %(form)s form.") % {"form": model._meta.verbose_name})
        target.version = 0
        target.status = CrfStatus.COMPLETE if complete else CrfStatus.DRAFT
        target.missing = coded or {}
        _apply(target, data)
        target.crf_changed = frozenset(model.entry_fields())
    else:
        # Work on the locked, current row: the caller's copy may be stale in fields it did not touch.
        # Always the patient first, then its forms: concurrent edits cannot deadlock.
        target = crf if locked else locked_record(model, crf.pk)
        access.require(user, Action.ENTER_DATA, site=target.site_id)
        if target.status == CrfStatus.LOCKED:
            raise CrfLocked(_("This form is locked and cannot change."))
        if expected_version is not None and expected_version != target.version:
            _refuse_if_changed_by_someone(target, expected_version)
        before = {name: getattr(target, name) for name in (*model.entry_fields(), *model.derived_fields())}
        missing_before = target.missing
        _apply(target, data)  # normalised before comparing: "abc" for "ABC" is no change
        if coded is not None:
            target.missing = coded
        target.crf_changed = frozenset(name for name in model.entry_fields() if getattr(target, name) != before[name])
        changed = bool(target.crf_changed) or target.missing != missing_before
        new_status = target.status
        if target.status in (CrfStatus.VERIFIED, CrfStatus.SIGNED) and changed:
            new_status = CrfStatus.COMPLETE  # an edit voids source verification and signature
        if complete and target.status == CrfStatus.DRAFT:
            new_status = CrfStatus.COMPLETE
        if not changed and new_status == target.status:
            target.refresh_from_db()
            _copy_into(crf, target)
            return crf  # nothing to record
        if target.status != CrfStatus.DRAFT:
            _require_reason(reason)
        changed_fields = ({"status"} if new_status != target.status else set()) | (
            {"missing"} if target.missing != missing_before else set())
        target.status = new_status

    _derive(target)
    target.visit = visits.visit_for(target)
    _require_confirmation(target)
    both = _missing_with_values(target)
    if both:
        raise ValidationError(both)
    # The patient was read under lock above and never changes, so its existence and the one-form-per-
    # patient rule are already settled: validation skips re-checking them with two more queries.
    validate_record(target)
    _check_stop_dates(target, before, new=changed_fields is None)
    check_reason_length(reason)
    write_record(target, user=user, reason=reason.strip())
    patient = target._state.fields_cache.get("patient")
    if has_no_forms(patient):
        delattr(patient, _NEW_PATIENT)  # it has one now, and nothing derived from it yet
    elif changed_fields is None or _feeds_dependents(model, changed_fields | {
            name for name, value in before.items() if getattr(target, name) != value}):
        _refresh_or_defer(model, target.patient_id, user, _earliest(model, target, before))
    if target is not crf:
        _copy_into(crf, target)
    return crf


def _check_stop_dates(record: Crf, before: Mapping[str, object], *, new: bool) -> None:
    """A new or re-dated record may not lie after the patient's death or off-study date, or the data cut-off."""
    dated = visits.record_date(record)
    if dated is None or has_no_forms(record._state.fields_cache.get("patient")):
        return
    if new or before.get(dated[0]) != dated[1]:
        errors = visits.stop_date_errors(record)
        if errors:
            raise ValidationError(errors, code="after_stop")


def _refuse_if_changed_by_someone(current: Crf, opened: int) -> None:
    """A stale version is refused only if a person changed the record since: the system's recomputation of
    derived values (e.g. after a relapse was added) leaves what the user typed untouched, so it does not count."""
    later = (current.history.filter(version__gt=opened)
             .exclude(history_change_reason__in=(RECOMPUTED_REASON, RULES_REASON))
             .select_related("history_user").order_by("-history_id").first())
    if later is not None or opened > current.version:
        who = later.history_user.get_username() if later is not None and later.history_user else ""
        raise StaleEdit(current, by=who, at=later.history_date if later is not None else None)


def _earliest(model: type[Crf], saved: Crf, before: dict[str, object]):
    """The first position in a self-derived form's sequence that a save can affect (its old or new place)."""
    name = model.crf_sequence_field
    if name is None:
        return None
    positions = [value for value in (getattr(saved, name), before.get(name)) if value is not None]
    return min(positions) if positions else None


def _require_confirmation(crf: Crf) -> None:
    """A typed grade or response that contradicts the derived one is kept only when the user confirms it."""
    if getattr(crf, "disagreement_confirmed", False):
        return
    errors = {reported: _("You entered %(reported)s, but the recorded findings give %(derived)s, which is what is "
                          "stored. Correct the findings or your value, or tick “I confirm this disagreement” to "
                          "keep your value beside the computed one for review.")
              % {"reported": crf.display(reported), "derived": crf.display(derived)}
              for reported, derived in crf.disagreements()}
    if errors:
        raise ValidationError(errors, code="disagreement")


def _apply(target: Crf, data: Mapping[str, object]) -> None:
    for name, value in data.items():
        setattr(target, name, value)
    target.normalize()


def _copy_into(crf: Crf, source: Crf) -> None:
    for field in crf._meta.concrete_fields:
        setattr(crf, field.attname, getattr(source, field.attname))


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None = back to the status the form had before it was locked
    action: str
    needs_reason: bool
    default_reason: str  # stored in English, shown translated (trial.audit.history_entries)


SYSTEM_REASONS = frozenset({"Marked complete", "Source data verified", "Locked", RECOMPUTED_REASON, RULES_REASON})

TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("complete", _("Mark complete"), frozenset({CrfStatus.DRAFT}), CrfStatus.COMPLETE,
                   Action.ENTER_DATA, False, gettext_noop("Marked complete")),
        Transition("verify", _("Source-verify"), frozenset({CrfStatus.COMPLETE}), CrfStatus.VERIFIED,
                   Action.VERIFY, False, gettext_noop("Source data verified")),
        Transition("lock", _("Lock"), frozenset({CrfStatus.COMPLETE, CrfStatus.VERIFIED, CrfStatus.SIGNED}),
                   CrfStatus.LOCKED, Action.LOCK, False, gettext_noop("Locked")),
        Transition("unlock", _("Unlock"), frozenset({CrfStatus.LOCKED}), None, Action.LOCK, True, ""),
    ]
}


def available_transitions(crf: Crf, user) -> list[Transition]:
    return [t for t in TRANSITIONS.values()
            if crf.status in t.sources and access.can(user, t.action, site=crf.site_id)]


@transaction.atomic
def change_status(crf: Crf, *, user, transition: str, reason: str = "",
                  expected_version: int | None = None) -> Crf:
    """Move a form along draft → complete → verified → signed → locked; audited like any edit."""
    step = TRANSITIONS[transition]
    target = locked_record(type(crf), crf.pk)
    access.require(user, step.action, site=target.site_id)
    if expected_version is not None and expected_version != target.version:
        _refuse_if_changed_by_someone(target, expected_version)
    if target.status not in step.sources:
        if target.status == CrfStatus.LOCKED:
            raise CrfLocked(_("This form is locked and cannot change."))
        raise ValidationError(
            _("A form in status “%(status)s” cannot be moved with “%(action)s”.")
            % {"status": target.get_status_display(), "action": step.label}
        )
    if step.needs_reason:
        _require_reason(reason)
    check_reason_length(reason)
    target.status = step.target or _status_before_lock(target)
    if target.status != CrfStatus.DRAFT and step.name == "complete":
        validate_record(target)  # completing asks for every required item, as "Save and mark complete" does
    write_record(target, user=user, reason=reason.strip() or step.default_reason)
    _copy_into(crf, target)
    return crf


def _status_before_lock(crf: Crf) -> str:
    # history_id, not history_date: the id sequence is one clock for every web container.
    previous = (crf.history.exclude(status=CrfStatus.LOCKED).order_by("-history_id")
                .values_list("status", flat=True).first())
    return previous or CrfStatus.COMPLETE
