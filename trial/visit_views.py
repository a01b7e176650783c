"""The schedule for people: the calendar on the patient page, the site's overdue visits, and both in the API.

Every read goes through the site scoping of trial.access (another site's patient answers 404, its visits are
never listed); the computation is trial.visits, a fixed number of queries whatever the number of patients.
"""

from datetime import date

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from trial import access
from trial.access import Action
from trial.crf import crf_model_by_slug, entry_refusal
from trial.forms import generic_form_class, register_form
from trial.models import MissedVisit
from trial.panels import patient_panel
from trial.patients import log_access, patient_model, visible_patient_or_404
from trial.schedule import State, VisitState
from trial.visits import data_cutoff, form_label, form_slug, overdue_visits, patient_schedule


def state_label(state: State) -> str:
    return {
        State.EXPECTED: _("Expected"), State.DUE: _("Due"), State.DONE: _("Done"), State.MISSED: _("Missed"),
        State.OVERDUE: _("Overdue"), State.NOT_APPLICABLE: _("Not applicable"),
    }[state]


def _reason_label(visit: VisitState) -> str:
    if visit.state == State.NOT_APPLICABLE:
        return {"death": _("after death"), "off_study": _("after going off study"),
                "withdrawal": _("after consent was withdrawn"), "screen_failure": _("screen failure"),
                "cutoff": _("after the data cut-off"),
                "relapse_after_transplant": _("after relapse post-transplant")}.get(visit.reason, visit.reason)
    return visit.reason


def _timing_label(visit: VisitState) -> str:
    return {"early": _("before its window"), "late": _("after its window"), "on_time": ""}.get(
        visit.timing or "", "")


def _row(patient, visit: VisitState, *, may_enter: bool = True) -> dict:
    """A visit as a row: with links to enter its form or record it as not done when that may be done now."""
    slug = form_slug(visit.form)
    model = crf_model_by_slug(slug)
    open_now = may_enter and visit.state in (State.DUE, State.OVERDUE) and model is not None
    if open_now:
        open_now = entry_refusal(patient, model) is None and entry_refusal(patient, MissedVisit) is None
    return {"visit": visit, "form_label": form_label(visit.form), "state_label": state_label(visit.state),
            "reason": _reason_label(visit), "timing": _timing_label(visit), "open": open_now,
            "enter_url": reverse("casebook:form-new", args=[patient.subject_id, slug]) if slug else "",
            "missed_url": reverse("casebook:form-new", args=[patient.subject_id, "missedvisit"])
            + f"?visit_key={visit.key}&form={visit.form}"}


@patient_panel(order=5)
def schedule_panel(patient, user):
    """The patient's visit calendar: what is done, due, overdue, missed or no longer applicable, with windows."""
    visits = patient_schedule(patient)
    if not visits:
        return None
    may_enter = access.can(user, Action.ENTER_DATA, site=patient.site_id)
    return "trial/_schedule_panel.html", {"rows": [_row(patient, v, may_enter=may_enter) for v in visits],
                                          "may_enter": may_enter,
                                          "today": timezone.localdate()}


@login_required
def overdue_list(request: HttpRequest) -> HttpResponse:
    """Overdue visits across the patients the user may see (a coordinator: their site), oldest first."""
    if not access.is_study_member(request.user):
        raise PermissionDenied
    patients = patient_model().objects.visible_to(request.user)
    site_code = request.GET.get("site", "")
    if site_code:
        patients = patients.filter(site__code=site_code)
    today = timezone.localdate()
    may_enter = {site.pk for site in access.sites_where(request.user, Action.ENTER_DATA)}
    rows = [{**_row(o.patient, o.visit, may_enter=o.patient.site_id in may_enter), "patient": o.patient,
             "days_overdue": (today - o.visit.window_end).days}
            for o in overdue_visits(patients, as_of=today)]
    return render(request, "trial/overdue_visits.html", {
        "rows": rows, "site_code": site_code, "sites": access.sites_where(request.user, Action.VIEW),
        "may_enter": bool(may_enter), "today": today, "cutoff": data_cutoff()})


