"""Give the application's PostgreSQL role only the rights it needs (RELIABILITY §1–2).

Migrations run as the owner; web, worker and beat connect as this role. It may read and write the
study tables but only read and append to the audit (history) tables: no UPDATE, DELETE or
TRUNCATE there, so not even a bug or a stolen application credential can rewrite the audit trail.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from trial.audit import append_only_models


class Command(BaseCommand):
    help = "Grant the runtime database role its rights (PostgreSQL only; run as the owner after migrate)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", help="the PostgreSQL role web, worker and beat connect as")

    def handle(self, *args, role: str, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("grant_app_role is for PostgreSQL; SQLite has no roles.")
        quote = connection.ops.quote_name
        audit_tables = {m._meta.db_table for m in append_only_models()}
        tables = set(connection.introspection.table_names())
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"role {role!r} does not exist; create it first (CREATE ROLE … LOGIN).")
            cursor.execute(f"GRANT USAGE ON SCHEMA public TO {quote(role)}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quote(role)}")
            for table in sorted(tables):
                cursor.execute(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")
                rights = "SELECT, INSERT" if table in audit_tables else "SELECT, INSERT, UPDATE, DELETE"
                cursor.execute(f"GRANT {rights} ON {quote(table)} TO {quote(role)}")
        self.stdout.write(f"{role}: read/write on {len(tables - audit_tables)} tables, "
                          f"append-only on {len(audit_tables & tables)} audit tables.")
