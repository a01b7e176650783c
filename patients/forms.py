from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Registration
from trial.forms import form_class_for


class RegisterPatientForm(form_class_for(Registration)):
    """Registration plus the site, offered only among the sites where the user may register."""

    site = forms.ModelChoiceField(queryset=None, label=_("Site"), empty_label=None)

    field_order = ["site", "initials", "sex", "date_of_birth", "registration_date"]

    def __init__(self, *args, sites, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["registration_date"].initial = timezone.localdate()
        if sites.count() == 1:
            self.fields["site"].initial = sites.first()
            self.fields["site"].widget = forms.HiddenInput()
