"""CRF-SPEC post-transplant monitoring: chimerism and immune reconstitution at 3/6/12/18 months, viral loads,
infections, donor lymphocyte infusions, and a relapse after transplant (which stops the monitoring, D14)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date
from patients.models.diagnosis import RelapseSite
from transplant import rules
from transplant.models.codes import (
    Timepoint,
    check_after_day0,
    day_after_transplant,
    day_label,
    day_post_transplant_field,
)
from trial import reads
from trial.crf import Crf, Phase
from trial.ranges import format_number, measure


def _one_per_timepoint(errors: dict, record) -> None:
    if record.timepoint_months and type(record).objects.filter(
            patient_id=record.patient_id, timepoint_months=record.timepoint_months).exclude(pk=record.pk).exists():
        errors["timepoint_months"] = _("The %(n)s-month %(form)s is already entered; correct that one instead.") % {
            "n": record.timepoint_months, "form": type(record)._meta.verbose_name}


class ChimerismStatus(models.TextChoices):
    COMPLETE = rules.ChimerismStatus.COMPLETE.value, _("Complete (donor ≥ 95 % in every fraction measured)")
    MIXED = rules.ChimerismStatus.MIXED.value, _("Mixed")


class Chimerism(Crf):
    """Donor chimerism at a timepoint, in whole blood and in CD3+ cells; complete or mixed derived (D8)."""

    timepoint_months = models.PositiveSmallIntegerField(_("timepoint"), choices=Timepoint.choices)
    sample_date = models.DateField(_("sample date"))
    whole_blood_donor_pct = measure(_("donor cells in whole blood"), "%", hard=(0, 100), decimals=1)
    cd3_donor_pct = measure(_("donor cells among CD3+ cells"), "%", hard=(0, 100), decimals=1)

    day_post_transplant = day_post_transplant_field()
    # Not `status`: that name is the CRF's own status (draft, complete, locked...) on every form (trial.crf.Crf).
    chimerism_status = models.CharField(_("chimerism"), max_length=8, choices=ChimerismStatus.choices, blank=True,
                                        editable=False)
    lost_complete = models.BooleanField(_("loss of complete chimerism since the previous timepoint"), null=True,
                                        editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 360
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("whole_blood_donor_pct", "cd3_donor_pct")
    crf_derived_from = ("transplant.TransplantProcedure", "transplant.Chimerism")
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}
    crf_sequence_field = "timepoint_months"

    class Meta:
        verbose_name = _("chimerism")
        verbose_name_plural = _("chimerism")

    def crf_summary(self) -> str:
        status = self.get_chimerism_status_display().split(" (")[0] if self.chimerism_status else ""
        flag = str(_("lost complete chimerism")) if self.lost_complete else ""
        return " · ".join(filter(None, [self.get_timepoint_months_display() if self.timepoint_months else "",
                                        status, flag]))

    def previous(self):
        """The patient's chimerism at the closest earlier timepoint."""
        if not self.timepoint_months:
            return None
        held = reads.series(Chimerism._meta.label, self.patient_id)
        if held is not None:
            earlier = [r for r in held if r.pk != self.pk and r.timepoint_months
                       and r.timepoint_months < self.timepoint_months]
            return max(earlier, key=lambda r: r.timepoint_months, default=None)
        return (Chimerism.objects.filter(patient_id=self.patient_id, timepoint_months__lt=self.timepoint_months)
                .exclude(pk=self.pk).order_by("-timepoint_months").first())

    def derive(self) -> None:
        self.rules_version = rules.TRANSPLANT_RULE_VERSION
        self.day_post_transplant = day_after_transplant(self.patient_id, self.sample_date)
        found = rules.chimerism_status(self.whole_blood_donor_pct, self.cd3_donor_pct)
        self.chimerism_status = found.value if found else ""
        previous = self.previous()
        before = (rules.ChimerismStatus(previous.chimerism_status)
                  if previous is not None and previous.chimerism_status else None)
        self.lost_complete = rules.lost_complete_chimerism(before, found) if found else None

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Chimerism, "sample_date", self.sample_date)
        check_after_day0(errors, Chimerism, "sample_date", self)
        _one_per_timepoint(errors, self)
        if self.status != "draft" and self.whole_blood_donor_pct is None and self.cd3_donor_pct is None \
                and not self.missing:
            errors["whole_blood_donor_pct"] = _("Give the donor percentage of at least one fraction.")
        if errors:
            raise ValidationError(errors)


