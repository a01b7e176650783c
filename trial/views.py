"""The generic casebook form page: any CRF, rendered, saved and audited without code of its own."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.defaults import page_not_found

from trial import access
from trial.access import Action
from trial.audit import display_value, history_entries
from trial.crf import (
    TRANSITIONS,
    Crf,
    CrfLocked,
    CrfStatus,
    StaleEdit,
    available_transitions,
    change_status,
    crf_model_by_slug,
    entry_refusal,
    save_crf,
)
from trial.forms import attach_errors, form_class_for
from trial.patients import visible_patient_or_404
from trial.quality.views import raise_url, record_queries
from trial.ranges import record_findings


def _model_or_404(slug: str) -> type[Crf]:
    model = crf_model_by_slug(slug)
    if model is None:
        raise Http404
    return model


def crf_url(crf: Crf) -> str:
    return reverse("casebook:form", args=[crf.patient.subject_id, crf.crf_slug(), crf.pk])


def _saved(request: HttpRequest, crf: Crf) -> HttpResponse:
    """After a successful save: say so, and show the form (post/redirect/get)."""
    messages.success(request, _("Saved: %(form)s, version %(v)s.") % {
        "form": capfirst(crf._meta.verbose_name), "v": crf.version})
    for finding in record_findings(crf):
        messages.warning(request, _("%(field)s %(value)s is outside the expected range %(range)s; it was saved "
                                    "and is marked for data review.") % {
            "field": capfirst(finding.label), "value": finding.value, "range": finding.expected})
    return redirect(crf_url(crf))


def _derived_rows(crf: Crf) -> list[tuple[str, Crf, str]]:
    return [(type(crf)._meta.get_field(n).verbose_name, crf, n) for n in crf.derived_fields()]


def _preview(model: type[Crf], patient, data: dict | None, base: Crf | None = None) -> Crf:
    """An unsaved copy of the form with what was typed so far, its derived values computed as saving would."""
    draft = base if base is not None else model(patient=patient)
    for name, value in (data or {}).items():
        setattr(draft, name, value)
    draft.normalize()
    # Half-typed input: the values computed so far are shown; saving validates properly.
    with contextlib.suppress(TypeError, ValueError, ArithmeticError):
        draft.derive()
    return draft


@login_required
@require_POST
def crf_preview(request: HttpRequest, subject_id: str, form: str) -> HttpResponse:
    """The derived values for what is on the page now, not saved (htmx swaps them in as the user types)."""
    patient = visible_patient_or_404(request.user, subject_id)
    model = _model_or_404(form)
    record_pk = request.POST.get("record", "")
    base = None
    if record_pk:
        if not record_pk.isdigit():
            raise Http404
        base = access.get_visible_or_404(model.objects.all(), request.user, pk=int(record_pk), patient=patient)
    bound = form_class_for(model)(request.POST, instance=base or model(patient=patient))
    bound.is_valid()  # keeps the valid fields in cleaned_data; nothing is saved
    typed = {name: bound.cleaned_data[name] for name in model.entry_fields() if name in bound.cleaned_data}
    draft = _preview(model, patient, typed, base=base)
    # Fields whose offer depends on other typed values (e.g. the performance scale on the assessment date)
    # are re-rendered from the draft and swapped in place (htmx out-of-band), without validation errors.
    # Only when what they offer changed, so a choice being made is never replaced under the user's hand.
    fresh = form_class_for(model)(instance=draft)
    live = [fresh[name] for name in getattr(fresh, "live_fields", ()) if name in fresh.fields
            and request.POST.get(f"_offer_{name}") != getattr(fresh.fields[name], "offer_key", None)]
    return render(request, "trial/_preview.html", {"derived": _derived_rows(draft), "preview": True,
                                                   "live_fields": live})


LIST_PAGE = 100


@login_required
def crf_list(request: HttpRequest, subject_id: str, form: str) -> HttpResponse:
    """Every record of one form of a patient (the patient page shows the latest few), oldest first, by pages."""
    model = _model_or_404(form)
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    records = (model.objects.visible_to(request.user).filter(patient=patient)
               .select_related("updated_by", *model.crf_summary_related).order_by("pk"))
    page = Paginator(records, LIST_PAGE).get_page(request.GET.get("page"))
    may_add = (model.crf_addable and access.can(request.user, Action.ENTER_DATA, site=patient.site_id)
               and entry_refusal(patient, model) is None and (model.crf_repeating or not page.paginator.count))
    return render(request, "trial/crf_list.html", {
        "patient": patient, "model": model, "page": page, "may_add": may_add,
        "first_number": page.start_index(), "title": capfirst(str(model._meta.verbose_name_plural))})


@login_required
def crf_new(request: HttpRequest, subject_id: str, form: str) -> HttpResponse:
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    model = _model_or_404(form)
    if not model.crf_addable or not access.can(request.user, Action.ENTER_DATA, site=patient.site_id):
        raise PermissionDenied
    if not model.crf_repeating:
        existing = model.objects.visible_to(request.user).filter(patient=patient).first()
        if existing is not None:  # a one-per-patient form that exists already: open it instead
            return redirect(crf_url(existing))
    refusal = entry_refusal(patient, model)
    form_class = form_class_for(model)
    # A link may prefill entry fields (e.g. the schedule's "Record as not done" names the visit and the form).
    initial = {name: request.GET[name] for name in model.entry_fields() if name in request.GET}
    crf_form = form_class(request.POST or None, instance=model(patient=patient), editable=refusal is None,
                          initial=initial)
    if request.method == "POST" and refusal is None and crf_form.is_valid():
        try:
            crf = save_crf(model(patient=patient), user=request.user, data=crf_form.crf_data(),
                           complete="save_complete" in request.POST, missing=crf_form.crf_missing())
        except ValidationError as error:
            attach_errors(crf_form, error)
        else:
            return _saved(request, crf)
    typed = crf_form.cleaned_data if crf_form.is_bound and hasattr(crf_form, "cleaned_data") else None
    return render(request, "trial/crf_form.html", {
        "patient": patient, "model": model, "form": crf_form, "crf": None, "can_edit": refusal is None,
        "refusal": refusal, "verbose_name": model._meta.verbose_name,
        "derived": _derived_rows(_preview(model, patient, typed and crf_form.crf_data())), "preview": True,
    })


def _stale_edit(crf_form, conflict: StaleEdit) -> tuple[dict, dict]:
    """What the page shows after someone else saved the form first, and what it keeps of the user's typing.

    Only the items the other person changed since the version the user opened are listed, each with their value
    and the user's, as the form shows them. The user's other changes and their reason for change stay typed in
    the form (now on the newer version), to be checked and saved again; nothing is saved meanwhile.
    """
    current, model = conflict.current, type(conflict.current)
    typed = crf_form.crf_data()
    opened = (current.history.filter(version=crf_form.cleaned_data.get("version")).order_by("-history_id").first()
              if crf_form.cleaned_data.get("version") else None)
    theirs = [name for name in model.entry_fields()
              if opened is None or getattr(opened, _attname(model, name)) != getattr(current, _attname(model, name))]
    conflicts = [(crf_form[name].label, current.display(name), display_value(model, name, typed.get(name)))
                 for name in theirs if name in typed and typed[name] != getattr(current, name)]
    kept = {name: value for name, value in typed.items() if name not in theirs and value != getattr(current, name)}
    if crf_form.cleaned_data.get("reason"):
        kept["reason"] = crf_form.cleaned_data["reason"]
    return {"conflicts": conflicts, "kept": [crf_form[name].label for name in kept if name != "reason"],
            "current": current, "by": conflict.by, "at": conflict.at}, kept


def _attname(model, name: str) -> str:
    return model._meta.get_field(name).attname


@login_required
def crf_detail(request: HttpRequest, subject_id: str, form: str, pk: int) -> HttpResponse:
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    model = _model_or_404(form)
    crf = access.get_visible_or_404(model.objects.select_related("updated_by"), request.user,
                                    pk=pk, patient=patient)
    can_edit = crf.status != CrfStatus.LOCKED and access.can(request.user, Action.ENTER_DATA, site=crf.site_id)
    form_class = form_class_for(model)
    stale = None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        crf_form = form_class(request.POST, instance=crf)
        if crf_form.is_valid() and not crf_form.has_changed() and "save_complete" not in request.POST:
            messages.info(request, _("Nothing was changed, so nothing was saved."))
            return redirect(crf_url(crf))
        if crf_form.is_valid():
            try:
                crf = save_crf(crf, user=request.user, data=crf_form.crf_data(),
                               reason=crf_form.cleaned_data.get("reason", ""),
                               expected_version=crf_form.cleaned_data.get("version"),
                               complete="save_complete" in request.POST, missing=crf_form.crf_missing())
            except StaleEdit as conflict:
                stale, kept = _stale_edit(crf_form, conflict)
                crf = conflict.current
                crf_form = form_class(instance=crf, editable=can_edit, initial=kept)
            except CrfLocked:
                messages.error(request, _("This form was locked meanwhile; your change was not saved."))
                return redirect(crf_url(crf))
            except ValidationError as error:
                attach_errors(crf_form, error)
            else:
                return _saved(request, crf)
    else:
        crf_form = form_class(instance=crf, editable=can_edit)
    return render(request, "trial/crf_form.html", {
        "patient": patient, "model": model, "form": crf_form, "crf": crf, "can_edit": can_edit,
        "verbose_name": model._meta.verbose_name, "stale": stale, **_queries_on_form(request.user, crf, crf_form),
        "derived": _derived_rows(crf),
        "transitions": available_transitions(crf, request.user),
        "history": history_entries(crf),
    })


@login_required
@require_POST
def crf_transition(request: HttpRequest, subject_id: str, form: str, pk: int) -> HttpResponse:
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    model = _model_or_404(form)
    crf = access.get_visible_or_404(model.objects.all(), request.user, pk=pk, patient=patient)
    name = request.POST.get("transition", "")
    if name not in TRANSITIONS:
        raise Http404
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        messages.error(request, _("The page did not say which version you looked at; reload it and try again."))
        return redirect(crf_url(crf))
    try:
        change_status(crf, user=request.user, transition=name, reason=request.POST.get("reason", ""),
                      expected_version=version)
    except StaleEdit:
        messages.error(request, _("Someone changed this form meanwhile; look at it again before this step."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Status is now: %(status)s.") % {"status": crf.get_status_display()})
    return redirect(crf_url(crf))


def _queries_on_form(user, crf: Crf, crf_form) -> dict:
    """The record's queries next to their fields (the rest above the form), and where to raise one."""
    by_field = record_queries(user, crf)
    on_form = []
    for name, queries in by_field.items():
        if name and name in crf_form.fields:
            crf_form.fields[name].queries = queries
        else:
            on_form += queries
    may_raise = access.can(user, Action.RAISE_QUERY, site=crf.site_id)
    if may_raise:
        for name, field in crf_form.fields.items():
            if name in type(crf).entry_fields():
                field.raise_url = raise_url(crf, name)
    return {"form_queries": on_form, "raise_form_url": raise_url(crf) if may_raise else ""}


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for an address no route matches: JSON under /api/ (what API clients parse), the page otherwise."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return page_not_found(request, exception)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for the container health check: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
