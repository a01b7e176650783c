"""The data-quality dashboard page: the numbers of trial.quality.dashboard for the sites the user may see."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trial import access
from trial.quality.dashboard import dashboard_context


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Per site, what awaits attention; a study-wide role also sees the study's totals. Nothing here names a patient,
    so reading it is not a casebook access."""
    if not access.is_study_member(request.user):
        raise PermissionDenied
    return render(request, "trial/quality/dashboard.html", dashboard_context(request.user))
