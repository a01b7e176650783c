"""Pages of the treatment app beyond the generic casebook: the CTCAE term type-ahead of the adverse-event form."""

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from treatment.forms import CtcaeTermInput
from treatment.models import CtcaeTerm
from trial import access

SUGGESTIONS = 20
_FIELD = re.compile(r"[A-Za-z][\w-]{0,60}")


def _field(request: HttpRequest, key: str, default: str) -> str:
    value = request.GET.get(key, default)
    if not _FIELD.fullmatch(value):
        raise Http404
    return value


@login_required
@require_GET
def ctcae_suggestions(request: HttpRequest) -> HttpResponse:
    """Up to SUGGESTIONS terms matching what was typed in the term field (reference data: no patient data)."""
    if not access.is_study_member(request.user):
        raise Http404
    field, name = _field(request, "field", "id_term"), _field(request, "name", "term")
    text = request.GET.get(name, request.GET.get("term", "")).strip()[:100]
    terms = list(CtcaeTerm.search(text).only("meddra_code", "term", "soc")[:SUGGESTIONS + 1]) if len(text) >= 2 else []
    more = CtcaeTerm.search(text).count() - SUGGESTIONS if len(terms) > SUGGESTIONS else 0
    return render(request, "treatment/widgets/ctcae_suggestions.html",
                  {"terms": terms[:SUGGESTIONS], "more": more, "text": text, "field": field, "name": name})


@login_required
@require_GET
def ctcae_pick(request: HttpRequest) -> HttpResponse:
    """The term field again, holding the picked term, focused for the next key press."""
    if not access.is_study_member(request.user):
        raise Http404
    field, name = _field(request, "field", "id_term"), _field(request, "name", "term")
    code = request.GET.get("code", "")
    term = CtcaeTerm.objects.filter(pk=int(code)).first() if code.isdigit() else None
    if term is None:
        raise Http404
    attrs = {"id": field, "autofocus": True, "aria-describedby": f"{field}_helptext"}
    return HttpResponse(CtcaeTermInput(attrs=attrs).render(name, term))