class VisitStateSerializer(serializers.Serializer):
    """One expected visit of a patient, with its window and state."""

    key = serializers.CharField(help_text="Visit key (SCR, DEB, C1, C1-IT, C1-RESP, ...): the ODM StudyEvent.")
    form = serializers.CharField(help_text="The CRF, as app_label.ModelName.")
    form_slug = serializers.CharField(help_text="The form's endpoint under /api/v1/forms/.")
    label = serializers.CharField()
    target = serializers.DateField()
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    state = serializers.ChoiceField(choices=[s.value for s in State])
    done_on = serializers.DateField(allow_null=True)
    timing = serializers.CharField(allow_null=True, help_text="early, on_time or late when done")
    reason = serializers.CharField(help_text="why missed, or what made it not applicable")


def visit_as_dict(visit: VisitState) -> dict:
    return {"key": visit.key, "form": visit.form, "form_slug": form_slug(visit.form), "label": visit.label,
            "target": visit.target, "window_start": visit.window_start, "window_end": visit.window_end,
            "state": visit.state.value, "done_on": visit.done_on,
            "timing": visit.timing.value if visit.timing else None, "reason": visit.reason}


def _as_of(request: Request) -> date:
    raw = request.query_params.get("as_of", "")
    if not raw:
        return timezone.localdate()
    parsed = parse_date(raw) if len(raw) == 10 else None
    if parsed is None:
        raise ApiValidationError({"as_of": _("Give the date as YYYY-MM-DD, e.g. 2021-07-01.")})
    return parsed


AS_OF = OpenApiParameter("as_of", str, description="Judge the schedule as of this date (YYYY-MM-DD); default today.")


class PatientScheduleViewSet(viewsets.ViewSet):
    """A patient's visit calendar: each expected visit with its window and state."""

    lookup_field = "subject_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(responses=VisitStateSerializer(many=True), parameters=[AS_OF])
    def retrieve(self, request: Request, subject_id: str | None = None, **kwargs) -> Response:
        patient = visible_patient_or_404(request.user, subject_id or "")
        log_access(request.user, patient, request.path)
        return Response(VisitStateSerializer(
            [visit_as_dict(v) for v in patient_schedule(patient, as_of=_as_of(request))], many=True).data)


class OverdueSerializer(serializers.Serializer):
    subject_id = serializers.CharField()
    site = serializers.CharField()
    visit = VisitStateSerializer()
    days_overdue = serializers.IntegerField()


class OverdueVisitViewSet(viewsets.ViewSet):
    """Overdue visits across the patients you may see (filter with ?site=MX01), oldest window first."""

    @extend_schema(responses=OverdueSerializer(many=True), parameters=[
        AS_OF, OpenApiParameter("site", str, description="Site code")])
    def list(self, request: Request, **kwargs) -> Response:
        patients = patient_model().objects.visible_to(request.user)
        if request.query_params.get("site"):
            patients = patients.filter(site__code=request.query_params["site"])
        as_of = _as_of(request)
        return Response(OverdueSerializer([
            {"subject_id": o.patient.subject_id, "site": o.patient.site.code, "visit": visit_as_dict(o.visit),
             "days_overdue": (as_of - o.visit.window_end).days}
            for o in overdue_visits(patients, as_of=as_of)], many=True).data)


@register_form(MissedVisit)
class MissedVisitForm(generic_form_class(MissedVisit)):
    """Which visit did not happen: chosen among the patient's visits that are due or overdue (or expected)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        patient = self.instance.patient if self.instance.patient_id else None
        if patient is None:
            return
        open_visits = [v for v in patient_schedule(patient)
                       if v.state in (State.DUE, State.OVERDUE, State.EXPECTED, State.MISSED)]
        keys = sorted({v.key for v in open_visits} | ({self.instance.visit_key} - {""}))
        forms_ = {v.form: form_label(v.form) for v in open_visits}
        if self.instance.form:
            forms_.setdefault(self.instance.form, form_label(self.instance.form))
        self.fields["visit_key"] = forms.ChoiceField(
            label=self.fields["visit_key"].label, required=False, disabled=self.fields["visit_key"].disabled,
            choices=[("", "---------"), *((k, k) for k in keys)])
        self.fields["form"] = forms.ChoiceField(
            label=self.fields["form"].label, required=False, disabled=self.fields["form"].disabled,
            choices=[("", "---------"), *((f, str(label).capitalize()) for f, label in sorted(forms_.items()))])
        for name in ("visit_key", "form"):
            self.fields[name].required_to_complete = True
