"""CRF-SPEC "Diagnosis & history" and its repeating relapses, with the BFM classification derived."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models.codes import YesNo, check_date, date_of_birth
from trial.crf import Crf, Phase
from trial.ranges import measure


class Immunophenotype(models.TextChoices):
    B_PRECURSOR = rules.Immunophenotype.B_PRECURSOR.value, _("Precursor B (pre-B)")
    T_CELL = rules.Immunophenotype.T_CELL.value, _("T-cell")
    MIXED = rules.Immunophenotype.MIXED.value, _("Mixed phenotype")


class Cytogenetics(models.TextChoices):
    ETV6_RUNX1 = "etv6_runx1", "ETV6-RUNX1"
    HIGH_HYPERDIPLOIDY = "high_hyperdiploidy", _("High hyperdiploidy")
    BCR_ABL1 = "bcr_abl1", "BCR-ABL1"
    BCR_ABL1_LIKE = "bcr_abl1_like", _("BCR-ABL1-like")
    KMT2A = "kmt2a_r", _("KMT2A rearranged")
    TCF3_PBX1 = "tcf3_pbx1", "TCF3-PBX1"
    IAMP21 = "iamp21", "iAMP21"
    HYPODIPLOIDY = "hypodiploidy", _("Hypodiploidy")
    OTHER = "other", _("Other")
    NORMAL = "normal", _("No abnormality found")
    NOT_DONE = "not_done", _("Not done")


class FrontlineStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed (give the end date)")
    ONGOING = "ongoing", _("Not completed: relapse or refractory disease during front-line therapy")


class InductionResponse(models.TextChoices):
    REMISSION = "remission", _("Remission")
    REFRACTORY = "refractory", _("Refractory (blasts persist after a complete second-line induction)")


class MrdHighRisk(models.TextChoices):
    YES = "Y", _("Yes: MRD ≥ 10⁻³ (0.1 %) after relapse induction")
    NO = "N", _("No")
    NOT_ASSESSED = "not_assessed", _("Not assessed")


class RelapseSite(models.TextChoices):
    ISOLATED_BM = rules.RelapseSite.ISOLATED_BM.value, _("Isolated bone marrow")
    COMBINED = rules.RelapseSite.COMBINED.value, _("Combined (bone marrow and extramedullary)")
    ISOLATED_EM = rules.RelapseSite.ISOLATED_EM.value, _("Isolated extramedullary")


class ExtramedullaryLocation(models.TextChoices):
    CNS = "cns", _("Central nervous system")
    TESTIS = "testis", _("Testis")
    CNS_AND_TESTIS = "cns_testis", _("CNS and testis")
    OTHER = "other", _("Other")


class RelapseTimepoint(models.TextChoices):
    VERY_EARLY = rules.RelapseTimepoint.VERY_EARLY.value, _("Very early (< 18 months from diagnosis)")
    EARLY = rules.RelapseTimepoint.EARLY.value, _("Early (≥ 18 months from diagnosis, < 6 months after therapy)")
    LATE = rules.RelapseTimepoint.LATE.value, _("Late (≥ 6 months after the end of therapy)")


class BfmGroup(models.TextChoices):
    S1 = "S1", _("S1 (low risk)")
    S2 = "S2", _("S2 (intermediate risk)")
    S3 = "S3", _("S3 (high risk)")
    S4 = "S4", _("S4 (high risk)")


class DiseaseStatus(models.TextChoices):
    FIRST_HIGH_RISK_RELAPSE = rules.DiseaseStatus.FIRST_HIGH_RISK_RELAPSE.value, _("First high-risk relapse")
    FIRST_RELAPSE_NOT_HIGH_RISK = rules.DiseaseStatus.FIRST_RELAPSE_NOT_HIGH_RISK.value, _(
        "First relapse, not high risk")
    SECOND_OR_LATER_RELAPSE = rules.DiseaseStatus.SECOND_OR_LATER_RELAPSE.value, _("Second or later relapse")
    REFRACTORY = rules.DiseaseStatus.REFRACTORY.value, _("Refractory")
    NO_RELAPSE = rules.DiseaseStatus.NO_RELAPSE.value, _("Neither relapsed nor refractory")


class DiagnosisHistory(Crf):
    """The initial diagnosis and what came after it; relapses are their own repeating form."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="diagnosis",
                                   verbose_name=_("patient"))
    diagnosis_date = models.DateField(_("initial diagnosis date"))
    immunophenotype = models.CharField(_("immunophenotype"), max_length=8, choices=Immunophenotype.choices)
    cytogenetics = models.CharField(_("cytogenetics / molecular (main finding)"), max_length=20,
                                    choices=Cytogenetics.choices)
    cytogenetics_other = models.CharField(_("other cytogenetic finding"), max_length=100, blank=True,
                                          help_text=_("Only when the main finding is “Other”."))
    frontline_protocol = models.CharField(_("front-line protocol"), max_length=100,
                                          help_text=_("e.g. St. Jude Total XV, BFM 2009."))
    frontline_status = models.CharField(_("front-line therapy status"), max_length=10, choices=FrontlineStatus.choices)
    frontline_end_date = models.DateField(_("end date of front-line therapy"), null=True, blank=True,
                                          help_text=_("End of maintenance; only when front-line therapy was "
                                                      "completed."))
    last_induction_response = models.CharField(_("response to the most recent induction"), max_length=12,
                                               choices=InductionResponse.choices)
    prior_chemotherapy_lines = measure(_("prior chemotherapy lines"), "", hard=(0, 15), soft=(0, 6), null=False)
    prior_hsct = models.CharField(_("prior stem-cell transplant"), max_length=1, choices=YesNo.choices)
    prior_immunotherapy = models.CharField(_("prior immunotherapy"), max_length=1, choices=YesNo.choices,
                                           help_text=_("e.g. blinatumomab, inotuzumab, CAR-T."))
    high_risk_by_mrd = models.CharField(
        _("high risk by MRD after relapse induction"), max_length=12, choices=MrdHighRisk.choices,
        help_text=_("Investigator's judgement; makes an S2 first relapse a high-risk relapse (BFM)."))

    relapse_count = models.PositiveSmallIntegerField(_("number of prior relapses"), null=True, editable=False)
    latest_relapse_date = models.DateField(_("latest relapse date"), null=True, editable=False)
    latest_relapse_site = models.CharField(_("latest relapse site"), max_length=12, choices=RelapseSite.choices,
                                           blank=True, editable=False)
    latest_relapse_timepoint = models.CharField(_("latest relapse time point (BFM)"), max_length=10,
                                                choices=RelapseTimepoint.choices, blank=True, editable=False)
    bfm_group = models.CharField(_("BFM risk group of the latest relapse"), max_length=2,
                                 choices=BfmGroup.choices, blank=True, editable=False)
    disease_status = models.CharField(_("disease status at enrollment"), max_length=24,
                                      choices=DiseaseStatus.choices, blank=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 30
    crf_phase = Phase.ENROLLMENT
    crf_may_be_missing = ("frontline_protocol", "frontline_end_date", "prior_chemotherapy_lines")
    crf_derived_from = ("patients.Relapse",)

    class Meta:
        verbose_name = _("diagnosis and history")
        verbose_name_plural = _("diagnosis and history")

    def normalize(self) -> None:
        self.frontline_protocol = (self.frontline_protocol or "").strip()
        self.cytogenetics_other = (self.cytogenetics_other or "").strip()

    def relapses(self) -> list["Relapse"]:
        if self.patient_id is None:
            return []
        return list(Relapse.objects.filter(patient_id=self.patient_id).order_by("relapse_date", "pk"))

    def derive(self) -> None:
        relapses = [r for r in self.relapses() if r.relapse_date]
        latest = relapses[-1] if relapses else None
        self.relapse_count = len(relapses)
        self.latest_relapse_date = latest.relapse_date if latest else None
        self.latest_relapse_site = latest.relapse_site if latest else ""
        timepoint, group = classify_relapse(self, latest)
        self.latest_relapse_timepoint = timepoint or ""
        self.bfm_group = group or ""
        if self.last_induction_response:
            self.disease_status = rules.disease_status(
                relapse_count=self.relapse_count,
                refractory=self.last_induction_response == InductionResponse.REFRACTORY,
                latest_group=rules.BfmGroup(group) if group else None,
                high_risk_by_mrd=self.high_risk_by_mrd == MrdHighRisk.YES).value
        else:
            self.disease_status = ""
        self.rules_version = rules.ENROLLMENT_RULE_VERSION

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, DiagnosisHistory, "diagnosis_date", self.diagnosis_date, born=date_of_birth(self.patient))
        check_date(errors, DiagnosisHistory, "frontline_end_date", self.frontline_end_date,
                   not_before=(self.diagnosis_date, _("the diagnosis date")))
        if self.frontline_status == FrontlineStatus.COMPLETED and not self.frontline_end_date:
            errors.setdefault("frontline_end_date", _("Give the end date of the completed front-line therapy."))
        if self.frontline_status == FrontlineStatus.ONGOING and self.frontline_end_date:
            errors.setdefault("frontline_end_date", _(
                "Front-line therapy was not completed: leave its end date empty (or choose “Completed”)."))
        if self.cytogenetics == Cytogenetics.OTHER and not self.cytogenetics_other:
            errors["cytogenetics_other"] = _("Describe the other cytogenetic finding.")
        if self.cytogenetics != Cytogenetics.OTHER and self.cytogenetics_other:
            errors["cytogenetics_other"] = _("Only for the main finding “Other”: clear this field.")
        if self.diagnosis_date and self.latest_relapse_date:
            first = min(r.relapse_date for r in self.relapses() if r.relapse_date)  # a draft may have no date yet
            if first <= self.diagnosis_date:
                errors.setdefault("diagnosis_date", _(
                    "Initial diagnosis date: %(value)s is not before the first relapse (%(relapse)s).") % {
                    "value": self.diagnosis_date.isoformat(), "relapse": first.isoformat()})
        if errors:
            raise ValidationError(errors)


