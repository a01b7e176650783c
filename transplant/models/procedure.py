"""CRF-SPEC "Transplant procedure": day 0, conditioning and GVHD prophylaxis as given, and what is derived for the
patient from the later forms: engraftment (D7), the acute GVHD summary (MAGIC) and chronic GVHD (NIH 2014)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date, date_of_birth
from transplant import rules
from transplant.models.series import acute_gvhd_of, chronic_gvhd_of, counts_of
from treatment.models import ResponseAssessment
from treatment.models.codes import cycles_of
from treatment.models.response import Response
from treatment.rules import CYCLE_INFUSION_DAYS
from trial.crf import Crf, Phase
from trial.ranges import measure

YES, NO = YesNo.YES, YesNo.NO

# PROTO: TBI on days −7 to −5, cyclophosphamide on −4 and −3, etoposide on −2; post-transplant cyclophosphamide on
# days +3 and +4. The number of days given is recorded; fewer than these is a deviation.
TBI_DAYS, CYCLOPHOSPHAMIDE_DAYS, PTCY_DAYS = 3, 2, 2


class ChronicSeverity(models.TextChoices):
    NONE = rules.ChronicSeverity.NONE.value, _("None")
    MILD = rules.ChronicSeverity.MILD.value, _("Mild")
    MODERATE = rules.ChronicSeverity.MODERATE.value, _("Moderate")
    SEVERE = rules.ChronicSeverity.SEVERE.value, _("Severe")


class MagicGrade(models.IntegerChoices):
    G0 = 0, _("Grade 0 (no acute GVHD)")
    G1 = 1, _("Grade I")
    G2 = 2, _("Grade II")
    G3 = 3, _("Grade III")
    G4 = 4, _("Grade IV")


def last_infusion_day(patient_id: int | None):
    """The last day of blinatumomab infusion over the patient's cycles (a running cycle counts to its day 28)."""
    ends = [c.end_date or c.start_date + timedelta(days=CYCLE_INFUSION_DAYS - 1)
            for c in cycles_of(patient_id) if c.start_date]
    return max(ends, default=None)


