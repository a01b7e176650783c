"""Helpers for tests that post the Registration form page like a browser would."""

from django.urls import reverse


def form_url(crf) -> str:
    return reverse("casebook:form", args=[crf.patient.subject_id, crf.crf_slug(), crf.pk])


def form_post(crf, **changes) -> dict:
    """The form as the page shows it for `crf`, with `changes`; a change to None leaves the field out."""
    data = {"initials": crf.initials, "sex": crf.sex, "date_of_birth": crf.date_of_birth.isoformat(),
            "registration_date": crf.registration_date.isoformat(), "version": crf.version}
    return {k: v for k, v in {**data, **changes}.items() if v is not None}
