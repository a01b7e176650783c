"""Patients the transplant tests start from (dates of tests.transplant_forms: cycle 1 from 2020-03-20 to 2020-04-16,
its CR on 2020-04-20, day 0 on 2020-06-15), and English messages so the assertions read like the code."""

import pytest
from django.utils import translation

from tests import enrollment
from tests import transplant_forms as tx
from tests import treatment_forms as treatment


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client(client, settings):
    """Pages in English too (the language cookie; es-MX is covered elsewhere)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def treated(coordinator, registration_a):
    """Enrolled, debulked, cycle 1 (to 2020-04-16) and its response, CR on 2020-04-20: ready for a transplant."""
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.response(coordinator, patient)
    return patient


@pytest.fixture
def day0(coordinator, treated):
    """The treated patient with day 0 on 2020-06-15; no count or assessment after it yet."""
    tx.procedure(coordinator, treated)
    return treated
