"""M7: schemathesis against our OpenAPI schema, per role: no server errors, every response as the schema says.

Requests go in-process to the WSGI application (trial.wsgi.application, whole middleware stack) with a DRF
token, inside the test's transaction, for a site with one fully enrolled patient. Positive cases are pointed
at that patient's records so detail, update, history and transition routes reach real objects, not 404.

Deterministic by default (15 examples per operation and role, fixed seed). For a deeper local run:
FUZZ_EXAMPLES=100 FUZZ_COVERAGE=1 pytest tests/api/test_schema_fuzz.py
"""

import json
import os
import sys
import traceback
from datetime import date
from typing import NamedTuple

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.errors import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from patients.services import register_patient
from sites.models import Membership, Role, Site
from tests import enrollment as build
from tests import transplant_forms as transplant
from tests.conftest import PASSWORD, REGISTRATION
from trial.access import forget_memberships
from trial.crf import crf_models
from trial.wsgi import application

pytestmark = pytest.mark.django_db

ROLES = ["coordinator", "data_manager"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))

# Positive and negative data. The coverage phase (deterministic boundary and malformed-request cases) is
# off by default: it is not bounded by max_examples and sends ~12,000 requests here, over the time budget.
CONFIG = schemathesis.Config.from_dict({
    "seed": 7,
    "phases": {"coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"}},
})

# The document /api/schema/ serves (test_the_fuzzed_schema_is_the_served_one checks they are the same).
with translation.override("en"):  # the served schema is in English (trial.api_schema.EnglishSchemaView)
    OPENAPI = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), cls=DjangoJSONEncoder))
# Every operation is fuzzed; the API has no DELETE (records are corrected, never deleted).
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG).exclude(method="DELETE")
schema.app = application


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def server_errors():
    """Tracebacks of unhandled exceptions in the app; the test's transaction kept across requests.

    Django closes "old" connections when a request starts and ends, which would break the test's transaction:
    as django.test.Client does, those two handlers are off during the test.
    """
    errors: list[str] = []

    def keep(**_kwargs) -> None:
        errors.append("".join(traceback.format_exception(*sys.exc_info())))

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    got_request_exception.connect(keep)
    try:
        yield errors
    finally:
        got_request_exception.disconnect(keep)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class Records(NamedTuple):
    enrolled: str  # subject ID of the patient with a record of every CRF
    newcomer: str  # subject ID of a patient with registration and consent only, for new forms
    forms: dict  # form slug → (model, pk of the enrolled patient's record)


class Study(NamedTuple):
    users: dict  # role fixture name → user
    records: Records


@pytest.fixture(scope="module")
def study(django_db_setup, django_db_blocker) -> Study:
    """The fuzzed study — a site, a coordinator and a data manager, a patient with a record of every CRF (built
    through the one save path) and a newcomer — built once per test process, inside a transaction rolled back when
    the module ends. Each test runs in a savepoint of it and rolls back to it (as Django's TestCase.setUpTestData),
    so no case sees another's changes. Its names (site MX09, users fuzz.*) are apart from the other tests'."""
    with django_db_blocker.unblock(), transaction.atomic():
        site = Site.objects.create(code="MX09", name="Hospital Fuzz", city="Ciudad de México")
        users = {}
        for name, role, at in (("coordinator", Role.COORDINATOR, site), ("data_manager", Role.DATA_MANAGER, None)):
            users[name] = get_user_model().objects.create_user(username=f"fuzz.{name}", password=PASSWORD)
            Membership.objects.create(user=users[name], role=role, site=at)
        coordinator = users["coordinator"]
        patient = register_patient(user=coordinator, site=site, data=dict(REGISTRATION),
                                   confirm_not_duplicate=True).patient
        build.enroll(coordinator, patient)
        transplant.one_of_each(coordinator, patient)
        forms = {}
        for model in crf_models():
            record = model.objects.filter(patient=patient).order_by("pk").first()
            assert record is not None, f"no {model.crf_slug()} record to fuzz against"
            forms[model.crf_slug()] = (model, record.pk)
        newcomer = register_patient(user=coordinator, site=site, confirm_not_duplicate=True, data={
            **REGISTRATION, "initials": "XYZ", "date_of_birth": date(2013, 1, 2)}).patient
        build.consent(coordinator, newcomer)
        for user in users.values():
            forget_memberships(user)
        yield Study(users, Records(patient.subject_id, newcomer.subject_id, forms))
        transaction.set_rollback(True)


