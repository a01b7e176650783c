"""Form overrides for treatment CRFs (the rest use the generic form built from the model)."""

from datetime import date
from itertools import groupby

from django import forms
from django.utils import timezone

from patients import rules as enrollment_rules
from patients.models.codes import YesNo, date_of_birth
from treatment import rules
from treatment.models import AdverseEvent, CtcaeTerm, IcansAssessment
from treatment.models.codes import cycles_of
from trial.forms import generic_form_class, register_form


@register_form(AdverseEvent)
class AdverseEventForm(generic_form_class(AdverseEvent)):
    """The 837 CTCAE v5.0 terms grouped by MedDRA system organ class, each shown with its MedDRA code."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        terms = CtcaeTerm.objects.order_by("soc", "term").only("meddra_code", "soc", "term")
        self.fields["term"].choices = [("", "---------")] + [
            (soc, [(t.meddra_code, str(t)) for t in group]) for soc, group in groupby(terms, key=lambda t: t.soc)]


@register_form(IcansAssessment)
class IcansAssessmentForm(generic_form_class(IcansAssessment)):
    """Shows the items of the tool that fits the patient on the assessment date (ICE ≥ 12 y, CAPD < 12 y or with
    developmental delay); the page swaps the items in as the date or the delay is typed."""

    live_fields = (*IcansAssessment.ICE_FIELDS, *IcansAssessment.CAPD_FIELDS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tool = self._tool()
        if tool is None:
            return
        hidden = IcansAssessment.CAPD_FIELDS if tool is rules.IcansTool.ICE else IcansAssessment.ICE_FIELDS
        for name in self.live_fields:
            field = self.fields[name]
            field.offer_key = tool.value  # re-offered only when the tool changes
            if name in hidden and getattr(self.instance, name) is None and not self._typed(name):
                field.widget = forms.HiddenInput()  # an answer already given stays visible, to be cleared

    def _typed(self, name: str) -> str | None:
        return self.data.get(self.add_prefix(name)) if self.is_bound else None

    def _tool(self) -> rules.IcansTool | None:
        patient = self.instance.patient if self.instance.patient_id else None
        born = date_of_birth(patient)
        if born is None:
            return None
        try:
            on = date.fromisoformat(self._typed("assessment_date") or "")
        except ValueError:
            on = self.instance.assessment_date or self._likely_date(patient)
        delay = (self._typed("developmental_delay") or self.instance.developmental_delay) == YesNo.YES
        if on is None or on < born:
            return None
        return rules.icans_tool(age_years=enrollment_rules.age_at(born, on)[0], developmental_delay=delay)

    @staticmethod
    def _likely_date(patient) -> date | None:
        """A new form: the latest cycle's start (data are often entered later than they happen), else today."""
        latest = cycles_of(patient.pk)
        return latest[-1].start_date if latest else timezone.localdate()
