"""Production settings pass `check --deploy`; security headers are sent; the app role cannot rewrite audit."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from patients.models import Registration

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 20 + uuid.uuid4().hex + uuid.uuid4().hex,
    "DEBUG": "0", "ALLOWED_HOSTS": "edc.example.org", "SECURE_COOKIES": "1", "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000", "STATIC_MANIFEST": "1",
}


def test_check_deploy_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}  # set by the browser tests
    env.update(PRODUCTION_ENV)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("login"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_application_role_can_write_data_but_only_append_audit(registration_a):
    role = "trial_app_ci"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    call_command("grant_app_role", role)
    history = connection.ops.quote_name(Registration.history.model._meta.db_table)
    data = connection.ops.quote_name(Registration._meta.db_table)
    try:
        for statement in (f"UPDATE {history} SET initials = 'X'", f"DELETE FROM {history}", f"TRUNCATE {history}"):
            with pytest.raises(DatabaseError, match="permission denied|append-only"):
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL ROLE {role}")
                    cursor.execute(statement)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {role}")
            cursor.execute(f"SELECT count(*) FROM {history}")
            assert cursor.fetchone()[0] == 1
            cursor.execute(f"UPDATE {data} SET initials = initials")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