def classify_relapse(diagnosis: DiagnosisHistory | None, relapse: "Relapse | None") -> tuple[str | None, str | None]:
    """(time point, BFM group) of one relapse, or (None, None) while the dates it needs are missing."""
    if diagnosis is None or relapse is None or not (diagnosis.diagnosis_date and relapse.relapse_date
                                                    and relapse.relapse_site and diagnosis.immunophenotype):
        return None, None
    if relapse.relapse_date < diagnosis.diagnosis_date:
        return None, None
    frontline_end = diagnosis.frontline_end_date if diagnosis.frontline_status == FrontlineStatus.COMPLETED else None
    timepoint = rules.relapse_timepoint(diagnosis=diagnosis.diagnosis_date, relapse=relapse.relapse_date,
                                        frontline_end=frontline_end)
    group = rules.bfm_group(immunophenotype=rules.Immunophenotype(diagnosis.immunophenotype), timepoint=timepoint,
                            site=rules.RelapseSite(relapse.relapse_site))
    return timepoint.value, group.value


class Relapse(Crf):
    """One relapse (repeating). Its number, time point and BFM group are derived from the diagnosis."""

    relapse_date = models.DateField(_("relapse date"))
    relapse_site = models.CharField(_("relapse site"), max_length=12, choices=RelapseSite.choices)
    extramedullary_location = models.CharField(
        _("extramedullary location"), max_length=10, choices=ExtramedullaryLocation.choices, blank=True,
        help_text=_("For combined and isolated extramedullary relapses."))

    relapse_number = models.PositiveSmallIntegerField(_("relapse number"), null=True, editable=False)
    months_from_diagnosis = models.PositiveSmallIntegerField(_("months from diagnosis"), null=True, editable=False)
    timepoint = models.CharField(_("time point (BFM)"), max_length=10, choices=RelapseTimepoint.choices, blank=True,
                                 editable=False)
    bfm_group = models.CharField(_("BFM risk group"), max_length=2, choices=BfmGroup.choices, blank=True,
                                 editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 35
    crf_phase = Phase.ENROLLMENT
    crf_repeating = True
    crf_derived_from = ("patients.DiagnosisHistory", "patients.Relapse")

    class Meta:
        verbose_name = _("relapse")
        verbose_name_plural = _("relapses")

    def crf_summary(self) -> str:
        parts = [self.relapse_date.isoformat() if self.relapse_date else "", self.get_relapse_site_display(),
                 self.bfm_group]
        return " · ".join(p for p in parts if p)

    def _diagnosis(self) -> DiagnosisHistory | None:
        return DiagnosisHistory.objects.filter(patient_id=self.patient_id).first()

    def derive(self) -> None:
        diagnosis = self._diagnosis()
        if self.relapse_date:
            earlier = Relapse.objects.filter(patient_id=self.patient_id, relapse_date__lt=self.relapse_date)
            self.relapse_number = earlier.exclude(pk=self.pk).count() + 1
        else:
            self.relapse_number = None
        dx_date = diagnosis.diagnosis_date if diagnosis else None
        if dx_date and self.relapse_date and self.relapse_date >= dx_date:
            self.months_from_diagnosis = rules.months_between(dx_date, self.relapse_date)
        else:
            self.months_from_diagnosis = None
        timepoint, group = classify_relapse(diagnosis, self)
        self.timepoint = timepoint or ""
        self.bfm_group = group or ""
        self.rules_version = rules.ENROLLMENT_RULE_VERSION

    def clean(self) -> None:
        errors: dict = {}
        diagnosis = self._diagnosis()
        check_date(errors, Relapse, "relapse_date", self.relapse_date, born=date_of_birth(self.patient))
        if "relapse_date" not in errors and diagnosis and self.relapse_date and \
                self.relapse_date <= diagnosis.diagnosis_date:
            errors["relapse_date"] = _("Relapse date: %(value)s is not after the initial diagnosis (%(dx)s).") % {
                "value": self.relapse_date.isoformat(), "dx": diagnosis.diagnosis_date.isoformat()}
        if "relapse_date" not in errors and self.relapse_date and Relapse.objects.filter(
                patient_id=self.patient_id, relapse_date=self.relapse_date).exclude(pk=self.pk).exists():
            errors["relapse_date"] = _("Relapse date: another relapse of this patient is already recorded on "
                                       "%(value)s.") % {"value": self.relapse_date.isoformat()}
        if self.relapse_site in (RelapseSite.COMBINED, RelapseSite.ISOLATED_EM) and not self.extramedullary_location:
            errors["extramedullary_location"] = _("Give the extramedullary location of this relapse.")
        if self.relapse_site == RelapseSite.ISOLATED_BM and self.extramedullary_location:
            errors["extramedullary_location"] = _("An isolated bone-marrow relapse has no extramedullary "
                                                  "location: clear this field.")
        if errors:
            raise ValidationError(errors)
