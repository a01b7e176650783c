"""Patient list, registration and the patient page (the casebook's table of contents)."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from patients.enrollment import EnrollmentState, enrollment_state, screening_log
from patients.entry import consent_of, eligibility_of
from patients.forms import RegisterPatientForm
from patients.models import Baseline, DiagnosisHistory, Patient
from patients.services import PossibleDuplicate, register_patient
from trial import access
from trial.access import Action
from trial.casebook import casebook_groups
from trial.forms import attach_errors
from trial.panels import render_patient_panels
from trial.patients import visible_patient_or_404


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    if not access.is_study_member(request.user):
        raise PermissionDenied
    patients = (Patient.objects.visible_to(request.user)
                .select_related("site", "registration", "consent", "eligibility").order_by("subject_id"))
    sites = access.sites_where(request.user, Action.VIEW)
    site_code = request.GET.get("site", "")
    if site_code:
        patients = patients.filter(site__code=site_code)
    query = request.GET.get("q", "").strip()
    if query:
        patients = patients.filter(subject_id__icontains=query)
    page = Paginator(patients, 50).get_page(request.GET.get("page"))
    for patient in page:
        patient.state = enrollment_state(patient)
    return render(request, "patients/patient_list.html", {
        "page": page, "sites": sites, "site_code": site_code, "query": query,
        "can_register": access.sites_where(request.user, Action.REGISTER_PATIENT).exists(),
    })


@login_required
def patient_register(request: HttpRequest) -> HttpResponse:
    sites = access.sites_where(request.user, Action.REGISTER_PATIENT)
    if not sites.exists():
        raise PermissionDenied
    confirming = request.POST.get("duplicate_check") == "shown"
    form = RegisterPatientForm(request.POST or None, sites=sites, show_duplicate_confirmation=confirming)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            registration = register_patient(
                user=request.user, site=form.cleaned_data["site"], data=form.crf_data(),
                complete="save_complete" in request.POST,
                confirm_not_duplicate=confirming and form.cleaned_data.get("confirm_not_duplicate", False))
        except PossibleDuplicate as duplicate:
            duplicates = duplicate.matches
            form = RegisterPatientForm(request.POST, sites=sites, show_duplicate_confirmation=True)
            form.is_valid()
            if confirming:
                form.add_error("confirm_not_duplicate", _("Tick the box to register a different patient, or cancel."))
        except ValidationError as error:
            attach_errors(form, error)
        else:
            subject_id = registration.patient.subject_id
            messages.success(request, _("Patient registered with subject ID %(id)s.") % {"id": subject_id})
            return redirect("patients:detail", subject_id=subject_id)
    return render(request, "patients/patient_register.html", {"form": form, "duplicates": duplicates})


@login_required
def patient_detail(request: HttpRequest, subject_id: str) -> HttpResponse:
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    registration = getattr(patient, "registration", None)
    return render(request, "patients/patient_detail.html", {
        "patient": patient, "registration": registration, "state": enrollment_state(patient),
        "consent": consent_of(patient), "eligibility": eligibility_of(patient),
        "diagnosis": DiagnosisHistory.objects.filter(patient=patient).first(),
        "baseline": Baseline.objects.filter(patient=patient).first(),
        "groups": casebook_groups(patient, request.user),
        "panels": render_patient_panels(request, patient),
    })


@login_required
def screening_log_page(request: HttpRequest) -> HttpResponse:
    """Registered, eligible and screen failures with their reasons, per site (only the user's sites)."""
    if not access.is_study_member(request.user):
        raise PermissionDenied
    patients = Patient.objects.visible_to(request.user)
    site_code = request.GET.get("site", "")
    if site_code:
        patients = patients.filter(site__code=site_code)
    totals, rows = screening_log(patients)
    if request.GET.get("download") == "csv":
        return _screening_log_csv(rows)
    return render(request, "patients/screening_log.html", {
        "totals": totals, "rows": rows, "states": list(EnrollmentState), "site_code": site_code,
        "sites": access.sites_where(request.user, Action.VIEW),
        "failures": [r for r in rows if r.state == EnrollmentState.SCREEN_FAILURE],
    })


def _screening_log_csv(rows) -> HttpResponse:
    """The screening log as a spreadsheet file (UTF-8 with BOM so Excel opens accents right)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="screening-log.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Subject ID"), _("Site"), _("Registration date"), _("Consent"), _("Consent withdrawn"),
                     _("Eligibility reviewed"), _("Status"), _("Criteria not met")])
    for row in rows:
        def iso(obj, name):
            value = getattr(obj, name, None) if obj is not None else None
            return value.isoformat() if value else ""

        writer.writerow([row.patient.subject_id, row.patient.site.code, iso(row.registration, "registration_date"),
                         iso(row.consent, "consent_date"), iso(row.consent, "withdrawal_date"),
                         iso(row.eligibility, "assessment_date"), row.state.label, "; ".join(row.failed)])
    return response
