"""The patient's post-transplant series as the transplant procedure's derivations read them: one query each per
re-derivation pass (trial.reads), dropped as soon as a record of the series is written."""

from django.apps import apps

from trial.reads import shared


def _of(model: str, patient_id: int | None, order: str) -> list:
    if patient_id is None:
        return []
    return list(apps.get_model("transplant", model).objects.filter(patient_id=patient_id).order_by(order, "pk"))


@shared("transplant.DailyCount")
def counts_of(patient_id: int | None) -> list:
    return _of("DailyCount", patient_id, "count_date")


@shared("transplant.AcuteGvhd")
def acute_gvhd_of(patient_id: int | None) -> list:
    return _of("AcuteGvhd", patient_id, "assessment_date")


@shared("transplant.ChronicGvhd")
def chronic_gvhd_of(patient_id: int | None) -> list:
    return _of("ChronicGvhd", patient_id, "assessment_date")