class ImmuneReconstitution(Crf):
    """Lymphocyte subsets at a timepoint (cells/µL)."""

    timepoint_months = models.PositiveSmallIntegerField(_("timepoint"), choices=Timepoint.choices)
    sample_date = models.DateField(_("sample date"))
    cd3_per_ul = measure(_("CD3+"), _("cells/µL"), hard=(0, 20000), soft=(0, 6000))
    cd4_per_ul = measure(_("CD4+"), _("cells/µL"), hard=(0, 20000), soft=(0, 4000))
    cd8_per_ul = measure(_("CD8+"), _("cells/µL"), hard=(0, 20000), soft=(0, 4000))
    cd19_per_ul = measure(_("CD19+"), _("cells/µL"), hard=(0, 20000), soft=(0, 3000))
    cd16_56_per_ul = measure(_("CD16+56+ (NK)"), _("cells/µL"), hard=(0, 20000), soft=(0, 3000))

    day_post_transplant = day_post_transplant_field()

    crf_repeating = True
    crf_order = 370
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("cd3_per_ul", "cd4_per_ul", "cd8_per_ul", "cd19_per_ul", "cd16_56_per_ul")
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}

    class Meta:
        verbose_name = _("immune reconstitution")
        verbose_name_plural = _("immune reconstitution")

    def crf_summary(self) -> str:
        return self.get_timepoint_months_display() if self.timepoint_months else ""

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.sample_date)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, ImmuneReconstitution, "sample_date", self.sample_date)
        check_after_day0(errors, ImmuneReconstitution, "sample_date", self)
        _one_per_timepoint(errors, self)
        if self.cd3_per_ul is not None:
            for name in ("cd4_per_ul", "cd8_per_ul"):
                value = getattr(self, name)
                if value is not None and value > self.cd3_per_ul:
                    errors[name] = _("%(subset)s cells are T cells: %(value)s/µL cannot exceed the CD3+ count "
                                     "(%(cd3)s/µL).") % {"subset": "CD4+" if name == "cd4_per_ul" else "CD8+",
                                                         "value": value, "cd3": self.cd3_per_ul}
        if errors:
            raise ValidationError(errors)


class Virus(models.TextChoices):
    CMV = "cmv", _("Cytomegalovirus (CMV)")
    EBV = "ebv", _("Epstein–Barr virus (EBV)")
    BK = "bk", _("BK virus")
    ADENOVIRUS = "adv", _("Adenovirus")


class Specimen(models.TextChoices):
    BLOOD = "blood", _("Blood (plasma or whole blood)")
    URINE = "urine", _("Urine")


class ViralResult(models.TextChoices):
    DETECTED = "detected", _("Detected (give the load)")
    NOT_DETECTED = "not_detected", _("Not detected")


class LoadUnit(models.TextChoices):
    COPIES_ML = "copies_ml", _("copies/mL")
    IU_ML = "iu_ml", _("IU/mL")


