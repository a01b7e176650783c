"""CRF-SPEC "Acute GVHD" (weekly to day +100: MAGIC organ stages → overall grade) and "Chronic GVHD" (NIH 2014 organ
scores → global severity). Stages and grades are computed from the findings, never typed (CLINICAL-RULES §4)."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date
from transplant import rules
from transplant.models.codes import (
    check_after_day0,
    day_after_transplant,
    day_label,
    day_post_transplant_field,
    one_per_date,
)
from transplant.models.procedure import ChronicSeverity, MagicGrade
from treatment.models.codes import disagreement_field
from trial.crf import Crf, Phase
from trial.ranges import measure

YES, NO = YesNo.YES, YesNo.NO


class SkinStage(models.IntegerChoices):
    """MAGIC skin stage (active erythema only; Harris 2016)."""

    S0 = 0, _("0 — no active (erythematous) GVHD rash")
    S1 = 1, _("1 — maculopapular rash < 25 % BSA")
    S2 = 2, _("2 — maculopapular rash 25–50 % BSA")
    S3 = 3, _("3 — maculopapular rash > 50 % BSA")
    S4 = 4, _("4 — generalized erythroderma (> 50 % BSA) with bullae and desquamation > 5 % BSA")


class UpperGiStage(models.IntegerChoices):
    S0 = 0, _("0 — no or intermittent nausea, vomiting or anorexia")
    S1 = 1, _("1 — persistent nausea, vomiting or anorexia")


class BilirubinUnit(models.TextChoices):
    MG_DL = "mg_dl", "mg/dL"
    UMOL_L = "umol_l", "µmol/L"


class AcuteGvhd(Crf):
    """One weekly acute GVHD assessment: organ findings → MAGIC stages → overall grade 0–IV."""

    assessment_date = models.DateField(_("assessment date"))
    weight_kg = measure(_("weight"), "kg", hard=(0.5, 200), soft=(3, 150), decimals=1,
                        help_text=_("Needed for the stool volume per kg (children up to 50 kg)."))
    skin_stage = models.PositiveSmallIntegerField(_("skin stage"), choices=SkinStage.choices)
    bilirubin = measure(_("total bilirubin"), "", hard=(0, 1000), decimals=2,
                        help_text=_("In the unit chosen below (1 mg/dL = 17.1 µmol/L)."))
    bilirubin_unit = models.CharField(_("bilirubin unit"), max_length=6, choices=BilirubinUnit.choices, blank=True)
    liver_gvhd = models.CharField(_("raised bilirubin attributed to GVHD"), max_length=1, choices=YesNo.choices,
                                  help_text=_("Only findings attributed to GVHD are staged; No gives liver stage 0."))
    upper_gi_stage = models.PositiveSmallIntegerField(_("upper GI stage"), choices=UpperGiStage.choices)
    stool_ml_day = measure(_("stool volume"), "mL/day", hard=(0, 10000),
                           help_text=_("3-day average. Volume decides when both volume and episodes are given "
                                       "(D13); for children up to 50 kg it is staged per kg."))
    stool_episodes_day = measure(_("stool episodes"), _("per day"), hard=(0, 50))
    severe_abdominal_pain_or_bloody_stool = models.CharField(
        _("severe abdominal pain (opioids) or grossly bloody stool"), max_length=1, choices=YesNo.choices)
    lower_gi_gvhd = models.CharField(_("diarrhoea attributed to GVHD"), max_length=1, choices=YesNo.choices,
                                     help_text=_("No gives lower GI stage 0."))
    reported_grade = models.PositiveSmallIntegerField(
        _("grade assessed by the investigator"), choices=MagicGrade.choices, null=True, blank=True,
        help_text=_("Optional. The MAGIC grade is computed from the stages; a different grade here is kept beside it "
                    "for review once you confirm it."))
    disagreement_confirmed = disagreement_field()

    day_post_transplant = day_post_transplant_field()
    bilirubin_mg_dl = models.DecimalField(_("bilirubin (mg/dL)"), max_digits=8, decimal_places=2, null=True,
                                          editable=False)
    stool_ml_kg_day = models.DecimalField(_("stool volume (mL/kg/day)"), max_digits=8, decimal_places=1, null=True,
                                          editable=False)
    liver_stage = models.PositiveSmallIntegerField(_("liver stage"), null=True, editable=False)
    lower_gi_stage = models.PositiveSmallIntegerField(_("lower GI stage"), null=True, editable=False)
    overall_grade = models.PositiveSmallIntegerField(_("MAGIC overall grade"), choices=MagicGrade.choices, null=True,
                                                     editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 340
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("weight_kg", "bilirubin", "stool_ml_day", "stool_episodes_day")
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}
    crf_reported = {"reported_grade": "overall_grade"}

    class Meta:
        verbose_name = _("acute GVHD assessment")
        verbose_name_plural = _("acute GVHD assessments")

    def crf_summary(self) -> str:
        grade = "" if self.overall_grade is None else str(_("grade %(g)s") % {"g": rules.ROMAN[self.overall_grade]})
        return " · ".join(filter(None, [day_label(self.day_post_transplant), grade]))

    def derive(self) -> None:
        self.rules_version = rules.TRANSPLANT_RULE_VERSION
        self.day_post_transplant = day_after_transplant(self.patient_id, self.assessment_date)
        # Staged on the exact conversion (§4.1 boundaries); stored to the field's 2 decimals (60 µmol/L = 3.51 mg/dL).
        exact = (rules.bilirubin_mg_dl(self.bilirubin, self.bilirubin_unit)
                 if self.bilirubin is not None and self.bilirubin_unit else None)
        self.bilirubin_mg_dl = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if exact is not None else None
        self.stool_ml_kg_day = (round(self.stool_ml_day / self.weight_kg, 1)
                                if self.stool_ml_day is not None and self.weight_kg else None)
        self.liver_stage = 0 if self.liver_gvhd == NO else (
            rules.liver_stage(exact) if self.liver_gvhd == YES else None)
        if self.lower_gi_gvhd == NO:
            self.lower_gi_stage = 0
        elif self.lower_gi_gvhd == YES:
            self.lower_gi_stage = rules.lower_gi_stage(
                weight_kg=self.weight_kg, stool_ml_day=self.stool_ml_day, stool_episodes_day=self.stool_episodes_day,
                severe_pain_or_bloody=self.severe_abdominal_pain_or_bloody_stool == YES)
        else:
            self.lower_gi_stage = None
        stages = (self.skin_stage, self.liver_stage, self.upper_gi_stage, self.lower_gi_stage)
        self.overall_grade = rules.magic_grade(*stages) if None not in stages else None

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, AcuteGvhd, "assessment_date", self.assessment_date)
        check_after_day0(errors, AcuteGvhd, "assessment_date", self)
        one_per_date(errors, self, "assessment_date")
        if self.bilirubin is not None and not self.bilirubin_unit:
            errors["bilirubin_unit"] = _("Give the bilirubin's unit (mg/dL or µmol/L).")
        if self.liver_gvhd == YES and self.bilirubin is None:
            errors["bilirubin"] = _("The liver is staged from the total bilirubin: give it.")
        if self.lower_gi_gvhd == YES:
            if (self.stool_ml_day is None and self.stool_episodes_day is None
                    and self.severe_abdominal_pain_or_bloody_stool != YES):
                errors["stool_ml_day"] = _("The lower GI tract is staged from the stool volume (or the number of "
                                           "episodes): give one of them.")
            elif (self.stool_ml_day is not None and self.weight_kg is None
                  and self.severe_abdominal_pain_or_bloody_stool != YES):
                errors["weight_kg"] = _("The stool volume is staged per kg of weight for children up to 50 kg: "
                                        "give the weight.")
        if errors:
            raise ValidationError(errors)


class OrganScore(models.IntegerChoices):
    S0 = 0, _("0 — no signs")
    S1 = 1, _("1 — mild")
    S2 = 2, _("2 — moderate")
    S3 = 3, _("3 — severe")


def organ_score(label, help_text) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label, choices=OrganScore.choices, help_text=help_text)


class ChronicGvhd(Crf):
    """One chronic GVHD assessment: the eight NIH 2014 organ scores → global severity (Jagasia 2015)."""

    assessment_date = models.DateField(_("assessment date"))
    skin_score = organ_score(_("skin"), _("The higher of the erythema/BSA score and the sclerotic-features score: 1 = "
                                          "1–18 % BSA; 2 = 19–50 % BSA or superficial sclerosis; 3 = > 50 % BSA or "
                                          "deep sclerosis, impaired mobility, ulceration or severe pruritus."))
    mouth_score = organ_score(_("mouth"), _("Lichen planus-like features: 1 = without limiting oral intake; 2 = with "
                                            "partial limitation; 3 = with major limitation."))
    eyes_score = organ_score(_("eyes"), _("Keratoconjunctivitis sicca: 1 = mild dry eye, drops ≤ 3×/day; 2 = "
                                          "moderate; 3 = severe, unable to work or loss of vision."))
    gi_score = organ_score(_("GI tract"), _("Dysphagia, anorexia, nausea, vomiting, diarrhoea, weight loss: 1 = no "
                                            "significant weight loss; 2 = loss 5–15 %; 3 = loss > 15 %, supplements "
                                            "or oesophageal dilation."))
    liver_score = organ_score(_("liver"), _("1 = bilirubin, ALP, AST or ALT ≤ 3 × ULN; 2 = bilirubin ≤ 3 mg/dL or "
                                            "enzymes 3–5 × ULN; 3 = bilirubin or enzymes > 5 × ULN."))
    lungs_score = organ_score(_("lungs"), _("FEV1 % predicted: 1 = 60–79 %; 2 = 40–59 %; 3 = ≤ 39 %. Use the "
                                            "symptom score when lung function tests cannot be done."))
    joints_score = organ_score(_("joints and fascia"), _("1 = mild tightness, not limiting daily activities; 2 = "
                                                         "limiting; 3 = contractures with severe limitation."))
    genital_score = organ_score(_("genital tract"), _("1 = mild signs, no discomfort on examination; 2 = moderate; "
                                                      "3 = severe, with symptoms."))
    reported_severity = models.CharField(
        _("severity assessed by the investigator"), max_length=8, choices=ChronicSeverity.choices, blank=True,
        help_text=_("Optional. The NIH global severity is computed from the organ scores; a different one here is "
                    "kept beside it for review once you confirm it."))
    disagreement_confirmed = disagreement_field()

    day_post_transplant = day_post_transplant_field()
    severity = models.CharField(_("NIH global severity"), max_length=8, choices=ChronicSeverity.choices, blank=True,
                                editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    ORGAN_FIELDS = {organ: f"{organ}_score" for organ in rules.CGVHD_ORGANS}

    crf_repeating = True
    crf_order = 350
    crf_phase = Phase.TRANSPLANT
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}
    crf_reported = {"reported_severity": "severity"}

    class Meta:
        verbose_name = _("chronic GVHD assessment")
        verbose_name_plural = _("chronic GVHD assessments")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [day_label(self.day_post_transplant),
                                        self.get_severity_display() if self.severity else ""]))

    def derive(self) -> None:
        self.rules_version = rules.TRANSPLANT_RULE_VERSION
        self.day_post_transplant = day_after_transplant(self.patient_id, self.assessment_date)
        found = rules.nih_global_severity({organ: getattr(self, name) for organ, name in self.ORGAN_FIELDS.items()})
        self.severity = found.value if found else ""

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, ChronicGvhd, "assessment_date", self.assessment_date)
        check_after_day0(errors, ChronicGvhd, "assessment_date", self)
        one_per_date(errors, self, "assessment_date")
        if errors:
            raise ValidationError(errors)
