"""CRF-SPEC "Consent": parent/guardian consent, the child's assent from 9 years, and withdrawal."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models.codes import READ_BY_OTHER_FORMS, check_date, date_of_birth
from trial.crf import Crf, Phase


class Consent(Crf):
    """Nothing else of the patient is entered before it; a withdrawal stops new forms (recorded data stay)."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="consent",
                                   verbose_name=_("patient"))
    consent_date = models.DateField(_("parent/guardian consent date"))
    consent_version = models.CharField(_("consent form version"), max_length=20,
                                       help_text=_("As printed on the signed form, e.g. 2.1 of 2017-01-15."))
    assent_date = models.DateField(_("patient assent date"), null=True, blank=True,
                                   help_text=_("Required when the patient is 9 years or older on the consent date."))
    withdrawal_date = models.DateField(_("consent withdrawal date"), null=True, blank=True,
                                       help_text=_("Only if consent was withdrawn: no new forms can be entered "
                                                   "afterwards; what is recorded stays."))
    withdrawal_reason = models.TextField(_("withdrawal reason"), blank=True)

    age_at_consent_years = models.PositiveSmallIntegerField(_("age on the consent date (years)"), null=True,
                                                            editable=False)
    assent_required = models.BooleanField(_("assent required"), null=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 20
    crf_phase = Phase.ENROLLMENT
    crf_derived_from = ("patients.Registration",)
    crf_reads = READ_BY_OTHER_FORMS

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    @property
    def withdrawn(self) -> bool:
        return self.withdrawal_date is not None

    def normalize(self) -> None:
        self.consent_version = (self.consent_version or "").strip()
        self.withdrawal_reason = (self.withdrawal_reason or "").strip()

    def derive(self) -> None:
        born = date_of_birth(self.patient)
        if born and self.consent_date and self.consent_date >= born:
            self.age_at_consent_years = rules.age_at(born, self.consent_date)[0]
            self.assent_required = rules.assent_required(self.age_at_consent_years)
        else:
            self.age_at_consent_years = self.assent_required = None
        self.rules_version = rules.AGE_RULE_VERSION

    def clean(self) -> None:
        errors: dict = {}
        born = date_of_birth(self.patient)
        check_date(errors, Consent, "consent_date", self.consent_date, born=born)
        check_date(errors, Consent, "assent_date", self.assent_date, born=born)
        check_date(errors, Consent, "withdrawal_date", self.withdrawal_date,
                   not_before=(self.consent_date, _("the consent date")))
        if self.assent_required and self.assent_date is None and "assent_date" not in errors:
            errors["assent_date"] = _(
                "The patient is %(age)s years old on the consent date: the assent date is required from "
                "%(min)s years.") % {"age": self.age_at_consent_years, "min": rules.ASSENT_FROM_AGE_YEARS}
        if self.withdrawal_date and not self.withdrawal_reason:
            errors["withdrawal_reason"] = _("Give the reason for the withdrawal.")
        if self.withdrawal_reason and not self.withdrawal_date:
            errors["withdrawal_date"] = _("Give the date of the withdrawal (or clear the reason).")
        if errors:
            raise ValidationError(errors)
