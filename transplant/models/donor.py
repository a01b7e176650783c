"""CRF-SPEC "Donor & HLA" and "Mobilization & graft": who gave the graft, and what it held per kg."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models import Sex
from patients.models.codes import check_date
from transplant import rules
from transplant.models.codes import Positive
from trial.crf import Crf, Phase
from trial.ranges import measure


class DonorType(models.TextChoices):
    """CRF-SPEC "Donor & HLA": the code list of donor types (the paper compares haploidentical with matched)."""

    HAPLOIDENTICAL = "haplo", _("Haploidentical related")
    MATCHED_RELATED = "mrd", _("HLA-identical related")
    MATCHED_UNRELATED = "mud", _("Matched unrelated")
    MISMATCHED_UNRELATED = "mmud", _("Mismatched unrelated")
    CORD_BLOOD = "cord", _("Cord blood")


class Relationship(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    SIBLING = "sibling", _("Sibling")
    OTHER_RELATIVE = "relative", _("Other relative")
    UNRELATED = "unrelated", _("Unrelated")


class BloodGroup(models.TextChoices):
    GROUP_O = "O", "O"
    GROUP_A = "A", "A"
    GROUP_B = "B", "B"
    GROUP_AB = "AB", "AB"


RELATED = {DonorType.HAPLOIDENTICAL, DonorType.MATCHED_RELATED}


class Donor(Crf):
    """The donor: type, relationship, age, sex, HLA match, ABO and CMV serostatus of donor and recipient."""

    donor_type = models.CharField(_("donor type"), max_length=6, choices=DonorType.choices)
    relationship = models.CharField(_("relationship to the patient"), max_length=10, choices=Relationship.choices)
    donor_age_years = measure(_("donor age"), _("years"), hard=(0, 80))
    donor_sex = models.CharField(_("donor sex"), max_length=1, choices=Sex.choices)
    hla_match = measure(_("HLA match"), _("of 10 alleles"), hard=(0, 10),
                        help_text=_("HLA-A, -B, -C, -DRB1 and -DQB1 at allele level: 10/10 is fully matched; a "
                                    "haploidentical donor is usually 5/10."))
    donor_abo = models.CharField(_("donor ABO group"), max_length=2, choices=BloodGroup.choices)
    recipient_abo = models.CharField(_("recipient ABO group"), max_length=2, choices=BloodGroup.choices)
    donor_cmv = models.CharField(_("donor CMV serostatus"), max_length=3, choices=Positive.choices)
    recipient_cmv = models.CharField(_("recipient CMV serostatus"), max_length=3, choices=Positive.choices)

    crf_order = 300
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("donor_age_years",)

    class Meta:
        verbose_name = _("donor and HLA")
        verbose_name_plural = _("donor and HLA")

    def crf_summary(self) -> str:
        return self.get_donor_type_display() if self.donor_type else ""

    def clean(self) -> None:
        errors: dict = {}
        related = self.donor_type in RELATED
        if self.donor_type and self.relationship:
            if related and self.relationship == Relationship.UNRELATED:
                errors["relationship"] = _("A %(type)s donor is a relative: give the relationship.") % {
                    "type": self.get_donor_type_display()}
            elif not related and self.donor_type != DonorType.CORD_BLOOD \
                    and self.relationship != Relationship.UNRELATED:
                errors["relationship"] = _("An unrelated donor's relationship is “Unrelated”.")
        if self.donor_type == DonorType.MATCHED_RELATED and self.hla_match is not None and self.hla_match < 10:
            errors["hla_match"] = _("An HLA-identical related donor matches 10 of 10 alleles; %(n)s/10 is a "
                                    "haploidentical or mismatched donor: correct the donor type or the match.") % {
                "n": self.hla_match}
        if self.donor_type == DonorType.MATCHED_UNRELATED and self.hla_match is not None and self.hla_match < 10:
            errors["hla_match"] = _("A matched unrelated donor matches 10 of 10 alleles; %(n)s/10 is a mismatched "
                                    "unrelated donor: correct the donor type or the match.") % {"n": self.hla_match}
        if self.donor_type == DonorType.MISMATCHED_UNRELATED and self.hla_match == 10:
            errors["hla_match"] = _("10/10 is a matched unrelated donor: correct the donor type or the match.")
        if self.donor_type == DonorType.HAPLOIDENTICAL and self.hla_match == 10:
            errors["hla_match"] = _("A haploidentical donor shares one haplotype (about 5 of 10 alleles); 10/10 is "
                                    "an HLA-identical donor: correct the donor type or the match.")
        if errors:
            raise ValidationError(errors)


class GraftSource(models.TextChoices):
    PERIPHERAL_BLOOD = "pbsc", _("Peripheral blood stem cells (apheresis)")
    BONE_MARROW = "bm", _("Bone marrow")
    CORD_BLOOD = "cord", _("Cord blood")


class DoseBasis(models.TextChoices):
    """How the per-kg graft doses were obtained: said on the record, never guessed."""

    PRODUCT_TOTALS = "totals", _("Computed here from the product totals and the recipient's weight")
    REPORTED_PER_KG = "per_kg", _("Reported per kg by the laboratory")


class Graft(Crf):
    """Mobilization (G-CSF), collection and the product; CD34+ and CD3+ doses per kg of recipient weight."""

    graft_source = models.CharField(_("graft source"), max_length=4, choices=GraftSource.choices)
    gcsf_dose_ug_kg_day = measure(_("donor G-CSF dose"), _("µg/kg/day"), hard=(0, 30), soft=(5, 16), decimals=1,
                                  help_text=_("Usually 10 µg/kg/day."))
    gcsf_days = measure(_("G-CSF days"), _("days"), hard=(0, 14))
    collection_date = models.DateField(_("apheresis or harvest date"))
    apheresis_device = models.CharField(_("apheresis device"), max_length=80, blank=True)
    recipient_weight_kg = measure(_("recipient weight"), "kg", hard=(0.5, 200), soft=(3, 150), decimals=1,
                                  help_text=_("The weight the per-kg doses are counted on."))
    dose_basis = models.CharField(_("how the per-kg doses were obtained"), max_length=6, choices=DoseBasis.choices)
    cd34_total_10e6 = measure(_("CD34+ cells in the product"), _("×10⁶ cells"), hard=(0, 100000), decimals=2,
                              help_text=_("Give the totals when the laboratory reports the product's cell counts."))
    cd3_total_10e8 = measure(_("CD3+ cells in the product"), _("×10⁸ cells"), hard=(0, 100000), decimals=2)
    cd34_reported_10e6_kg = measure(_("CD34+ per kg, as reported"), _("×10⁶/kg"), hard=(0, 100), decimals=2,
                                    help_text=_("Give these when the laboratory reports the doses per kg."))
    cd3_reported_10e8_kg = measure(_("CD3+ per kg, as reported"), _("×10⁸/kg"), hard=(0, 100), decimals=2)
    cd19_10e6_kg = measure(_("CD19+ per kg"), _("×10⁶/kg"), hard=(0, 1000), decimals=2)
    cd45_viability_pct = measure(_("CD45+ viability"), "%", hard=(0, 100), soft=(70, 100), decimals=1)

    cd34_10e6_kg = models.DecimalField(_("CD34+ dose (×10⁶/kg)"), max_digits=8, decimal_places=2, null=True,
                                       editable=False)
    cd3_10e8_kg = models.DecimalField(_("CD3+ dose (×10⁸/kg)"), max_digits=8, decimal_places=2, null=True,
                                      editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_order = 310
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("gcsf_dose_ug_kg_day", "gcsf_days", "cd19_10e6_kg", "cd45_viability_pct")

    class Meta:
        verbose_name = _("mobilization and graft")
        verbose_name_plural = _("mobilization and graft")

    def crf_summary(self) -> str:
        return str(_("CD34+ %(dose)s ×10⁶/kg") % {"dose": self.cd34_10e6_kg}) if self.cd34_10e6_kg is not None else ""

    def derive(self) -> None:
        self.rules_version = rules.TRANSPLANT_RULE_VERSION
        self.cd34_10e6_kg = self._per_kg(self.cd34_total_10e6, self.cd34_reported_10e6_kg)
        self.cd3_10e8_kg = self._per_kg(self.cd3_total_10e8, self.cd3_reported_10e8_kg)

    def _per_kg(self, total: Decimal | None, reported: Decimal | None) -> Decimal | None:
        if self.dose_basis == DoseBasis.REPORTED_PER_KG:
            return reported
        if self.dose_basis == DoseBasis.PRODUCT_TOTALS and total is not None and self.recipient_weight_kg:
            return rules.dose_per_kg(total, self.recipient_weight_kg)
        return None

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Graft, "collection_date", self.collection_date)
        if self.dose_basis == DoseBasis.PRODUCT_TOTALS:
            for name in ("cd34_reported_10e6_kg", "cd3_reported_10e8_kg"):
                if getattr(self, name) is not None:
                    errors[name] = _("The doses are computed from the product totals: clear the per-kg value, or "
                                     "choose “Reported per kg by the laboratory”.")
            if self.status != "draft":
                for name in ("cd34_total_10e6", "cd3_total_10e8", "recipient_weight_kg"):
                    if getattr(self, name) is None:
                        errors[name] = _("Needed to compute the per-kg doses from the product totals.")
        elif self.dose_basis == DoseBasis.REPORTED_PER_KG:
            for name in ("cd34_total_10e6", "cd3_total_10e8"):
                if getattr(self, name) is not None:
                    errors[name] = _("The doses are reported per kg: clear the product total, or choose “Computed "
                                     "here from the product totals”.")
            if self.status != "draft":
                for name in ("cd34_reported_10e6_kg", "cd3_reported_10e8_kg"):
                    if getattr(self, name) is None:
                        errors[name] = _("Give the dose per kg that the laboratory reported.")
        if errors:
            raise ValidationError(errors)
