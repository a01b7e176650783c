"""Form overrides for treatment CRFs (the rest use the generic form built from the model)."""

import re
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients import rules as enrollment_rules
from patients.models.codes import YesNo, date_of_birth
from treatment import rules
from treatment.models import AdverseEvent, CtcaeTerm, IcansAssessment
from treatment.models.codes import cycles_of
from trial.forms import generic_form_class, register_form


class CtcaeTermInput(forms.TextInput):
    """Type-ahead over the 837 CTCAE v5.0 terms: as the user types part of a term, of its organ class or its MedDRA
    code, up to SUGGESTIONS matching terms are listed below the field (treatment.views); picking one (click, or Tab
    then Enter) puts it in the field. Typing a MedDRA code or a term's exact name works without picking."""

    template_name = "treatment/widgets/ctcae_term.html"

    def format_value(self, value):
        if isinstance(value, CtcaeTerm):
            return value.label
        if value not in (None, "") and str(value).isdigit():
            term = CtcaeTerm.objects.filter(pk=int(value)).first()
            return term.label if term else str(value)
        return super().format_value(value)


class CtcaeTermField(forms.ModelChoiceField):
    """A CTCAE term given as a picked suggestion ("term · code · organ class"), a MedDRA code or a term's name."""

    widget = CtcaeTermInput
    default_error_messages = {"invalid_choice": _(
        "No CTCAE v5.0 term matches “%(value)s”: type part of the term, its organ class or its MedDRA code, and "
        "pick one of the suggestions.")}

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        code = re.search(r"\b(\d{8})\b", text)
        found = (self.queryset.filter(meddra_code=int(code.group(1))) if code
                 else self.queryset.filter(term__iexact=text.split(" · ")[0]))
        term = found.first()
        if term is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice", params={"value": text})
        return term

    def prepare_value(self, value):
        return value  # the widget shows the term's label


@register_form(AdverseEvent)
class AdverseEventForm(generic_form_class(AdverseEvent)):
    """The CTCAE v5.0 term is found by typing part of its name, its system organ class or its MedDRA code."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        generic = self.fields["term"]
        self.fields["term"] = CtcaeTermField(
            queryset=CtcaeTerm.objects.all(), required=generic.required, label=generic.label,
            help_text=_("Type part of the term, its organ class or its MedDRA code (e.g. “neutrop”, “Blood”, "
                        "“10016288”), then pick a suggestion."),
            widget=CtcaeTermInput(attrs=generic.widget.attrs))


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
