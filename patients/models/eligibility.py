"""CRF-SPEC "Eligibility": evaluated by the application from the other enrollment forms, never typed."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models.baseline import Baseline
from patients.models.codes import READ_BY_OTHER_FORMS, check_date, form_of
from patients.models.diagnosis import DiagnosisHistory, InductionResponse
from trial.crf import Crf, Phase


class Outcome(models.TextChoices):
    ELIGIBLE = rules.Outcome.ELIGIBLE.value, _("Eligible")
    SCREEN_FAILURE = rules.Outcome.SCREEN_FAILURE.value, _("Screen failure")
    INCOMPLETE = rules.Outcome.INCOMPLETE.value, _("Incomplete: data missing")


_interpolate = lazy(lambda text, values: str(text) % values, str)  # translated when shown, not at import

CRITERION_WORDING = {
    rules.Criterion.AGE: _("Age 0 to 18 years at registration"),
    rules.Criterion.CD19_PRE_B: _interpolate(_("CD19-positive precursor-B ALL by flow cytometry (CD19 on at least "
                                               "%(min)s %% of blasts)"), {"min": rules.CD19_POSITIVE_MIN_PERCENT}),
    rules.Criterion.RELAPSED_OR_REFRACTORY: _("Relapsed or refractory disease"),
    rules.Criterion.PERFORMANCE: _interpolate(_("Performance status above %(min)s (Lansky under 16 years, "
                                                "Karnofsky from 16)"), {"min": rules.MIN_PERFORMANCE_SCORE_EXCLUSIVE}),
    rules.Criterion.NOT_ISOLATED_EM_RELAPSE: _("Not an isolated extramedullary relapse (exclusion criterion)"),
}
# Which form holds the data a criterion is judged from (said when the datum is missing).
CRITERION_SOURCE = {
    rules.Criterion.AGE: _("Registration"),
    rules.Criterion.CD19_PRE_B: _("Diagnosis and history, Baseline"),
    rules.Criterion.RELAPSED_OR_REFRACTORY: _("Diagnosis and history"),
    rules.Criterion.PERFORMANCE: _("Baseline"),
    rules.Criterion.NOT_ISOLATED_EM_RELAPSE: _("Diagnosis and history, Relapses"),
}


@dataclass(frozen=True)
class CriterionLine:
    code: str
    text: str
    met: bool | None
    source: str


def _codes(value: str) -> list[rules.Criterion]:
    return [rules.Criterion(code) for code in value.split(",") if code]


class Eligibility(Crf):
    """The coordinator records when eligibility was reviewed; the application judges every criterion."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="eligibility",
                                   verbose_name=_("patient"))
    assessment_date = models.DateField(_("eligibility review date"))
    comment = models.TextField(_("comment"), blank=True)

    age_met = models.BooleanField(_("age 0–18 years"), null=True, editable=False)
    cd19_pre_b_met = models.BooleanField(_("CD19-positive pre-B ALL"), null=True, editable=False)
    relapsed_or_refractory_met = models.BooleanField(_("relapsed or refractory"), null=True, editable=False)
    performance_met = models.BooleanField(_("performance status above 80"), null=True, editable=False)
    not_isolated_em_met = models.BooleanField(_("no isolated extramedullary relapse"), null=True, editable=False)
    outcome = models.CharField(_("eligibility"), max_length=16, choices=Outcome.choices, blank=True, editable=False)
    failed_criteria = models.CharField(_("criteria not met"), max_length=200, blank=True, editable=False)
    missing_criteria = models.CharField(_("criteria waiting for data"), max_length=200, blank=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 50
    crf_phase = Phase.ENROLLMENT
    crf_derived_from = ("patients.Registration", "patients.DiagnosisHistory", "patients.Relapse",
                        "patients.Baseline")
    crf_reads = READ_BY_OTHER_FORMS

    FIELD_OF = {
        rules.Criterion.AGE: "age_met", rules.Criterion.CD19_PRE_B: "cd19_pre_b_met",
        rules.Criterion.RELAPSED_OR_REFRACTORY: "relapsed_or_refractory_met",
        rules.Criterion.PERFORMANCE: "performance_met", rules.Criterion.NOT_ISOLATED_EM_RELAPSE: "not_isolated_em_met",
    }

    class Meta:
        verbose_name = _("eligibility")
        verbose_name_plural = _("eligibility")

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        if name in ("failed_criteria", "missing_criteria"):
            return "; ".join(str(CRITERION_WORDING[c]) for c in _codes(str(value)))
        return None

    def inputs(self) -> rules.EligibilityInputs:
        registration = getattr(self.patient, "registration", None)
        diagnosis = DiagnosisHistory.objects.filter(patient_id=self.patient_id).first()
        baseline = Baseline.objects.filter(patient_id=self.patient_id).first()
        return rules.EligibilityInputs(
            age_years=registration.age_years if registration else None,
            immunophenotype=diagnosis.immunophenotype if diagnosis else None,
            cd19_percent=baseline.cd19_pct if baseline else None,
            relapse_count=diagnosis.relapse_count if diagnosis else None,
            refractory=(diagnosis.last_induction_response == InductionResponse.REFRACTORY) if diagnosis else None,
            latest_relapse_site=(diagnosis.latest_relapse_site or None) if diagnosis else None,
            performance_score=baseline.performance_score if baseline else None,
        )

    def derive(self) -> None:
        result = rules.evaluate_eligibility(self.inputs())
        for criterion, name in self.FIELD_OF.items():
            setattr(self, name, result.met[criterion])
        self.outcome = result.outcome.value
        self.failed_criteria = ",".join(c.value for c in result.failed)
        self.missing_criteria = ",".join(c.value for c in result.missing)
        self.rules_version = rules.ENROLLMENT_RULE_VERSION

    @property
    def is_eligible(self) -> bool:
        return self.outcome == Outcome.ELIGIBLE

    @property
    def is_screen_failure(self) -> bool:
        return self.outcome == Outcome.SCREEN_FAILURE

    def failed_wording(self) -> list[str]:
        return [str(CRITERION_WORDING[c]) for c in _codes(self.failed_criteria)]

    def failed_with_values(self) -> list[str]:
        """Each failed criterion with what the forms recorded, e.g. "… — recorded: Lansky 80"."""
        recorded = self.recorded_values()
        return [_("%(criterion)s — recorded: %(value)s") % {"criterion": CRITERION_WORDING[c], "value": recorded[c]}
                if recorded.get(c) else str(CRITERION_WORDING[c]) for c in _codes(self.failed_criteria)]

    def recorded_values(self) -> dict[rules.Criterion, str]:
        """The values each criterion was judged on, in words (read through the patient's related forms)."""
        patient = self.patient
        registration = form_of(patient, "registration")
        diagnosis = form_of(patient, "diagnosis")
        baseline = form_of(patient, "baseline")
        values: dict[rules.Criterion, str] = {}
        if registration is not None and registration.age_years is not None:
            values[rules.Criterion.AGE] = _("%(years)s years at registration") % {"years": registration.age_years}
        parts = []
        if diagnosis is not None:
            parts.append(str(diagnosis.get_immunophenotype_display()))
        if baseline is not None and baseline.cd19_pct is not None:
            parts.append(_("CD19 on %(pct)s %% of blasts") % {"pct": baseline.cd19_pct})
        if parts:
            values[rules.Criterion.CD19_PRE_B] = "; ".join(parts)
        if diagnosis is not None:
            values[rules.Criterion.RELAPSED_OR_REFRACTORY] = _(
                "%(count)s relapse(s); most recent induction: %(response)s") % {
                "count": diagnosis.relapse_count, "response": diagnosis.get_last_induction_response_display()}
            if diagnosis.latest_relapse_site:
                values[rules.Criterion.NOT_ISOLATED_EM_RELAPSE] = _("latest relapse %(date)s: %(site)s") % {
                    "date": diagnosis.latest_relapse_date.isoformat() if diagnosis.latest_relapse_date else "—",
                    "site": diagnosis.get_latest_relapse_site_display()}
        if baseline is not None and baseline.performance_score is not None:
            scale = baseline.get_performance_scale_display().split(" (")[0]
            values[rules.Criterion.PERFORMANCE] = f"{scale} {baseline.performance_score}"
        return values

    def checklist(self) -> list[CriterionLine]:
        return [CriterionLine(c.value, str(CRITERION_WORDING[c]), getattr(self, name), str(CRITERION_SOURCE[c]))
                for c, name in self.FIELD_OF.items()]

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Eligibility, "assessment_date", self.assessment_date)
        if errors:
            raise ValidationError(errors)
