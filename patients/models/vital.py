"""The patient's vital status: follow-up contacts (last contact), death and off-study.

It lives with the patient, below the apps that read it: treatment checks a grade-5 event or a "died of CRS"
day against the date of death, the schedule stops at death and off-study (D14), and the reports read the last
contact for survival.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date, date_of_birth
from trial import visits
from trial.crf import Crf, Phase

# Forms whose date may come after the date of death: the death itself, and an administrative off-study.
_NOT_BEFORE_DEATH = frozenset({"patients.Death", "patients.OffStudy"})


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
        if self.death_date and "death_date" not in errors and self.patient_id:
            latest = visits.latest_recorded_date(self.patient_id, exclude=_NOT_BEFORE_DEATH)
            if latest is not None and latest[0] > self.death_date:
                errors["death_date"] = _("Date of death: %(date)s is before %(other)s, recorded on the %(form)s form; "
                                         "no other date of the patient may come after the death.") % {
                    "date": self.death_date.isoformat(), "other": latest[0].isoformat(),
                    "form": visits.form_label(latest[1])}
        if self.cause == CauseOfDeath.OTHER and not self.cause_detail:
            errors["cause_detail"] = _("Describe the cause of death.")
        if errors:
            raise ValidationError(errors)


class VitalStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DEAD = "dead", _("Dead (enter the Death form)")


class DiseaseStatus(models.TextChoices):
    """Disease status at a follow-up contact (CRF-SPEC "Follow-up status")."""

    CONTINUOUS_CR = "ccr", _("Continuous complete remission")
    RELAPSED = "relapsed", _("Relapsed (record the relapse on its form)")
    NEVER_IN_REMISSION = "no_cr", _("Never in remission / active disease")
    UNKNOWN = "unknown", _("Not assessed")


class FollowUp(Crf):
    """A follow-up contact every 3 months to 60 months (±30 days, D12): last contact, vital and disease status."""

    contact_date = models.DateField(_("date of contact"), help_text=_("The last date the patient was known to be "
                                                                      "alive, or the date of this contact."))
    vital_status = models.CharField(_("vital status"), max_length=5, choices=VitalStatus.choices)
    disease_status = models.CharField(_("disease status"), max_length=8, choices=DiseaseStatus.choices)
    comment = models.TextField(_("comment"), blank=True)

    crf_repeating = True
    crf_order = 880
    crf_phase = Phase.FOLLOW_UP

    class Meta:
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-up contacts")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [self.contact_date.isoformat() if self.contact_date else "",
                                        self.get_vital_status_display().split(" (")[0] if self.vital_status else ""]))

    def normalize(self) -> None:
        self.comment = (self.comment or "").strip()

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, FollowUp, "contact_date", self.contact_date, born=date_of_birth(self.patient))
        if self.contact_date and FollowUp.objects.filter(patient_id=self.patient_id,
                                                         contact_date=self.contact_date).exclude(pk=self.pk).exists():
            errors["contact_date"] = _("This patient already has a follow-up contact on %(date)s; correct that one "
                                       "instead.") % {"date": self.contact_date.isoformat()}
        if self.vital_status == VitalStatus.DEAD and not Death.objects.filter(patient_id=self.patient_id).exists():
            errors["vital_status"] = _("Enter the patient's Death form first (date and cause); follow-up contacts "
                                       "record living patients.")
        if errors:
            raise ValidationError(errors)


class OffStudyReason(models.TextChoices):
    COMPLETED = "completed", _("Completed the 60-month follow-up")
    DEATH = "death", _("Death")
    CONSENT_WITHDRAWN = "withdrawn", _("Consent withdrawn")
    LOST_TO_FOLLOW_UP = "lost", _("Lost to follow-up")
    INVESTIGATOR_DECISION = "investigator", _("Investigator's decision")
    OTHER = "other", _("Other")


class OffStudy(Crf):
    """The patient leaves the study: date and reason. Nothing is expected afterwards (D14) and no new record may be
    dated after it; recorded data can still be corrected with a reason."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="off_study",
                                   verbose_name=_("patient"))
    off_study_date = models.DateField(_("off-study date"))
    off_study_reason = models.CharField(_("reason"), max_length=12, choices=OffStudyReason.choices)
    reason_detail = models.TextField(_("details"), blank=True,
                                     help_text=_("Required when the reason is “Other”."))

    crf_order = 910
    crf_phase = Phase.FOLLOW_UP

    class Meta:
        verbose_name = _("off-study")
        verbose_name_plural = _("off-study")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [self.off_study_date.isoformat() if self.off_study_date else "",
                                        self.get_off_study_reason_display() if self.off_study_reason else ""]))

    def normalize(self) -> None:
        self.reason_detail = (self.reason_detail or "").strip()

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, OffStudy, "off_study_date", self.off_study_date, born=date_of_birth(self.patient))
        if self.off_study_reason == OffStudyReason.OTHER and not self.reason_detail:
            errors["reason_detail"] = _("Describe why the patient left the study.")
        death = Death.objects.filter(patient_id=self.patient_id).first()
        if self.off_study_reason == OffStudyReason.DEATH and death is None:
            errors["off_study_reason"] = _("Enter the patient's Death form first.")
        elif (self.off_study_reason == OffStudyReason.DEATH and self.off_study_date and death.death_date
              and self.off_study_date < death.death_date):
            errors["off_study_date"] = _("Off-study date: %(date)s is before the date of death (%(death)s).") % {
                "date": self.off_study_date.isoformat(), "death": death.death_date.isoformat()}
        if self.off_study_date and "off_study_date" not in errors and self.patient_id:
            latest = visits.latest_recorded_date(self.patient_id, exclude=_NOT_BEFORE_DEATH)
            if latest is not None and latest[0] > self.off_study_date:
                errors["off_study_date"] = _("Off-study date: %(date)s is before %(other)s, recorded on the %(form)s "
                                             "form; a patient leaves the study after their last record.") % {
                    "date": self.off_study_date.isoformat(), "other": latest[0].isoformat(),
                    "form": visits.form_label(latest[1])}
        if errors:
            raise ValidationError(errors)