def _steer(case, records: Records) -> None:
    """Point positive parts of a case at existing records and the current version; negative parts stay."""
    modes = case.meta.components if case.meta is not None else {}

    def positive(location: ParameterLocation) -> bool:
        info = modes.get(location)
        return info is None or info.mode == GenerationMode.POSITIVE

    parts = case.operation.path.strip("/").split("/")
    form = parts[3] if len(parts) > 3 and parts[2] == "forms" else None
    if positive(ParameterLocation.PATH):
        if "id" in case.path_parameters and form in records.forms:
            case.path_parameters["id"] = records.forms[form][1]
        if "subject_id" in case.path_parameters:
            case.path_parameters["subject_id"] = records.enrolled
    if not (positive(ParameterLocation.BODY) and isinstance(case.body, dict) and form in records.forms):
        return
    if "patient" in case.body:
        case.body["patient"] = records.newcomer
    if case.path_parameters.get("id") == records.forms[form][1]:
        # `version` is optional in the schema, but an update without the current one is refused (400/409).
        model, pk = records.forms[form]
        case.body["version"] = model.objects.values_list("version", flat=True).get(pk=pk)


def _auth(user) -> dict[str, str]:
    return {"Authorization": f"Token {AuthToken.objects.create(user)[1]}"}


def _validate(case, response, checks, server_errors: list[str]) -> None:
    """Run the checks; a failure carries the server's traceback for any unhandled exception."""
    try:
        case.validate_response(response, checks=checks)
    except FailureGroup as failure:
        for error in server_errors:
            failure.add_note(f"Server traceback:\n{error}")
        raise


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_matches_its_schema(case, role, study, server_errors):
    """M7: per role, generated requests never get a 5xx and every response matches the documented schema."""
    headers = _auth(study.users[role])
    _steer(case, study.records)
    server_errors.clear()
    response = case.call(headers=headers)
    _validate(case, response, CHECKS, server_errors)


def test_the_fuzzed_schema_is_the_served_one(api_client, coordinator):
    """M7: the fuzzed document is the one /api/schema/ serves."""
    response = api_client(coordinator).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json() == OPENAPI


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("POST", "/api/v1/forms/registration/", {}, 400),
    ("POST", "/api/v1/forms/registration/{id}/transition/", {"transition": "lock", "version": 1}, 403),
    ("GET", "/api/v1/forms/registration/{id}/", None, 404),
    ("PATCH", "/api/v1/forms/registration/{id}/", {"initials": "XYZ", "version": 99}, 409),
], ids=["400", "403", "404", "409"])
def test_client_errors_are_documented(method, path, body, status, coordinator, registration_a, server_errors):
    """M7: a refusal the coordinator gets is a status code the schema documents for that operation."""
    record = registration_a.pk if status != 404 else registration_a.pk + 1000
    extra = {"body": body, "media_type": "application/json"} if body is not None else {}
    case = schema[path][method].Case(path_parameters={"id": record} if "{id}" in path else {}, **extra)
    response = case.call(headers=_auth(coordinator))
    assert response.status_code == status, response.text
    case.validate_response(response, checks=[status_code_conformance])


NUL = "\x00"


@pytest.mark.parametrize(("method", "path", "path_parameters", "query", "body"), [
    ("POST", "/api/v1/forms/consent/", {}, {}, {"patient": f"MX01-001{NUL}", "consent_date": "2020-03-09",
                                                 "consent_version": "2.1"}),
    ("POST", "/api/v1/forms/registration/", {}, {}, {"site": f"MX01{NUL}", "initials": "ABC", "sex": "F",
                                                      "date_of_birth": "2012-05-03",
                                                      "registration_date": "2020-03-09"}),
    ("GET", "/api/v1/patients/{subject_id}/", {"subject_id": f"MX01-001{NUL}"}, {}, None),
    # `site` is not in the schema for the screening log, but the view reads it.
    ("GET", "/api/v1/screening-log/", {}, {"site": f"MX01{NUL}"}, None),
], ids=["crf-patient", "registration-site", "patient-subject-id", "screening-log-site"])
def test_a_nul_byte_is_not_a_server_error(method, path, path_parameters, query, body, coordinator, registration_a,
                                          server_errors):
    """M7: a NUL byte in a lookup value (PostgreSQL refuses it) is answered without a server error."""
    extra = {"body": body, "media_type": "application/json"} if body is not None else {}
    case = schema[path][method].Case(path_parameters=path_parameters, query=query, **extra)
    response = case.call(headers=_auth(coordinator))
    _validate(case, response, [not_a_server_error], server_errors)
