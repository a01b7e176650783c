"""When a post-transplant form may be entered: once the transplant procedure gives day 0.

Registered with the CRF engine (trial.crf.entry_check): every path runs it, and the casebook shows its answer
instead of an "Enter" button.
"""

from django.utils.translation import gettext as _

from transplant.models import Donor, Graft, TransplantProcedure
from trial.crf import Crf, Phase, entry_check

_BEFORE_DAY0 = {Donor, Graft, TransplantProcedure}


@entry_check
def day0_first(patient, model: type[Crf]) -> str | None:
    """Post-transplant forms are dated from day 0, so the transplant procedure and its date come first."""
    if model.crf_phase != Phase.TRANSPLANT or model in _BEFORE_DAY0:
        return None
    cache = patient.__dict__.setdefault("_transplant_cache", {})
    if "day0" not in cache:
        cache["day0"] = (TransplantProcedure.objects.filter(patient_id=patient.pk, transplant_date__isnull=False)
                         .values_list("transplant_date", flat=True).first())
    if cache["day0"] is None:
        return _("Enter the transplant procedure with its date (day 0) first: post-transplant forms are counted "
                 "from it.")
    return None
