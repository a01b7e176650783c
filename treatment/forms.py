"""Form overrides for treatment CRFs (the rest use the generic form built from the model)."""

from itertools import groupby

from treatment.models import AdverseEvent, CtcaeTerm
from trial.forms import generic_form_class, register_form


@register_form(AdverseEvent)
class AdverseEventForm(generic_form_class(AdverseEvent)):
    """The 837 CTCAE v5.0 terms grouped by MedDRA system organ class, each shown with its MedDRA code."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        terms = CtcaeTerm.objects.order_by("soc", "term").only("meddra_code", "soc", "term")
        self.fields["term"].choices = [("", "---------")] + [
            (soc, [(t.meddra_code, str(t)) for t in group]) for soc, group in groupby(terms, key=lambda t: t.soc)]
