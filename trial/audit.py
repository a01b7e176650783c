"""Reading the audit trail, and keeping it append-only.

django-simple-history writes one historical row per change (in the same transaction as the data);
this module turns those rows into "who, when, what changed from → to, why", makes the history
tables refuse UPDATE and DELETE on PostgreSQL, and checks that no change escaped the trail.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps
from django.db import connection, models
from django.utils.translation import gettext

# Engine bookkeeping that changes on every save and would only add noise to a change list.
_NOT_SHOWN = {"updated_at", "updated_by", "version", "created_at", "created_by", "site", "patient"}


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class AuditEntry:
    version: int | None
    when: datetime
    user: str
    kind: str  # "+" created, "~" changed
    status: str
    reason: str
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "version": self.version, "when": self.when.isoformat(), "user": self.user, "kind": self.kind,
            "status": self.status, "reason": self.reason,
            "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in self.changes],
        }


def history_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if hasattr(m, "instance_type") and hasattr(m, "history_id")]


def append_only_models() -> list[type[models.Model]]:
    """Audit tables plus the other records that may only grow (e.g. the casebook access log)."""
    return [*history_models(), *(m for m in apps.get_models() if getattr(m, "append_only", False))]


def display_value(model: type[models.Model], name: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    custom = getattr(model, "display_value", None)
    shown = custom(name, value) if custom else None
    if shown is not None:
        return shown
    field_ = model._meta.get_field(name)
    if field_.choices:
        return str(dict(field_.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def _reason(stored: str | None) -> str:
    """Reasons the system writes for status changes are stored in English and shown translated."""
    from trial.crf import SYSTEM_REASONS

    if stored in SYSTEM_REASONS:
        return gettext(stored)
    return stored or ""


def history_entries(obj: models.Model) -> list[AuditEntry]:
    """The audit trail of one record, oldest first; one query whatever its length."""
    model = type(obj)
    records = list(obj.history.select_related("history_user").order_by("history_date", "history_id"))
    shown = [f.name for f in model._meta.concrete_fields if f.name not in _NOT_SHOWN and f.name != "id"]
    entries: list[AuditEntry] = []
    previous = None
    for record in records:
        entry = AuditEntry(
            version=getattr(record, "version", None), when=record.history_date,
            user=record.history_user.get_username() if record.history_user else "system",
            kind=record.history_type, status=display_value(model, "status", getattr(record, "status", "")),
            reason=_reason(record.history_change_reason),
        )
        for name in shown:
            attname = model._meta.get_field(name).attname
            new = getattr(record, attname)
            old = getattr(previous, attname) if previous is not None else None
            if previous is None and new in (None, ""):
                continue
            if previous is None or old != new:
                entry.changes.append(Change(name, str(model._meta.get_field(name).verbose_name),
                                            display_value(model, name, old), display_value(model, name, new)))
        entries.append(entry)
        previous = record
    return entries


_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION trial_audit_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def install_append_only_triggers(using: str = "default", **kwargs) -> int:
    """On PostgreSQL, make every append-only table refuse UPDATE and DELETE (RELIABILITY §1). Idempotent.

    TRUNCATE is left to the database grants (the application role has none on history tables); a
    trigger on it would also stop the test runner from emptying its own scratch database.
    """
    from django.db import connections

    conn = connections[using]
    if conn.vendor != "postgresql":
        return 0
    tables = [m._meta.db_table for m in append_only_models()]
    existing = set(conn.introspection.table_names())
    with conn.cursor() as cursor:
        cursor.execute(_TRIGGER_FUNCTION)
        for table in tables:
            if table not in existing:
                continue
            quoted = conn.ops.quote_name(table)
            cursor.execute(f"DROP TRIGGER IF EXISTS trial_append_only ON {quoted}")
            cursor.execute(
                f"CREATE TRIGGER trial_append_only BEFORE UPDATE OR DELETE ON {quoted} "
                "FOR EACH ROW EXECUTE FUNCTION trial_audit_is_append_only()"
            )
    return len(tables)


def audit_trail_findings() -> tuple[int, list[dict]]:
    """Rows whose latest audit record does not match the row: a change that escaped the trail.

    Returns (rows checked, findings). Two queries per audited model.
    """
    checked = 0
    findings: list[dict] = []
    for history_model in history_models():
        model = history_model.instance_type
        if model._meta.app_label in {"sites", "auth"}:  # study data only; people and sites have their own trail
            continue
        compared = [f.attname for f in model._meta.concrete_fields if f.name not in {"updated_at"}]
        latest: dict[int, models.Model] = {}
        for record in history_model.objects.order_by("history_date", "history_id").iterator():
            latest[record.id] = record
        for row in model._base_manager.all().iterator():
            checked += 1
            record = latest.get(row.pk)
            if record is None:
                findings.append({"model": model._meta.label, "pk": row.pk, "problem": "no audit record"})
                continue
            differing = [a for a in compared if getattr(record, a) != getattr(row, a)]
            if differing:
                findings.append({"model": model._meta.label, "pk": row.pk,
                                 "problem": "row differs from its latest audit record", "fields": differing})
    return checked, findings


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"