class ViralLoad(Crf):
    """One virus's PCR result on one sample (weekly to day +180, every 2 weeks to +365, monthly to month 24)."""

    sample_date = models.DateField(_("sample date"))
    virus = models.CharField(_("virus"), max_length=3, choices=Virus.choices)
    specimen = models.CharField(_("specimen"), max_length=5, choices=Specimen.choices)
    result = models.CharField(_("result"), max_length=12, choices=ViralResult.choices)
    load = measure(_("viral load"), "", hard=(1, 10_000_000_000), null=True,
                   help_text=_("In the unit chosen below; leave empty when not detected."))
    load_unit = models.CharField(_("load unit"), max_length=9, choices=LoadUnit.choices, blank=True)
    preemptive_treatment = models.CharField(_("pre-emptive treatment started"), max_length=1, choices=YesNo.choices)

    day_post_transplant = day_post_transplant_field()

    crf_repeating = True
    crf_order = 380
    crf_phase = Phase.TRANSPLANT
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}

    class Meta:
        verbose_name = _("viral load")
        verbose_name_plural = _("viral loads")

    def crf_summary(self) -> str:
        result = ""
        if self.result == ViralResult.NOT_DETECTED:
            result = str(_("not detected"))
        elif self.load is not None:
            result = f"{format_number(self.load)} {self.get_load_unit_display()}"
        return " · ".join(filter(None, [day_label(self.day_post_transplant), self.virus.upper() if self.virus else "",
                                        result]))

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.sample_date)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, ViralLoad, "sample_date", self.sample_date)
        check_after_day0(errors, ViralLoad, "sample_date", self)
        if self.result == ViralResult.DETECTED:
            if self.load is not None and not self.load_unit:
                errors["load_unit"] = _("Give the unit of the viral load (copies/mL or IU/mL).")
            if self.load is None and self.status != "draft":
                errors["load"] = _("The virus was detected: give the load.")
        elif self.result == ViralResult.NOT_DETECTED and (self.load is not None or self.load_unit):
            errors["load"] = _("The virus was not detected: clear the load and its unit.")
        if self.sample_date and self.virus and self.specimen and ViralLoad.objects.filter(
                patient_id=self.patient_id, sample_date=self.sample_date, virus=self.virus,
                specimen=self.specimen).exclude(pk=self.pk).exists():
            errors["virus"] = _("This patient already has a %(virus)s result for this specimen on %(date)s; correct "
                                "that one instead.") % {"virus": self.get_virus_display(),
                                                        "date": self.sample_date.isoformat()}
        if errors:
            raise ValidationError(errors)


class PathogenType(models.TextChoices):
    BACTERIAL = "bacterial", _("Bacterial")
    VIRAL = "viral", _("Viral")
    FUNGAL = "fungal", _("Fungal")
    PARASITIC = "parasitic", _("Parasitic")
    NOT_IDENTIFIED = "none", _("No pathogen identified")


class InfectionSyndrome(models.TextChoices):
    BLOODSTREAM = "bloodstream", _("Bloodstream infection")
    PNEUMONIA = "pneumonia", _("Pneumonia / lower respiratory tract")
    UPPER_RESPIRATORY = "upper_resp", _("Upper respiratory tract")
    GASTROINTESTINAL = "gi", _("Gastrointestinal")
    URINARY = "urinary", _("Urinary tract / cystitis")
    SKIN = "skin", _("Skin and soft tissue")
    CNS = "cns", _("Central nervous system")
    FEVER_WITHOUT_FOCUS = "fever", _("Febrile neutropenia without a focus")
    OTHER = "other", _("Other")


class Infection(Crf):
    """An infection after transplant: pathogen, syndrome, onset and resolution."""

    onset_date = models.DateField(_("onset date"))
    pathogen_type = models.CharField(_("pathogen type"), max_length=10, choices=PathogenType.choices)
    pathogen = models.CharField(_("pathogen"), max_length=120, blank=True,
                                help_text=_("E.g. Klebsiella pneumoniae, CMV, Aspergillus fumigatus."))
    syndrome = models.CharField(_("syndrome"), max_length=12, choices=InfectionSyndrome.choices)
    syndrome_detail = models.CharField(_("syndrome details"), max_length=200, blank=True)
    resolution_date = models.DateField(_("resolution date"), null=True, blank=True,
                                       help_text=_("Leave empty while the infection is ongoing."))

    day_post_transplant = day_post_transplant_field()

    crf_repeating = True
    crf_order = 390
    crf_phase = Phase.TRANSPLANT
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}

    class Meta:
        verbose_name = _("infection")
        verbose_name_plural = _("infections")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [day_label(self.day_post_transplant), self.pathogen or (
            self.get_pathogen_type_display() if self.pathogen_type else ""),
            self.get_syndrome_display() if self.syndrome else ""]))

    def normalize(self) -> None:
        self.pathogen = (self.pathogen or "").strip()
        self.syndrome_detail = (self.syndrome_detail or "").strip()

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.onset_date)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Infection, "onset_date", self.onset_date)
        check_after_day0(errors, Infection, "onset_date", self)
        check_date(errors, Infection, "resolution_date", self.resolution_date,
                   not_before=(self.onset_date, _("the onset date")))
        if self.pathogen_type and self.pathogen_type != PathogenType.NOT_IDENTIFIED and not self.pathogen \
                and self.status != "draft":
            errors["pathogen"] = _("Name the pathogen that was identified.")
        if self.syndrome == InfectionSyndrome.OTHER and not self.syndrome_detail:
            errors["syndrome_detail"] = _("Describe the syndrome.")
        if errors:
            raise ValidationError(errors)


