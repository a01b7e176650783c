from datetime import date

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models import Baseline, Registration
from patients.models.baseline import WORDING, PerformanceScale
from trial.forms import generic_form_class, register_form


class RegisterPatientForm(generic_form_class(Registration)):
    """Registration plus the site, offered only among the sites where the user may register."""

    site = forms.ModelChoiceField(queryset=None, label=_("Site"), empty_label=None)
    confirm_not_duplicate = forms.BooleanField(
        required=False, label=_("I have checked: this is a different patient"),
        help_text=_("Tick only after comparing with the possible duplicates listed above."))

    field_order = ["site", "initials", "sex", "date_of_birth", "registration_date"]

    def __init__(self, *args, sites, show_duplicate_confirmation: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["registration_date"].initial = timezone.localdate()
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
            self.fields["site"].widget = forms.HiddenInput()
        if not show_duplicate_confirmation:
            self.fields["confirm_not_duplicate"].widget = forms.HiddenInput()


@register_form(Baseline)
class BaselineForm(generic_form_class(Baseline)):
    """Offers the performance scale that fits the patient's age on the assessment date (PS-1)."""

    live_fields = ("performance_score",)  # re-offered as the assessment date is typed

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        on = self._assessment_date()
        scale = self.instance.scale_on(on) if self.instance.patient_id else None
        field = self.fields["performance_score"]
        if scale is None:
            return
        field.offer_key = scale.value  # the page re-offers the field only when this changes
        wording = WORDING[scale]
        field.label = format_lazy("{} · {}", field.label, PerformanceScale(scale.value).label)
        field.choices = [("", "---------"), *((s, f"{s} — {wording[s]}") for s in rules.PERFORMANCE_SCORES)]
        field.help_text = _("%(scale)s: the patient is %(age)s years old on %(date)s.") % {
            "scale": PerformanceScale(scale.value).label,
            "age": rules.age_at(self.instance.patient.registration.date_of_birth, on)[0], "date": on.isoformat()}

    def _assessment_date(self) -> date:
        if self.is_bound:
            try:
                return date.fromisoformat(self.data.get(self.add_prefix("assessment_date"), ""))
            except ValueError:
                pass
        if self.instance.assessment_date:
            return self.instance.assessment_date
        # A new form: the baseline is assessed at enrollment, so the registration date is the best guess
        # (data are often entered later; today could put a 15-year-old on the adult scale).
        registration = getattr(self.instance.patient, "registration", None)
        return registration.registration_date if registration else timezone.localdate()
