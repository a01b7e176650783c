"""The data cut-off is a study parameter: visible to every member, set by a data manager with a reason, each
setting kept; no visit after it is expected and no record may be dated after it."""

from datetime import date

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from tests import enrollment
from tests import treatment_forms as treatment
from trial.models import DataCutoff
from trial.schedule import State
from trial.visits import data_cutoff, patient_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def test_a_data_manager_sets_the_cut_off_with_a_reason_and_every_setting_is_kept(client, data_manager):
    client.force_login(data_manager)
    url = reverse("data-cutoff")
    refused = client.post(url, {"cutoff_date": "2020-06-30"})
    assert refused.status_code == 200 and not DataCutoff.objects.exists()  # no reason, nothing saved
    assert client.post(url, {"cutoff_date": "2020-06-30", "reason": "Interim analysis"}).status_code == 302
    assert client.post(url, {"cutoff_date": "2020-12-31", "reason": "Final analysis"}).status_code == 302
    assert data_cutoff() == date(2020, 12, 31)
    page = client.get(url).content.decode()
    assert "2020-12-31" in page and "Interim analysis" in page and "Final analysis" in page
    lifted = client.post(url, {"cutoff_date": "", "reason": "Follow-up continues"})
    assert lifted.status_code == 302 and data_cutoff() is None
    assert DataCutoff.objects.count() == 3


def test_a_cut_off_in_the_future_is_refused(client, data_manager):
    client.force_login(data_manager)
    response = client.post(reverse("data-cutoff"), {"cutoff_date": "2999-01-01", "reason": "x"})
    assert "in the future" in response.content.decode() and not DataCutoff.objects.exists()


def test_a_coordinator_sees_the_cut_off_but_cannot_set_it(client, api_client, coordinator, data_manager):
    DataCutoff.objects.create(cutoff_date=date(2021, 3, 31), reason="Analysis", set_by=data_manager)
    client.force_login(coordinator)
    assert "2021-03-31" in client.get(reverse("data-cutoff")).content.decode()
    assert client.post(reverse("data-cutoff"), {"cutoff_date": "2021-01-01", "reason": "x"}).status_code == 403
    body = api_client(coordinator).get("/api/v1/data-cutoff/").json()
    assert body["cutoff_date"] == "2021-03-31" and body["history"][0]["set_by"] == data_manager.get_username()


def test_nothing_is_expected_after_the_cut_off_and_nothing_may_be_dated_after_it(coordinator, data_manager,
                                                                                  registration_a):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    DataCutoff.objects.create(cutoff_date=date(2020, 4, 18), reason="Analysis", set_by=data_manager)
    states = {(s.key, s.form): s for s in patient_schedule(patient, as_of=date(2020, 12, 1))}
    assert states[("C1-IT", "treatment.IntrathecalTherapy")].state == State.NOT_APPLICABLE  # window opens after
    with pytest.raises(Exception, match="after the study's data cut-off date"):
        treatment.response(coordinator, patient)  # dated 2020-04-20
