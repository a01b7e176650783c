"""CRF-SPEC "Daily counts": one row per day from day 0, entered as a series (transplant.series); engraftment is
derived from the whole series on the transplant procedure (D7)."""

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
from trial.crf import Crf, Phase
from trial.ranges import format_number, measure


class DailyCount(Crf):
    """One day's absolute neutrophil count, platelets and transfusions after the graft infusion."""

    count_date = models.DateField(_("date"))
    anc_per_ul = measure(_("absolute neutrophil count"), "/µL", hard=(0, 100000), soft=(0, 30000),
                         help_text=_("Per microlitre: 500/µL = 0.5 ×10⁹/L."))
    platelets_10e9_l = measure(_("platelets"), "×10⁹/L", hard=(0, 1_000_000), soft=(0, 1000),
                               help_text=_("In ×10⁹/L (the same number as ×10³/µL): 231,000/µL is 231."))
    platelet_transfusion = models.CharField(_("platelet transfusion this day"), max_length=1, choices=YesNo.choices)
    red_cell_transfusion = models.CharField(_("red-cell transfusion this day"), max_length=1, choices=YesNo.choices)

    day_post_transplant = day_post_transplant_field()

    crf_repeating = True
    crf_order = 330
    crf_phase = Phase.TRANSPLANT
    crf_may_be_missing = ("anc_per_ul", "platelets_10e9_l")
    crf_derived_from = ("transplant.TransplantProcedure",)
    crf_reads = {"transplant.TransplantProcedure": ("transplant_date",)}
    crf_series_url = "transplant:daily-counts"

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        constraints = [models.UniqueConstraint(fields=["patient", "count_date"], name="one_count_per_day",
                                               condition=models.Q(count_date__isnull=False))]

    def crf_summary(self) -> str:
        parts = [day_label(self.day_post_transplant)]
        if self.anc_per_ul is not None:
            parts.append(f"ANC {format_number(self.anc_per_ul)}")
        if self.platelets_10e9_l is not None:
            parts.append(str(_("plt %(n)s") % {"n": format_number(self.platelets_10e9_l)}))
        return " · ".join(filter(None, parts))

    def derive(self) -> None:
        self.day_post_transplant = day_after_transplant(self.patient_id, self.count_date)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, DailyCount, "count_date", self.count_date)
        check_after_day0(errors, DailyCount, "count_date", self)
        one_per_date(errors, self, "count_date")
        if self.platelets_10e9_l is not None and rules.platelets_look_per_ul(self.platelets_10e9_l):
            errors["platelets_10e9_l"] = _(
                "Platelets: %(value)s looks like a count per µL; this form takes ×10⁹/L (%(value)s/µL = "
                "%(converted)s ×10⁹/L). Enter %(converted)s.") % {
                "value": format_number(self.platelets_10e9_l),
                "converted": format_number(round(self.platelets_10e9_l / 1000))}
        if errors:
            raise ValidationError(errors)
