"""CRF-SPEC "Baseline": the pre-treatment assessment, with WBC category, BSA and the performance scale derived."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models.codes import READ_BY_OTHER_FORMS, YesNo, check_date, date_of_birth
from trial.crf import Crf, Phase
from trial.ranges import measure


class CnsStatus(models.TextChoices):
    CNS1 = "CNS1", _("CNS1: no blasts in the CSF")
    CNS2 = "CNS2", _("CNS2: < 5 WBC/µL with blasts")
    CNS3 = "CNS3", _("CNS3: ≥ 5 WBC/µL with blasts, or cranial-nerve palsy / CNS mass")
    NOT_DONE = "not_done", _("Not done")


class HlaMethod(models.TextChoices):
    PCR_SSP = "pcr_ssp", "PCR-SSP"
    PCR_SSO = "pcr_sso", "PCR-SSO"
    SBT = "sbt", _("Sequencing (SBT)")
    NGS = "ngs", _("Next-generation sequencing")
    OTHER = "other", _("Other")


class WbcCategory(models.TextChoices):
    BELOW_10K = rules.WbcCategory.BELOW_10K.value, _("< 10,000 /µL")
    FROM_10K_TO_50K = rules.WbcCategory.FROM_10K_TO_50K.value, _("10,000–50,000 /µL")
    ABOVE_50K = rules.WbcCategory.ABOVE_50K.value, _("> 50,000 /µL")


class PerformanceScale(models.TextChoices):
    LANSKY = rules.PerformanceScale.LANSKY.value, _("Lansky play-performance (under 16 years)")
    KARNOFSKY = rules.PerformanceScale.KARNOFSKY.value, _("Karnofsky (16 years and older)")


# What each score means on each scale (CLINICAL-RULES 6.1 and 6.2); the form shows the patient's scale.
LANSKY_WORDING = {
    100: _("Fully active, normal"),
    90: _("Minor restrictions in physically strenuous activity"),
    80: _("Active, but tires more quickly"),
    70: _("Both greater restriction of and less time spent in play activity"),
    60: _("Up and around, but minimal active play; keeps busy with quieter activities"),
    50: _("Gets dressed, but lies around much of the day; no active play; able to participate in all quiet "
          "play and activities"),
    40: _("Mostly in bed; participates in quiet activities"),
    30: _("In bed; needs assistance even for quiet play"),
    20: _("Often sleeping; play entirely limited to very passive activities"),
    10: _("No play; does not get out of bed"),
    0: _("Unresponsive"),
}
KARNOFSKY_WORDING = {
    100: _("Normal, no complaints, no evidence of disease"),
    90: _("Able to carry on normal activity; minor signs or symptoms"),
    80: _("Normal activity with effort; some signs or symptoms"),
    70: _("Cares for self; unable to carry on normal activity or do active work"),
    60: _("Requires occasional assistance but able to care for most personal needs"),
    50: _("Requires considerable assistance and frequent medical care"),
    40: _("Disabled; requires special care and assistance"),
    30: _("Severely disabled; hospitalization indicated although death not imminent"),
    20: _("Very sick; hospitalization and active supportive treatment necessary"),
    10: _("Moribund; fatal processes progressing rapidly"),
    0: _("Dead"),
}
WORDING = {rules.PerformanceScale.LANSKY: LANSKY_WORDING, rules.PerformanceScale.KARNOFSKY: KARNOFSKY_WORDING}


class Baseline(Crf):
    """The assessment before blinatumomab: body size, blood counts, marrow, CNS, HLA typing, performance."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="baseline",
                                   verbose_name=_("patient"))
    assessment_date = models.DateField(_("assessment date"))
    weight_kg = measure(_("weight"), "kg", hard=(0.5, 200), soft=(3, 150), decimals=1, null=False)
    height_cm = measure(_("height"), "cm", hard=(30, 230), soft=(45, 200), decimals=1, null=False)
    wbc_per_ul = measure(_("white-cell count"), "/µL", hard=(0, 1_000_000), soft=(500, 300_000), null=False)
    hemoglobin_g_dl = measure(_("hemoglobin"), "g/dL", hard=(1, 25), soft=(5, 18), decimals=1, null=False)
    platelets_10e9_l = measure(_("platelets"), "×10⁹/L", hard=(0, 3000), soft=(5, 1000), null=False)
    marrow_blasts_pct = measure(_("bone-marrow blasts"), "%", hard=(0, 100), decimals=1, null=False)
    cd19_pct = measure(_("CD19 on blasts (flow cytometry)"), "%", hard=(0, 100), decimals=1, null=False,
                       help_text=_("Percentage of leukemic blasts expressing CD19."))
    cns_status = models.CharField(_("CNS status"), max_length=8, choices=CnsStatus.choices)
    lumbar_puncture_date = models.DateField(_("lumbar puncture date"), null=True, blank=True)
    extramedullary_disease = models.CharField(_("extramedullary disease"), max_length=1, choices=YesNo.choices)
    extramedullary_sites = models.CharField(_("extramedullary sites"), max_length=200, blank=True,
                                            help_text=_("When there is extramedullary disease, e.g. testis, skin."))
    comorbidities = models.TextField(_("comorbidities"), blank=True, help_text=_("Leave empty when none."))
    hla_typing_done = models.CharField(_("HLA typing done"), max_length=1, choices=YesNo.choices)
    hla_typing_date = models.DateField(_("HLA typing date"), null=True, blank=True)
    hla_typing_method = models.CharField(_("HLA typing method"), max_length=8, choices=HlaMethod.choices, blank=True)
    performance_score = models.PositiveSmallIntegerField(
        _("performance score"), choices=[(score, str(score)) for score in rules.PERFORMANCE_SCORES],
        help_text=_("Lansky under 16 years, Karnofsky from 16 years (age on the assessment date)."))

    age_at_assessment_years = models.PositiveSmallIntegerField(_("age on the assessment date (years)"), null=True,
                                                               editable=False)
    performance_scale = models.CharField(_("performance scale"), max_length=10, choices=PerformanceScale.choices,
                                         blank=True, editable=False)
    bsa_m2 = models.FloatField(_("body surface area (m², Mosteller)"), null=True, editable=False)
    wbc_category = models.CharField(_("WBC category"), max_length=12, choices=WbcCategory.choices, blank=True,
                                    editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 40
    crf_phase = Phase.ENROLLMENT
    crf_may_be_missing = ("wbc_per_ul", "hemoglobin_g_dl", "platelets_10e9_l", "marrow_blasts_pct", "cd19_pct",
                          "lumbar_puncture_date", "hla_typing_date")
    crf_derived_from = ("patients.Registration",)
    crf_reads = READ_BY_OTHER_FORMS

    class Meta:
        verbose_name = _("baseline")
        verbose_name_plural = _("baselines")

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        if name == "bsa_m2":
            return f"{value:.2f} m²"  # D11: kept unrounded, shown with 2 decimals
        return None

    def scale_on(self, on) -> rules.PerformanceScale | None:
        born = date_of_birth(self.patient)
        if born is None or on is None or on < born:
            return None
        return rules.performance_scale(rules.age_at(born, on)[0])

    def normalize(self) -> None:
        self.extramedullary_sites = (self.extramedullary_sites or "").strip()
        self.comorbidities = (self.comorbidities or "").strip()

    def derive(self) -> None:
        born = date_of_birth(self.patient)
        if born and self.assessment_date and self.assessment_date >= born:
            self.age_at_assessment_years = rules.age_at(born, self.assessment_date)[0]
            self.performance_scale = rules.performance_scale(self.age_at_assessment_years).value
        else:
            self.age_at_assessment_years = None
            self.performance_scale = ""
        try:
            self.bsa_m2 = rules.bsa_mosteller(height_cm=self.height_cm, weight_kg=self.weight_kg)
        except (TypeError, ValueError):  # not entered yet, or out of range (refused by validation)
            self.bsa_m2 = None
        try:
            self.wbc_category = rules.wbc_category(self.wbc_per_ul).value
        except (TypeError, ValueError):
            self.wbc_category = ""
        self.rules_version = rules.ENROLLMENT_RULE_VERSION

    def clean(self) -> None:
        errors: dict = {}
        born = date_of_birth(self.patient)
        check_date(errors, Baseline, "assessment_date", self.assessment_date, born=born)
        check_date(errors, Baseline, "lumbar_puncture_date", self.lumbar_puncture_date, born=born)
        check_date(errors, Baseline, "hla_typing_date", self.hla_typing_date, born=born)
        if self.cns_status and self.cns_status != CnsStatus.NOT_DONE and not self.lumbar_puncture_date:
            errors.setdefault("lumbar_puncture_date",
                              _("Give the date of the lumbar puncture that set the CNS status."))
        if self.extramedullary_disease == YesNo.YES and not self.extramedullary_sites:
            errors["extramedullary_sites"] = _("Name the extramedullary sites.")
        if self.hla_typing_done == YesNo.YES:
            if not self.hla_typing_date:
                errors.setdefault("hla_typing_date", _("Give the date of the HLA typing."))
            if not self.hla_typing_method:
                errors["hla_typing_method"] = _("Give the HLA typing method.")
        elif self.hla_typing_done == YesNo.NO and (self.hla_typing_date or self.hla_typing_method):
            errors.setdefault("hla_typing_date", _("HLA typing was not done: clear its date and method."))
        if errors:
            raise ValidationError(errors)