class DliIndication(models.TextChoices):
    MIXED_CHIMERISM = "mixed_chimerism", _("Mixed chimerism")
    RELAPSE = "relapse", _("Relapse")
    OTHER = "other", _("Other")


class DonorLymphocyteInfusion(Crf):
    """A donor lymphocyte infusion: date, indication and CD3+ dose per kg."""

    infusion_date = models.DateField(_("infusion date"))
    indication = models.CharField(_("indication"), max_length=16, choices=DliIndication.choices)
    indication_detail = models.CharField(_("indication details"), max_length=200, blank=True)
    cd3_dose_10e6_kg = measure(_("CD3+ dose"), _("×10⁶ cells/kg"), hard=(0.001, 1000), soft=(0.01, 100),
                               decimals=3, help_text=_("E.g. 1 ×10⁵ CD3+/kg is 0.1 ×10⁶/kg."))

    day_post_transplant = day_post_transplant_field()

    crf_repeating = True
    crf_order = 400
    crf_phase = Phase.TRANSPLANT
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}

    class Meta:
        verbose_name = _("donor lymphocyte infusion")
        verbose_name_plural = _("donor lymphocyte infusions")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [day_label(self.day_post_transplant),
                                        self.get_indication_display() if self.indication else ""]))

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.infusion_date)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, DonorLymphocyteInfusion, "infusion_date", self.infusion_date)
        check_after_day0(errors, DonorLymphocyteInfusion, "infusion_date", self, first_day=1)
        if self.indication == DliIndication.OTHER and not (self.indication_detail or "").strip():
            errors["indication_detail"] = _("Describe the indication.")
        if errors:
            raise ValidationError(errors)


class Cd19Status(models.TextChoices):
    POSITIVE = "positive", _("CD19 positive")
    DIM = "dim", _("CD19 dim / partial")
    NEGATIVE = "negative", _("CD19 negative")
    UNKNOWN = "unknown", _("Not assessed")


class PostTransplantRelapse(Crf):
    """A relapse after transplant: date, site, CD19 status and therapy. It stops the transplant monitoring (D14);
    follow-up continues."""

    relapse_date = models.DateField(_("relapse date"))
    relapse_site = models.CharField(_("relapse site"), max_length=12, choices=RelapseSite.choices)
    cd19_status = models.CharField(_("CD19 on the relapsed blasts"), max_length=8, choices=Cd19Status.choices)
    therapy = models.TextField(_("therapy for the relapse"), blank=True,
                               help_text=_("E.g. blinatumomab, inotuzumab, DLI, palliative care."))

    day_post_transplant = day_post_transplant_field()

    crf_order = 410
    crf_phase = Phase.TRANSPLANT
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}

    class Meta:
        verbose_name = _("relapse after transplant")
        verbose_name_plural = _("relapses after transplant")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [day_label(self.day_post_transplant),
                                        self.get_relapse_site_display() if self.relapse_site else ""]))

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.relapse_date)

    def normalize(self) -> None:
        self.therapy = (self.therapy or "").strip()

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, PostTransplantRelapse, "relapse_date", self.relapse_date)
        check_after_day0(errors, PostTransplantRelapse, "relapse_date", self, first_day=1)
        if errors:
            raise ValidationError(errors)
