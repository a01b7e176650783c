"""The study's data cut-off date: visible to every study member, set by a data manager with a reason, each setting
kept (who, when, why); the schedule and the reports read the one in force (trial.models.DataCutoff)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from trial import access
from trial.access import Action
from trial.crf import REASON_MAX
from trial.models import DataCutoff


def may_set_cutoff(user) -> bool:
    """The data manager's decision: a study-wide role that may lock study data (trial.access, Action.LOCK)."""
    return access.can_study_wide(user, Action.LOCK)


class DataCutoffForm(forms.Form):
    cutoff_date = forms.DateField(label=gettext_lazy("Data cut-off date"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                  input_formats=["%Y-%m-%d"],
                                  help_text=gettext_lazy("Leave empty to lift the cut-off."))
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_cutoff_date(self):
        day = self.cleaned_data["cutoff_date"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(_("The cut-off date %(date)s is in the future: data are cut off at a date "
                                          "already reached.") % {"date": day.isoformat()})
        return day


@login_required
def data_cutoff(request: HttpRequest) -> HttpResponse:
    if not access.is_study_member(request.user):
        raise PermissionDenied
    may_set = may_set_cutoff(request.user)
    form = DataCutoffForm(request.POST or None) if may_set else None
    if request.method == "POST":
        if not may_set:
            raise PermissionDenied
        if form.is_valid():
            DataCutoff.objects.create(cutoff_date=form.cleaned_data["cutoff_date"],
                                      reason=form.cleaned_data["reason"].strip(), set_by=request.user)
            messages.success(request, _("Data cut-off saved."))
            return redirect("data-cutoff")
    history = DataCutoff.objects.select_related("set_by").order_by("-pk")
    return render(request, "trial/data_cutoff.html", {
        "current": history.first(), "history": history, "form": form, "may_set": may_set})


class DataCutoffSerializer(serializers.ModelSerializer):
    set_by = serializers.CharField(source="set_by.get_username")

    class Meta:
        model = DataCutoff
        fields = ["cutoff_date", "reason", "set_by", "set_at"]


class DataCutoffStateSerializer(serializers.Serializer):
    cutoff_date = serializers.DateField(allow_null=True, help_text="The cut-off in force; null: none.")
    history = DataCutoffSerializer(many=True, help_text="Every setting, newest first.")


class DataCutoffView(APIView):
    """The study's data cut-off in force (null: none) and every earlier setting, newest first."""

    serializer_class = DataCutoffStateSerializer

    @extend_schema(responses=DataCutoffStateSerializer)
    def get(self, request, format=None):  # noqa: A002 - DRF passes the format suffix
        if not access.is_study_member(request.user):
            raise PermissionDenied
        history = DataCutoff.objects.select_related("set_by").order_by("-pk")
        current = history.first()
        return Response({"cutoff_date": current.cutoff_date if current else None,
                         "history": DataCutoffSerializer(history, many=True).data})