class TransplantProcedure(Crf):
    """Day 0 (the graft infusion), conditioning and GVHD prophylaxis as given, with deviations."""

    transplant_date = models.DateField(_("transplant date (day 0)"),
                                       help_text=_("The day of the graft infusion; every later record is counted "
                                                   "from it."))
    tbi_cgy_day = measure(_("TBI dose per day"), "cGy", hard=(0, 1000), soft=(100, 400),
                          help_text=_("Protocol: days −7 to −5."))
    tbi_days = measure(_("TBI days given"), _("days"), hard=(0, 5))
    cyclophosphamide_mg_kg_day = measure(_("cyclophosphamide per day"), "mg/kg", hard=(0, 120), decimals=1,
                                         help_text=_("Protocol: days −4 and −3."))
    cyclophosphamide_days = measure(_("cyclophosphamide days given"), _("days"), hard=(0, 4))
    etoposide_mg_m2 = measure(_("etoposide"), "mg/m²", hard=(0, 2000), help_text=_("Protocol: day −2."))
    conditioning_per_protocol = models.CharField(_("conditioning given as the protocol says"), max_length=1,
                                                 choices=YesNo.choices)
    conditioning_deviation = models.TextField(_("conditioning deviation"), blank=True,
                                              help_text=_("Required when the conditioning differed from the "
                                                          "protocol: what was changed and why."))
    ptcy_mg_kg_day = measure(_("post-transplant cyclophosphamide per day"), "mg/kg", hard=(0, 120), decimals=1,
                             help_text=_("Protocol: days +3 and +4."))
    ptcy_days = measure(_("post-transplant cyclophosphamide days given"), _("days"), hard=(0, 4))
    tacrolimus_start = models.DateField(_("tacrolimus start"), null=True, blank=True)
    mycophenolate_start = models.DateField(_("mycophenolate start"), null=True, blank=True)
    prophylaxis_per_protocol = models.CharField(_("GVHD prophylaxis given as the protocol says"), max_length=1,
                                                choices=YesNo.choices)
    prophylaxis_deviation = models.TextField(_("prophylaxis deviation"), blank=True,
                                             help_text=_("Required when the prophylaxis differed from the protocol."))
    non_cr_deviation = models.CharField(
        _("transplanted without complete remission (protocol deviation)"), max_length=1, choices=YesNo.choices,
        help_text=_("The protocol transplants patients in CR. Answer Yes, with the reason, when the latest response "
                    "before day 0 was not CR."))
    non_cr_deviation_reason = models.TextField(_("reason for transplanting without CR"), blank=True)

    response_before_transplant = models.CharField(_("latest response before day 0"), max_length=2, blank=True,
                                                  choices=Response.choices, editable=False)
    neutrophil_engraftment_day = models.IntegerField(_("neutrophil engraftment day"), null=True, editable=False)
    platelet_engraftment_day = models.IntegerField(_("platelet engraftment day"), null=True, editable=False)
    anc_nadir_day = models.IntegerField(_("ANC nadir day (first ANC < 500/µL)"), null=True, editable=False)
    primary_graft_failure = models.BooleanField(_("primary graft failure (no neutrophil engraftment by day +30)"),
                                                null=True, editable=False)
    counts_last_day = models.IntegerField(_("last day with counts"), null=True, editable=False)
    counts_missing_days = models.JSONField(_("days without counts"), default=list, editable=False)
    agvhd_max_grade = models.PositiveSmallIntegerField(_("acute GVHD, worst grade"), choices=MagicGrade.choices,
                                                       null=True, editable=False)
    agvhd_onset_date = models.DateField(_("acute GVHD onset (first grade ≥ I)"), null=True, editable=False)
    agvhd_max_grade_day100 = models.PositiveSmallIntegerField(_("acute GVHD, worst grade by day +100"),
                                                              choices=MagicGrade.choices, null=True, editable=False)
    agvhd_max_skin = models.PositiveSmallIntegerField(_("acute GVHD, worst skin stage"), null=True, editable=False)
    agvhd_max_liver = models.PositiveSmallIntegerField(_("acute GVHD, worst liver stage"), null=True, editable=False)
    agvhd_max_upper_gi = models.PositiveSmallIntegerField(_("acute GVHD, worst upper GI stage"), null=True,
                                                          editable=False)
    agvhd_max_lower_gi = models.PositiveSmallIntegerField(_("acute GVHD, worst lower GI stage"), null=True,
                                                          editable=False)
    cgvhd_worst = models.CharField(_("chronic GVHD, worst NIH severity"), max_length=8, blank=True,
                                   choices=ChronicSeverity.choices, editable=False)
    cgvhd_onset_date = models.DateField(_("chronic GVHD onset"), null=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 320
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("tbi_cgy_day", "tbi_days", "cyclophosphamide_mg_kg_day", "cyclophosphamide_days",
                          "etoposide_mg_m2", "ptcy_mg_kg_day", "ptcy_days")
    crf_derived_from = ("treatment.BlinatumomabCycle", "treatment.ResponseAssessment", "transplant.DailyCount",
                        "transplant.AcuteGvhd", "transplant.ChronicGvhd")
    crf_reads = {
        "treatment.BlinatumomabCycle": ("start_date", "end_date"),
        "treatment.ResponseAssessment": ("assessment_date", "response"),
        "transplant.DailyCount": ("count_date", "anc_per_ul", "platelets_10e9_l", "platelet_transfusion"),
        "transplant.AcuteGvhd": ("assessment_date", "overall_grade", "skin_stage", "liver_stage", "upper_gi_stage",
                                 "lower_gi_stage"),
        "transplant.ChronicGvhd": ("assessment_date", "severity"),
    }

    class Meta:
        verbose_name = _("transplant procedure")
        verbose_name_plural = _("transplant procedures")

    def crf_summary(self) -> str:
        return str(_("day 0: %(date)s") % {"date": self.transplant_date.isoformat()}) if self.transplant_date else ""

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        if name == "counts_missing_days":
            return ", ".join(f"+{day}" for day in value or []) or "—"
        return None

    def latest_response(self) -> ResponseAssessment | None:
        """The latest response assessment on or before day 0."""
        if self.transplant_date is None:
            return None
        earlier = [r for r in ResponseAssessment.objects.filter(patient_id=self.patient_id).order_by(
            "assessment_date", "pk") if r.assessment_date and r.assessment_date <= self.transplant_date]
        return earlier[-1] if earlier else None

    def derive(self) -> None:
        self.rules_version = rules.TRANSPLANT_RULE_VERSION
        latest = self.latest_response()
        self.response_before_transplant = latest.response if latest is not None else ""
        day0 = self.transplant_date
        self._derive_engraftment(day0)
        self._derive_gvhd(day0)

    def _derive_engraftment(self, day0) -> None:
        found = None
        if day0 is not None:
            counts = [rules.DayCount(day=rules.day_relative(c.count_date, day0), anc_per_ul=c.anc_per_ul,
                                     platelets_10e9_l=c.platelets_10e9_l,
                                     platelet_transfusion=None if not c.platelet_transfusion
                                     else c.platelet_transfusion == YES)
                      for c in counts_of(self.patient_id) if c.count_date is not None]
            if counts:
                try:
                    found = rules.engraftment(counts)
                except ValueError:  # two counts on one day: the count form refuses it; nothing derived meanwhile
                    found = None
        self.neutrophil_engraftment_day = found.neutrophil_day if found else None
        self.platelet_engraftment_day = found.platelet_day if found else None
        self.anc_nadir_day = found.nadir_day if found else None
        self.primary_graft_failure = found.primary_graft_failure if found else None
        self.counts_last_day = found.last_day if found else None
        self.counts_missing_days = list(found.missing_days) if found else []

    def _derive_gvhd(self, day0) -> None:
        points = [rules.AcuteGvhdPoint(assessed_on=a.assessment_date, skin=a.skin_stage, liver=a.liver_stage,
                                       upper_gi=a.upper_gi_stage, lower_gi=a.lower_gi_stage, grade=a.overall_grade)
                  for a in acute_gvhd_of(self.patient_id)
                  if a.assessment_date is not None and a.overall_grade is not None]
        acute = rules.acute_gvhd_summary(points, day0)
        self.agvhd_max_grade, self.agvhd_onset_date = acute.max_grade, acute.onset
        self.agvhd_max_grade_day100 = acute.max_grade_by_day_100
        self.agvhd_max_skin, self.agvhd_max_liver = acute.max_skin, acute.max_liver
        self.agvhd_max_upper_gi, self.agvhd_max_lower_gi = acute.max_upper_gi, acute.max_lower_gi
        chronic = rules.chronic_gvhd_summary(
            (c.assessment_date, rules.ChronicSeverity(c.severity)) for c in chronic_gvhd_of(self.patient_id)
            if c.assessment_date is not None and c.severity)
        self.cgvhd_worst = chronic.worst.value if chronic.worst else ""
        self.cgvhd_onset_date = chronic.onset

    def normalize(self) -> None:
        for name in ("conditioning_deviation", "prophylaxis_deviation", "non_cr_deviation_reason"):
            setattr(self, name, (getattr(self, name) or "").strip())

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, TransplantProcedure, "transplant_date", self.transplant_date,
                   born=date_of_birth(self.patient))
        last = last_infusion_day(self.patient_id)
        if self.transplant_date and last and self.transplant_date < last and "transplant_date" not in errors:
            errors["transplant_date"] = _("Transplant date: %(date)s is before the last blinatumomab infusion day "
                                          "(%(last)s); day 0 comes after the infusion ends.") % {
                "date": self.transplant_date.isoformat(), "last": last.isoformat()}
        if self.transplant_date and self.response_before_transplant != Response.CR:
            if self.non_cr_deviation == NO:
                latest = self.get_response_before_transplant_display() or _("no response assessment recorded")
                errors["non_cr_deviation"] = _(
                    "The latest response before day 0 is: %(response)s. The protocol transplants patients in CR; "
                    "a transplant without CR is accepted only as a recorded protocol deviation: answer Yes and give "
                    "the reason.") % {"response": latest}
        if self.transplant_date and self.response_before_transplant == Response.CR and self.non_cr_deviation == YES:
            errors["non_cr_deviation"] = _("The latest response before day 0 is CR: there is no deviation to record "
                                           "here. Answer No.")
        if self.non_cr_deviation == YES and not self.non_cr_deviation_reason:
            errors["non_cr_deviation_reason"] = _("Give the reason for transplanting without complete remission.")
        self._deviation_errors(errors)
        for name in ("tacrolimus_start", "mycophenolate_start"):
            check_date(errors, TransplantProcedure, name, getattr(self, name),
                       not_before=(self.transplant_date - timedelta(days=7) if self.transplant_date else None,
                                   _("a week before day 0")))
        if errors:
            raise ValidationError(errors)

    def _deviation_errors(self, errors: dict) -> None:
        short = [(self.tbi_days, TBI_DAYS, "tbi_days"), (self.cyclophosphamide_days, CYCLOPHOSPHAMIDE_DAYS,
                                                        "cyclophosphamide_days")]
        if self.conditioning_per_protocol == YES:
            for given, planned, name in short:
                if given is not None and given != planned:
                    errors[name] = _("The protocol gives it on %(planned)s days; %(given)s days is a deviation: "
                                     "answer No to “given as the protocol says” and describe it.") % {
                        "planned": planned, "given": given}
        elif self.conditioning_per_protocol == NO and not self.conditioning_deviation:
            errors["conditioning_deviation"] = _("Describe how the conditioning differed from the protocol.")
        if self.prophylaxis_per_protocol == YES and self.ptcy_days is not None and self.ptcy_days != PTCY_DAYS:
            errors["ptcy_days"] = _("The protocol gives it on days +3 and +4; %(given)s days is a deviation: answer "
                                    "No to “given as the protocol says” and describe it.") % {"given": self.ptcy_days}
        elif self.prophylaxis_per_protocol == NO and not self.prophylaxis_deviation:
            errors["prophylaxis_deviation"] = _("Describe how the GVHD prophylaxis differed from the protocol.")
