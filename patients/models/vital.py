"""The patient's vital status: death (later off-study and last contact).

It lives with the patient, below the apps that read it: treatment checks a grade-5 event or a "died of CRS"
day against the date of death, and transplant and follow-up will record off-study and last contact.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date, date_of_birth
from trial.crf import Crf, Phase


class CauseOfDeath(models.TextChoices):
    """CRF-SPEC "Follow-up status / death / off-study": the paper's causes of death."""

    RELAPSE_OR_PROGRESSION = "relapse", _("Relapse or progression")
    GVHD = "gvhd", _("Graft-versus-host disease")
    INFECTION = "infection", _("Infection")
    TREATMENT_TOXICITY = "toxicity", _("Treatment toxicity")
    OTHER = "other", _("Other")


class Death(Crf):
    """The patient's death: its date and cause. A grade-5 adverse event needs this record with the same date."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="death",
                                   verbose_name=_("patient"))
    death_date = models.DateField(_("date of death"))
    cause = models.CharField(_("primary cause of death"), max_length=10, choices=CauseOfDeath.choices)
    cause_detail = models.TextField(_("cause details"), blank=True,
                                    help_text=_("Required when the cause is “Other”; e.g. the infection or toxicity."))
    autopsy_performed = models.CharField(_("autopsy performed"), max_length=1, choices=YesNo.choices)

    crf_order = 900
    crf_phase = Phase.FOLLOW_UP
    crf_may_be_missing = ("autopsy_performed",)

    class Meta:
        verbose_name = _("death")
        verbose_name_plural = _("deaths")

    def normalize(self) -> None:
        self.cause_detail = (self.cause_detail or "").strip()

    def crf_summary(self) -> str:
        return self.death_date.isoformat() if self.death_date else ""

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Death, "death_date", self.death_date, born=date_of_birth(self.patient))
        if self.cause == CauseOfDeath.OTHER and not self.cause_detail:
            errors["cause_detail"] = _("Describe the cause of death.")
        if errors:
            raise ValidationError(errors)
