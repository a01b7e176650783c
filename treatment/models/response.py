"""CRF-SPEC "Response assessment" after each cycle: marrow blasts and MRD → CR / PR / NR (D5)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.baseline import CnsStatus
from patients.models.codes import YesNo, check_date
from treatment import rules
from treatment.models.codes import cycle_number_field, cycles_of, disagreement_field
from trial.crf import Crf, Phase
from trial.ranges import measure


class MrdResult(models.TextChoices):
    DETECTED = rules.MrdResult.DETECTED.value, _("Detected (give the level)")
    NOT_DETECTED = rules.MrdResult.NOT_DETECTED.value, _("Not detected")
    NOT_EVALUABLE = rules.MrdResult.NOT_EVALUABLE.value, _("Not evaluable or not done")


class Response(models.TextChoices):
    CR = rules.Response.CR.value, _("CR: complete remission, MRD < 0.01 %")
    PR = rules.Response.PR.value, _("PR: blasts < 5 %, MRD ≥ 0.01 %")
    NR = rules.Response.NR.value, _("NR: no response (blasts ≥ 5 %, extramedullary disease or CNS3)")
    NOT_EVALUABLE = rules.Response.NOT_EVALUABLE.value, _("Not evaluable (no valid MRD)")


class StandardResponse(models.TextChoices):
    CR_MRD_NEGATIVE = rules.StandardResponse.CR_MRD_NEGATIVE.value, _("CR, MRD-negative")
    CR_MRD_POSITIVE = rules.StandardResponse.CR_MRD_POSITIVE.value, _("CR, MRD-positive")
    NR = rules.StandardResponse.NR.value, _("No response")
    NOT_EVALUABLE = rules.StandardResponse.NOT_EVALUABLE.value, _("Not evaluable")


class ResponseAssessment(Crf):
    """The bone-marrow evaluation after a cycle; the study's response is computed, never typed."""

    cycle_number = cycle_number_field(help_text=_("The cycle this assessment evaluates."))
    assessment_date = models.DateField(_("bone-marrow aspirate date"))
    marrow_blasts_pct = measure(_("marrow blasts (morphology)"), "%", hard=(0, 100), decimals=1, null=False)
    mrd_result = models.CharField(_("MRD by flow cytometry"), max_length=14, choices=MrdResult.choices)
    mrd_pct = measure(_("MRD level"), "%", hard=(0, 100), decimals=4,
                      help_text=_("Percent of nucleated cells, up to 4 decimals (0.01 % = 10⁻⁴)."))
    mrd_lod_pct = measure(_("assay limit of detection"), "%", hard=(0.0001, 10), decimals=4,
                          help_text=_("The lab's sensitivity; a “not detected” result is a valid negative only "
                                      "if it is 0.01 % or lower."))
    mrd_cells_analysed = measure(_("cells analysed"), "", hard=(0, 100_000_000), null=True)
    extramedullary_disease = models.CharField(_("extramedullary disease"), max_length=1, choices=YesNo.choices)
    cns_status = models.CharField(_("CNS status"), max_length=8, choices=CnsStatus.choices)
    reported_response = models.CharField(
        _("response assessed by the investigator"), max_length=2, choices=Response.choices, blank=True,
        help_text=_("Optional. The response is computed from blasts and MRD; a different one here is kept beside "
                    "it for review once you confirm it."))
    disagreement_confirmed = disagreement_field()

    mrd_negative = models.BooleanField(_("MRD < 0.01 %"), null=True, editable=False)
    response = models.CharField(_("response (study definition)"), max_length=2, choices=Response.choices,
                                blank=True, editable=False)
    standard_response = models.CharField(_("response (standard categories)"), max_length=10,
                                         choices=StandardResponse.choices, blank=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 160
    crf_phase = Phase.TREATMENT
    crf_may_be_missing = ("mrd_pct", "mrd_lod_pct", "mrd_cells_analysed")
    crf_derived_from = ("treatment.BlinatumomabCycle",)
    crf_reported = {"reported_response": "response"}

    class Meta:
        verbose_name = _("response assessment")
        verbose_name_plural = _("response assessments")
        constraints = [models.UniqueConstraint(fields=["patient", "cycle_number"], name="one_response_per_cycle")]

    def crf_summary(self) -> str:
        short = self.get_response_display().split(":")[0] if self.response else ""  # "CR" (es: "RC")
        return " · ".join(filter(None, [str(_("after cycle %(n)s") % {"n": self.cycle_number}), short]))

    def derive(self) -> None:
        self.rules_version = rules.TREATMENT_RULE_VERSION
        try:
            self.mrd_negative = rules.mrd_negative(result=self.mrd_result, percent=self.mrd_pct,
                                                   lod_percent=self.mrd_lod_pct)
            result = rules.study_response(
                marrow_blasts_percent=self.marrow_blasts_pct, mrd_is_negative=self.mrd_negative,
                extramedullary_disease=self.extramedullary_disease == YesNo.YES,
                cns3=self.cns_status == CnsStatus.CNS3)
        except (TypeError, ValueError, ArithmeticError):
            self.mrd_negative, self.response, self.standard_response = None, "", ""
            return
        self.response = result.value
        self.standard_response = rules.STANDARD_RESPONSE[result].value

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, ResponseAssessment, "assessment_date", self.assessment_date)
        cycles = {c.cycle_number: c for c in cycles_of(self.patient_id)}
        cycle = cycles.get(self.cycle_number)
        if self.cycle_number and cycle is None:
            errors["cycle_number"] = _("Cycle %(n)s is not entered yet.") % {"n": self.cycle_number}
        elif cycle is not None and self.assessment_date and "assessment_date" not in errors:
            following = cycles.get(self.cycle_number + 1)
            if cycle.end_date is None:
                errors["assessment_date"] = _("The response after cycle %(n)s is assessed once the cycle has ended, "
                                              "but cycle %(n)s (started %(start)s) has no end date yet: enter its "
                                              "last infusion day on the cycle form first.") % {
                    "n": cycle.cycle_number, "start": cycle.start_date.isoformat()}
            elif self.assessment_date < cycle.end_date:
                errors["assessment_date"] = _("Bone-marrow aspirate date: %(date)s is before the last infusion day of "
                                              "cycle %(n)s (%(end)s, the end date on the cycle form).") % {
                    "date": self.assessment_date.isoformat(), "n": cycle.cycle_number,
                    "end": cycle.end_date.isoformat()}
            elif following is not None and self.assessment_date > following.start_date:
                errors["assessment_date"] = _("Bone-marrow aspirate date: %(date)s is after cycle %(next)s started "
                                              "(%(start)s); the cycle-%(n)s response is assessed before it.") % {
                    "date": self.assessment_date.isoformat(), "next": following.cycle_number,
                    "start": following.start_date.isoformat(), "n": cycle.cycle_number}
        if self.cycle_number and ResponseAssessment.objects.filter(
                patient_id=self.patient_id, cycle_number=self.cycle_number).exclude(pk=self.pk).exists():
            errors["cycle_number"] = _("The response after cycle %(n)s is already entered; correct that form "
                                       "instead.") % {"n": self.cycle_number}
        if self.mrd_result == MrdResult.DETECTED and self.mrd_pct is None:
            errors["mrd_pct"] = _("Give the MRD level that was detected.")
        elif self.mrd_result != MrdResult.DETECTED and self.mrd_pct is not None:
            errors["mrd_pct"] = _("MRD was not detected or not evaluable: clear the level.")
        if self.mrd_result == MrdResult.NOT_DETECTED and self.mrd_lod_pct is None:
            errors["mrd_lod_pct"] = _("Give the assay's limit of detection: it decides whether “not detected” is "
                                      "below 0.01 %.")
        if errors:
            raise ValidationError(errors)
