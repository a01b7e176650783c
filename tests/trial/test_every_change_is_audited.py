"""M2 in small: random corrections through the API, the form page, the save path and status changes
each leave exactly one audit row, with the user, the time, old → new, and the reason when required."""

import random

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from patients.models import Registration
from trial.crf import CrfStatus, change_status, save_crf

pytestmark = pytest.mark.django_db

INITIALS = ["ABC", "XYZ", "MGA", "JLM", "RT", "QPS"]


def test_random_mutations_each_leave_exactly_one_audit_row(register, coordinator, monitor, site_a):
    rng = random.Random(20261124)
    forms = [register(coordinator, site_a, complete=rng.random() < 0.5) for _ in range(4)]
    web, api = Client(), APIClient()
    web.force_login(coordinator)
    api.force_authenticate(coordinator)
    for step in range(60):
        crf = Registration.objects.get(pk=rng.choice(forms).pk)
        before = crf.history.count()
        version, initials, status = crf.version, crf.initials, crf.status  # save_crf refreshes `crf`
        new = rng.choice([i for i in INITIALS if i != crf.initials])
        reason = f"step {step}: source document"
        path = rng.choice(["api", "web", "service", "status"])
        if path == "status" and status == CrfStatus.COMPLETE:
            change_status(crf, user=monitor, transition="verify", expected_version=crf.version)
            expected_user, expected_reason = monitor, "Source data verified"
        elif path == "api":
            response = api.patch(reverse("crf-registration-detail", args=[crf.pk]),
                                 {"initials": new, "version": crf.version, "reason": reason}, format="json")
            assert response.status_code == 200, response.content
            expected_user, expected_reason = coordinator, reason
        elif path == "web":
            response = web.post(reverse("casebook:form", args=[crf.patient.subject_id, "registration", crf.pk]), {
                "initials": new, "sex": crf.sex, "date_of_birth": crf.date_of_birth.isoformat(),
                "registration_date": crf.registration_date.isoformat(), "version": crf.version, "reason": reason})
            assert response.status_code == 302
            expected_user, expected_reason = coordinator, reason
        else:
            save_crf(crf, user=coordinator, data={"initials": new}, reason=reason, expected_version=crf.version)
            expected_user, expected_reason = coordinator, reason
        after = Registration.objects.get(pk=crf.pk)
        records = list(after.history.order_by("-history_id"))
        assert len(records) == before + 1, f"step {step} via {path}"
        latest, previous = records[0], records[1]
        assert latest.history_user == expected_user
        assert latest.version == after.version == version + 1
        assert latest.history_date.tzinfo is not None
        if status != CrfStatus.DRAFT:
            assert latest.history_change_reason == expected_reason
        if path != "status" or status != CrfStatus.COMPLETE:
            assert (previous.initials, latest.initials) == (initials, new)
