"""Blinatumomab treatment CRFs (debulking, cycles, intrathecal therapy, CRS, ICANS, AEs, response)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients.models import YesNo
from patients.models.codes import check_date, date_of_birth
from trial.crf import Crf, Phase


class Debulking(Crf):
    """CRF-SPEC "Debulking chemotherapy": given before cycle 1 to lower the leukemic burden."""

    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True,
                                help_text=_("Leave empty while the debulking is still being given."))
    anthracycline = models.CharField(_("anthracycline"), max_length=1, choices=YesNo.choices)
    asparaginase = models.CharField(_("asparaginase"), max_length=1, choices=YesNo.choices)
    vincristine = models.CharField(_("vincristine"), max_length=1, choices=YesNo.choices)
    corticosteroid = models.CharField(_("corticosteroid"), max_length=1, choices=YesNo.choices)

    crf_order = 100
    crf_phase = Phase.TREATMENT

    class Meta:
        verbose_name = _("debulking chemotherapy")
        verbose_name_plural = _("debulking chemotherapy")

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, Debulking, "start_date", self.start_date, born=date_of_birth(self.patient))
        check_date(errors, Debulking, "end_date", self.end_date, not_before=(self.start_date, _("the start date")))
        if errors:
            raise ValidationError(errors)
