"""Item 8: one language per request. The menu names each language in itself; units are translated; the API
follows Accept-Language with English as its documented default; the OpenAPI schema is English throughout."""

import re

import pytest
from django.urls import reverse

from treatment.models import BlinatumomabCycle
from trial.middleware import api_language

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["es-mx", "en"])
def test_the_menu_names_each_language_in_itself(client, coordinator, settings, language):
    client.force_login(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get(reverse("patients:list")).content.decode()
    options = re.findall(r'<option value="[^"]+" lang="[^"]+"(?: selected)?>([^<]*)</option>', page)
    assert options == ["Español (México)", "English"]


def test_units_are_translated_with_their_label():
    from django.utils import translation

    field = BlinatumomabCycle._meta.get_field("prescribed_full_ug_day")
    with translation.override("es-mx"):
        assert str(field.verbose_name).endswith("(µg/día)")
    with translation.override("en"):
        assert str(field.verbose_name).endswith("(µg/day)")


@pytest.mark.parametrize(("header", "language"), [
    ("", "en"), ("es-MX,es;q=0.9", "es-mx"), ("es", "es-mx"), ("en-US,en;q=0.8", "en"), ("fr-FR, de;q=0.5", "en"),
    ("fr, es;q=0.5", "es-mx"), ("*", "en"),
])
def test_the_api_language_is_the_accept_language_header_else_english(header, language):
    assert api_language(header) == language


def test_api_errors_come_in_the_requested_language_and_english_by_default(api_client, coordinator, register,
                                                                           site_a, settings):
    registration = register(coordinator, site_a, complete=True)
    client = api_client(coordinator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es-mx"  # the casebook's language does not decide the API's
    url = reverse("crf-registration-detail", args=[registration.pk])
    body = {"initials": "ABD", "version": registration.version}
    english = client.patch(url, body, format="json")
    spanish = client.patch(url, body, format="json", HTTP_ACCEPT_LANGUAGE="es-MX")
    assert english.json() == {"reason": ["Give the reason for changing a form that has left draft."]}
    assert english["Content-Language"] == "en"
    assert spanish.json() == {"reason": ["Indique el motivo del cambio de un formulario que ya no está en borrador."]}
    assert spanish["Content-Language"] == "es-mx"


def test_the_schema_is_english_throughout_whatever_the_request_asks(api_client, coordinator):
    schema = api_client(coordinator).get(reverse("api-schema"), {"format": "json"}, HTTP_ACCEPT_LANGUAGE="es-MX")
    text = schema.content.decode()
    assert schema.status_code == 200
    assert "Ninguno" not in text and "Sí" not in text and "Vasopresores" not in text
    assert "Vasopressors" in text or "vasopressors" in text
