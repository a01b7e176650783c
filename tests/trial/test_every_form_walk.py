"""Every registered form, discovered (so forms added later are walked too), on its page and through the API: a
draft with one typed value, completed with the rest, a correction refused without a reason and saved with one,
then the audit trail read back. What is typed comes from tests/walk.py; a form without an entry there fails."""

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from patients.models import Registration
from tests.walk import FormWalk, walk_for
from trial.audit import history_entries
from trial.crf import CrfStatus, crf_models

pytestmark = pytest.mark.django_db

REASON = "Source document re-read with the chart"


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def _label(model) -> str:
    return model._meta.label


def test_the_walk_covers_exactly_the_registered_forms():
    from tests.walk import WALKS

    assert sorted(WALKS) == sorted(_label(m) for m in crf_models())
    assert len(WALKS) >= 16


def _stored_differs(record, typed: dict[str, str]) -> dict[str, tuple]:
    """Typed values that are not what the record holds, compared as the model reads them."""
    differs = {}
    for name, text in typed.items():
        field = record._meta.get_field(name)
        parse = field.target_field.to_python if field.is_relation else field.to_python
        expected = parse(text) if text != "" else (None if field.null else "")
        held = field.value_from_object(record)
        if held != expected:
            differs[name] = (text, held)
    return differs


def _start(model, walk: FormWalk, coordinator, register, site_a):
    patient = register(coordinator, site_a).patient
    if walk.before is not None:
        walk.before(coordinator, patient)
    return patient


def _page_errors(response) -> dict:
    form = response.context.get("form") if response.context else None
    return dict(form.errors) if form is not None else {"status": response.status_code}


@pytest.mark.parametrize("model", crf_models(), ids=_label)
def test_every_form_on_its_page(model, client, coordinator, register, site_a):
    walk = walk_for(model)
    client.force_login(coordinator)
    if model is Registration:
        response = client.post(reverse("patients:register"), {"site": site_a.pk, **walk.draft, "save_draft": ""})
        assert response.status_code == 302, _page_errors(response)
        record = Registration.objects.get(patient__subject_id=response["Location"].rstrip("/").rsplit("/", 1)[1])
    else:
        patient = _start(model, walk, coordinator, register, site_a)
        new = reverse("casebook:form-new", args=[patient.subject_id, model.crf_slug()])
        assert client.get(new).status_code == 200
        response = client.post(new, {**walk.draft, "save_draft": ""})
        assert response.status_code == 302, _page_errors(response)
        record = model.objects.filter(patient=patient).latest("pk")
    assert (record.status, record.version, _stored_differs(record, walk.draft)) == (CrfStatus.DRAFT, 1, {})

    url = reverse("casebook:form", args=[record.patient.subject_id, model.crf_slug(), record.pk])
    typed = {**walk.draft, **walk.complete}
    response = client.post(url, {**typed, "version": record.version, "save_complete": ""})
    assert response.status_code == 302, _page_errors(response)
    record = model.objects.get(pk=record.pk)
    assert (record.status, _stored_differs(record, typed)) == (CrfStatus.COMPLETE, {})

    corrected = {**typed, **walk.correction}
    response = client.post(url, {**corrected, "version": record.version, "save": ""})
    assert response.status_code == 200 and "reason" in _page_errors(response)
    assert model.objects.get(pk=record.pk).version == record.version  # nothing half-written

    response = client.post(url, {**corrected, "version": record.version, "reason": REASON, "save": ""})
    assert response.status_code == 302, _page_errors(response)
    record = model.objects.get(pk=record.pk)
    assert (record.status, _stored_differs(record, corrected)) == (CrfStatus.COMPLETE, {})

    page = client.get(url)
    assert REASON in page.content.decode()
    _assert_trail([e.as_dict() for e in history_entries(record)], walk, coordinator)


@pytest.mark.parametrize("model", crf_models(), ids=_label)
def test_every_form_through_the_api(model, api_client, coordinator, register, site_a):
    walk = walk_for(model)
    api = api_client(coordinator)
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")
    base = f"/api/v1/forms/{model.crf_slug()}/"
    if model is Registration:
        created = api.post(base, {"site": site_a.code, **walk.draft}, format="json")
    else:
        patient = _start(model, walk, coordinator, register, site_a)
        created = api.post(base, {"patient": patient.subject_id, **walk.draft}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["status"], created.json()["version"]) == ("draft", 1)
    record = model.objects.get(pk=created.json()["id"])
    assert _stored_differs(record, walk.draft) == {}

    url = f"{base}{record.pk}/"
    completed = api.patch(url, {**walk.complete, "complete": True, "version": 1}, format="json")
    assert completed.status_code == 200, completed.json()
    record = model.objects.get(pk=record.pk)
    assert (record.status, _stored_differs(record, {**walk.draft, **walk.complete})) == (CrfStatus.COMPLETE, {})

    refused = api.patch(url, {**walk.correction, "version": record.version}, format="json")
    assert refused.status_code == 400 and "reason" in refused.json(), refused.json()
    assert model.objects.get(pk=record.pk).version == record.version

    corrected = api.patch(url, {**walk.correction, "version": record.version, "reason": REASON}, format="json")
    assert corrected.status_code == 200, corrected.json()
    record = model.objects.get(pk=record.pk)
    assert _stored_differs(record, {**walk.draft, **walk.complete, **walk.correction}) == {}
    assert corrected.json()["visit"] == record.visit != ""

    trail = api.get(f"{url}history/")
    assert trail.status_code == 200
    _assert_trail(trail.json(), walk, coordinator)


def _assert_trail(entries: list[dict], walk: FormWalk, user) -> None:
    """Created as a draft, completed, corrected with the reason: each by the user, the correction old → new."""
    people = [e for e in entries if e["user"] == user.username]
    draft, complete = str(CrfStatus.DRAFT.label), str(CrfStatus.COMPLETE.label)
    assert [(e["kind"], e["status"]) for e in people[:2]] == [("+", draft), ("~", complete)]
    last = people[-1]
    assert (last["reason"], last["status"]) == (REASON, complete)
    changed = {c["field"] for c in last["changes"]}
    assert set(walk.correction) <= changed, last["changes"]
    assert all(c["old"] != c["new"] for c in last["changes"])
