"""The study subject and its registration form."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from patients import rules
from trial.access import SiteScopedQuerySet
from trial.crf import AuditBypassError, Crf, Phase, has_no_forms

# A date of birth this far before registration is a typing error, not a pediatric patient.
MAX_AGE_AT_REGISTRATION_YEARS = 25


class PatientQuerySet(SiteScopedQuerySet):
    def update(self, **kwargs):
        raise AuditBypassError("Patients are created by patients.services.register_patient() and never changed")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditBypassError("Patients are never changed")

    def bulk_create(self, objs, *args, **kwargs):
        raise AuditBypassError("Patients are created by patients.services.register_patient()")

    def delete(self):
        raise AuditBypassError("Patients are never deleted")


class SubjectNumber(models.Model):
    """The last subject number handed out at a site. Only ever grows, so an ID is never reused."""

    site = models.OneToOneField("sites.Site", on_delete=models.PROTECT, primary_key=True, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.site_id}: {self.last_number}"


class Patient(models.Model):
    """A study subject. The subject ID is the only key: no names, addresses, CURP or record numbers."""

    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="patients",
                             verbose_name=_("site"))
    subject_id = models.CharField(_("subject ID"), max_length=16, unique=True, editable=False)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   editable=False, related_name="+")

    history = HistoricalRecords()
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["subject_id"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return self.subject_id

    def delete(self, *args, **kwargs):
        raise AuditBypassError("Patients are never deleted")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")


class AgeGroup(models.TextChoices):
    UNDER_1 = rules.AgeGroup.UNDER_1.value, _("< 1 year")
    FROM_1_TO_10 = rules.AgeGroup.FROM_1_TO_10.value, _("1–10 years")
    OVER_10 = rules.AgeGroup.OVER_10.value, _("> 10 years")


class Registration(Crf):
    """CRF-SPEC "Registration": created together with the patient, who gets the next subject ID."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="registration",
                                   verbose_name=_("patient"))
    initials = models.CharField(
        _("initials"), max_length=3,
        validators=[RegexValidator(r"^[A-ZÑ]{2,3}$", _("Enter 2 or 3 capital letters, e.g. ABC."))],
        help_text=_("2–3 letters. Never the name."),
    )
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    date_of_birth = models.DateField(_("date of birth"))
    registration_date = models.DateField(_("registration date"))

    age_years = models.PositiveSmallIntegerField(_("age at registration (years)"), null=True, editable=False)
    age_months = models.PositiveSmallIntegerField(_("age at registration (months beyond years)"), null=True,
                                                  editable=False)
    age_group = models.CharField(_("age group"), max_length=10, choices=AgeGroup.choices, blank=True,
                                 editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 10
    crf_phase = Phase.ENROLLMENT
    # A patient cannot be registered half-way: the duplicate check and the age need all four, even in a draft.
    crf_draft_requires = ("initials", "sex", "date_of_birth", "registration_date")
    crf_addable = False

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

    def normalize(self) -> None:
        if self.initials:
            self.initials = self.initials.strip().upper()

    def clean(self) -> None:
        errors = {}
        today = timezone.localdate()
        if self.registration_date and self.registration_date > today:
            errors["registration_date"] = _("The registration date %(value)s is in the future.") % {
                "value": self.registration_date.isoformat()}
        if self.date_of_birth and self.registration_date:
            if self.date_of_birth > self.registration_date:
                errors["date_of_birth"] = _(
                    "The date of birth %(value)s is after the registration date %(reg)s.") % {
                    "value": self.date_of_birth.isoformat(), "reg": self.registration_date.isoformat()}
            elif self.age_years is not None and self.age_years >= MAX_AGE_AT_REGISTRATION_YEARS:
                errors["date_of_birth"] = _(
                    "The date of birth %(value)s gives an age of %(age)s years; allowed: 0 to %(max)s.") % {
                    "value": self.date_of_birth.isoformat(), "age": self.age_years,
                    "max": MAX_AGE_AT_REGISTRATION_YEARS - 1}
        if self.date_of_birth and "date_of_birth" not in errors and "date_of_birth" in self.crf_changed:
            later = self._earliest_recorded_date()
            if later and self.date_of_birth > later[1]:
                errors["date_of_birth"] = _(
                    "The date of birth %(value)s is after the %(what)s (%(date)s) already recorded for this "
                    "patient.") % {"value": self.date_of_birth.isoformat(), "what": later[0],
                                   "date": later[1].isoformat()}
        if errors:
            raise ValidationError(errors)

    def _earliest_recorded_date(self):
        """The earliest clinical date recorded on the patient's other forms: birth cannot come after it."""
        from patients.models import Baseline, Consent, DiagnosisHistory, Relapse

        if has_no_forms(self._state.fields_cache.get("patient")):
            return None  # registered in this very transaction: no other form yet
        sources = [
            (_("consent date"), Consent, "consent_date"),
            (_("initial diagnosis date"), DiagnosisHistory, "diagnosis_date"),
            (_("first relapse date"), Relapse, "relapse_date"),
            (_("baseline assessment date"), Baseline, "assessment_date"),
        ]
        dates = [model.objects.filter(patient_id=self.patient_id).values_list(models.Value(i), field)
                 for i, (_what, model, field) in enumerate(sources)]
        dated = [(sources[i][0], when) for i, when in dates[0].union(*dates[1:], all=True) if when is not None]
        return min(dated, key=lambda item: item[1]) if dated else None

    def derive(self) -> None:
        if self.date_of_birth and self.registration_date and self.date_of_birth <= self.registration_date:
            self.age_years, self.age_months = rules.age_at(self.date_of_birth, self.registration_date)
            self.age_group = rules.age_group(self.age_years).value
        else:
            self.age_years = self.age_months = None
            self.age_group = ""
        self.rules_version = rules.AGE_RULE_VERSION
