"""A serious adverse event notifies the site's investigators and the study's data managers at once (ICH E6 4.11:
serious events are reported immediately), when it is entered as serious or becomes serious on a correction."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from patients.models.codes import YesNo
from treatment.models import AdverseEvent
from trial.events import on_record_saved
from trial.quality.notify import notify_serious_ae


@on_record_saved("treatment.AdverseEvent")
def serious_event_saved(record: AdverseEvent, changed: frozenset[str], created: bool) -> None:
    if record.serious != YesNo.YES or not (created or "serious" in changed):
        return
    patient = record.patient
    with translation.override(settings.LANGUAGE_CODE):
        what = f"{patient.subject_id} · {record.crf_summary()} · {record.onset_date.isoformat()}"
    notify_serious_ae(site_id=record.site_id, subject_id=patient.subject_id, what=what,
                      link=reverse("casebook:form", args=[patient.subject_id, record.crf_slug(), record.pk]))
