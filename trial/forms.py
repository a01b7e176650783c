"""Web forms for any CRF, built from the model: no form class per CRF."""

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from trial.crf import MISSING_REASON_MAX, REASON_MAX, Crf, CrfStatus, MissingCode
from trial.ranges import record_findings

MISSING_PREFIX, MISSING_REASON_PREFIX = "missing__", "missing_reason__"


def _widget_for(field: models.Field, **kwargs) -> forms.Field | None:
    # Dates only as ISO (what the browser's date picker sends): "03/05/2012" would mean 3 May in
    # Spanish and 5 March in English, so it is refused rather than guessed.
    if isinstance(field, models.DateTimeField):
        kwargs["widget"] = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
        kwargs["input_formats"] = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
    elif isinstance(field, models.DateField):
        kwargs["widget"] = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        kwargs["input_formats"] = ["%Y-%m-%d"]
    return field.formfield(**kwargs)


class CrfForm(forms.ModelForm):
    """Entry fields of the CRF, plus the version the user opened and the reason for change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason = forms.CharField(
        label=_("Reason for change"), required=False, max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: this form has left draft, so every change is explained in the audit trail."),
    )

    def __init__(self, *args, editable: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A draft saves whatever was typed: the page asks for nothing; the save path checks completeness when the
        # form is completed and names each missing item. Required items are still marked for the user.
        for name, field in self.fields.items():
            if name in self._meta.fields:
                field.required_to_complete = field.required
                field.required = False
        self._add_missing_codes()
        self.needs_reason = editable and self.instance.pk is not None and self.instance.status != CrfStatus.DRAFT
        if not self.needs_reason:
            del self.fields["reason"]
        if self.instance.pk is not None:
            # The version the user opened: without it a stale page could overwrite a newer save.
            self.fields["version"].required = True
            self.fields["version"].initial = self.instance.version
        if not editable:
            for field in self.fields.values():
                field.disabled = True
        if self.instance.pk is not None:
            notes = [(f.field, f.message) for f in record_findings(self.instance)]
            notes += [(flag.field, flag.message) for flag in self.instance.review_flags()]
            for name, message in notes:
                if name in self.fields:
                    field = self.fields[name]
                    field.soft_warning = f"{field.soft_warning} {message}" if getattr(field, "soft_warning", "") \
                        else message

    def _add_missing_codes(self) -> None:
        """Next to each item a site may lack: a missing-data code (not done / unknown / not applicable) and why."""
        model = self._meta.model
        coded = self.instance.missing or {}
        order = []
        for name in list(self.fields):
            order.append(name)
            if name not in model.crf_may_be_missing:
                continue
            label = self.fields[name].label
            entry = coded.get(name) or {}
            self.fields[f"{MISSING_PREFIX}{name}"] = forms.ChoiceField(
                label=_("%(field)s: if not available") % {"field": label}, required=False,
                choices=[("", _("— (answered above)")), *MissingCode.choices], initial=entry.get("code", ""))
            self.fields[f"{MISSING_REASON_PREFIX}{name}"] = forms.CharField(
                label=_("%(field)s: why it is missing") % {"field": label}, required=False,
                max_length=MISSING_REASON_MAX, initial=entry.get("reason", ""))
            order += [f"{MISSING_PREFIX}{name}", f"{MISSING_REASON_PREFIX}{name}"]
        self.order_fields(order)

    def crf_missing(self) -> dict[str, dict[str, str]]:
        """The missing-data codes as typed on the page ({} clears them all)."""
        found = {}
        for name in self._meta.model.crf_may_be_missing:
            code = self.cleaned_data.get(f"{MISSING_PREFIX}{name}")
            if code:
                found[name] = {"code": code, "reason": self.cleaned_data.get(f"{MISSING_REASON_PREFIX}{name}", "")}
        return found

    def clean(self):
        cleaned = super().clean()
        if self.needs_reason and self.has_changed() and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Give the reason for changing a form that has left draft."))
        return cleaned

    def has_changed(self) -> bool:
        return any(name not in ("version", "reason") for name in self.changed_data)

    def missing_fields(self) -> list[str]:
        return [name for name in self.fields if name.startswith((MISSING_PREFIX, MISSING_REASON_PREFIX))]

    def _post_clean(self) -> None:
        # Model validation runs in the save path (trial.crf.save_crf), where it sees derived values.
        pass

    def crf_data(self) -> dict[str, object]:
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}


def generic_form_class(model: type[Crf]) -> type[CrfForm]:
    return forms.modelform_factory(model, form=CrfForm, fields=model.entry_fields(),
                                   formfield_callback=_widget_for)


_FORMS: dict[type[Crf], type[CrfForm]] = {}


def register_form(model: type[Crf]):
    """Decorator for an app's forms.py: use this form (a subclass of the generic one) for `model`'s page."""

    def decorate(form_class: type[CrfForm]) -> type[CrfForm]:
        _FORMS[model] = form_class
        return form_class

    return decorate


def form_class_for(model: type[Crf]) -> type[CrfForm]:
    return _FORMS.get(model) or generic_form_class(model)


def attach_errors(form: forms.BaseForm, error) -> None:
    """Show a save-path ValidationError next to the fields it names (others at the top)."""
    if hasattr(error, "error_dict"):
        for name, messages in error.message_dict.items():
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
