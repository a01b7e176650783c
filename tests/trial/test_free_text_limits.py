"""Free text is bounded (an item of free text, a reason for change), refused with the limit and the length typed,
and an oversized API body is a JSON 400; nothing stored changes."""

import pytest
from django.db import models
from django.urls import reverse

from patients.models import Baseline, Registration
from tests import enrollment as build
from trial.crf import FREE_TEXT_MAX, REASON_MAX, change_status, crf_models, save_crf

pytestmark = pytest.mark.django_db


def test_every_item_of_free_text_on_every_form_is_bounded():
    unbounded = [f"{model._meta.label}.{field.name}" for model in crf_models()
                 for field in model._meta.concrete_fields
                 if isinstance(field, models.TextField) and field.editable
                 and not (field.max_length and field.max_length <= FREE_TEXT_MAX)]
    assert unbounded == []


def test_too_much_free_text_is_refused_on_the_api_and_the_page(api_client, client, coordinator, registration_a):
    build.consent(coordinator, registration_a.patient)
    baseline = build.baseline(coordinator, registration_a.patient, comorbidities="Asthma")
    api = api_client(coordinator).patch(
        reverse("crf-baseline-detail", args=[baseline.pk]),
        {"comorbidities": "x" * (FREE_TEXT_MAX + 1), "version": baseline.version, "reason": "More detail"},
        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 400
    assert api.json()["comorbidities"] == [f"Ensure this field has no more than {FREE_TEXT_MAX} characters."]
    with pytest.raises(Exception) as refused:
        save_crf(Baseline.objects.get(pk=baseline.pk), user=coordinator, reason="More detail",
                 data={"comorbidities": "x" * (FREE_TEXT_MAX + 1)}, expected_version=baseline.version)
    assert refused.value.message_dict["comorbidities"] == [
        f"Ensure this value has at most {FREE_TEXT_MAX} characters (it has {FREE_TEXT_MAX + 1})."]
    stored = Baseline.objects.get(pk=baseline.pk)
    assert (stored.comorbidities, stored.version) == ("Asthma", baseline.version)


def test_a_reason_for_change_is_bounded_on_every_path(api_client, coordinator, data_manager, register, site_a):
    registration = register(coordinator, site_a, complete=True)
    long_reason = "r" * (REASON_MAX + 1)
    api = api_client(coordinator).patch(
        reverse("crf-registration-detail", args=[registration.pk]),
        {"initials": "ABD", "version": registration.version, "reason": long_reason}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert api.status_code == 400
    assert api.json()["reason"] == [f"Ensure this field has no more than {REASON_MAX} characters."]
    message = f"The reason for change has {REASON_MAX + 1} characters; at most {REASON_MAX} are allowed."
    with pytest.raises(Exception) as refused:
        save_crf(registration, user=coordinator, data={"initials": "ABD"}, reason=long_reason,
                 expected_version=registration.version)
    assert refused.value.message_dict == {"reason": [message]}
    change_status(registration, user=data_manager, transition="lock", expected_version=registration.version)
    with pytest.raises(Exception) as refused:
        change_status(registration, user=data_manager, transition="unlock", reason=long_reason,
                      expected_version=registration.version)
    assert refused.value.message_dict == {"reason": [message]}
    assert Registration.objects.get(pk=registration.pk).initials == "ABC"


def test_an_oversized_api_body_is_a_json_400(api_client, coordinator, registration_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    response = api_client(coordinator).patch(
        reverse("crf-registration-detail", args=[registration_a.pk]),
        {"initials": "ABD", "version": registration_a.version, "reason": "x" * 200_000}, format="json",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is larger than the 0.1 MB allowed."}
    assert Registration.objects.get(pk=registration_a.pk).initials == "ABC"


def test_a_limit_is_named_in_the_language_of_each_request(api_client, coordinator, register, site_a):
    """The API's serializers are built once per form: a message shown in one language is not kept for the next."""
    registration = register(coordinator, site_a, complete=True)
    url = reverse("crf-registration-detail", args=[registration.pk])
    too_long = {"initials": "ABD", "version": registration.version, "reason": "r" * (REASON_MAX + 1)}
    client = api_client(coordinator)
    spanish = client.patch(url, too_long, format="json", HTTP_ACCEPT_LANGUAGE="es-MX").json()["reason"]
    english = client.patch(url, too_long, format="json", HTTP_ACCEPT_LANGUAGE="en").json()["reason"]
    assert spanish == [f"Asegúrese de que este campo no tenga más de {REASON_MAX} caracteres."]
    assert english == [f"Ensure this field has no more than {REASON_MAX} characters."]
