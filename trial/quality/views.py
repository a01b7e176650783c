"""Pages of the query workflow: the list with its filters and bulk close, one query with its thread and the data
changes made since it was opened, raising a query on a datum, data-quality runs, and the notification inbox.

Every page reads through the one site-scoping check (trial.access): another site's query answers 404.
"""

from datetime import timedelta

from django.apps import apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sites.models import Membership, Role, Site
from trial import access
from trial.access import Action
from trial.audit import history_entries
from trial.panels import patient_panel
from trial.patients import log_list_access, visible_patient_or_404
from trial.quality import rules
from trial.quality.models import (
    Delivery,
    Notification,
    NotificationPreference,
    QualityRun,
    Query,
    QueryStatus,
    RunScope,
    RunStatus,
)
from trial.quality.registry import field_label, form_label
from trial.quality.runs import start_run
from trial.quality.workflow import available_steps, close_many, open_query, take_step

AGES = {"0-7": (0, 7), "8-30": (8, 30), "31+": (31, None)}
PAGE = 100


def _member(request: HttpRequest) -> None:
    if not access.is_study_member(request.user):
        raise PermissionDenied


def filtered_queries(user, params) -> tuple[object, dict]:
    """The queries `user` may see, narrowed by the list's filters (each one checked, unknown values ignored)."""
    queries = Query.objects.visible_to(user).select_related("patient", "site", "assigned_to", "opened_by")
    chosen = {}
    status = params.get("status", "")
    if status == "open":  # "open" in the list means not closed: open or answered
        queries = queries.exclude(status=QueryStatus.CLOSED)
    elif status in QueryStatus.values:
        queries = queries.filter(status=status)
    chosen["status"] = status
    if (site := params.get("site", "")).isdigit():
        queries, chosen["site"] = queries.filter(site_id=int(site)), site
    if (age := params.get("age", "")) in AGES:
        low, high = AGES[age]
        now = timezone.now()
        queries = queries.filter(opened_at__lte=now - timedelta(days=low))
        if high is not None:
            queries = queries.filter(opened_at__gt=now - timedelta(days=high + 1))
        chosen["age"] = age
    if rule := params.get("rule", ""):
        queries = queries.filter(rule="") if rule == "manual" else queries.filter(rule=rule)
        chosen["rule"] = rule
    if form := params.get("form", ""):
        queries, chosen["form"] = queries.filter(form=form), form
    if (assignee := params.get("assignee", "")).isdigit():
        queries, chosen["assignee"] = queries.filter(assigned_to_id=int(assignee)), assignee
    if subject := params.get("subject", "").strip():
        queries, chosen["subject"] = queries.filter(patient__subject_id=subject), subject
    return queries.order_by("opened_at", "pk"), chosen


def datum_url(query: Query) -> str:
    """Where the queried datum is: the record's form (at the field), the form's list, or the patient page."""
    subject = query.patient.subject_id
    if query.form and query.record_id:
        try:
            slug = apps.get_model(query.form)._meta.model_name
            anchor = f"#field-{query.field}" if query.field else ""
            return reverse("casebook:form", args=[subject, slug, query.record_id]) + anchor
        except (LookupError, ValueError, NoReverseMatch):
            pass
    if query.form:
        try:
            return reverse("casebook:form-list", args=[subject, apps.get_model(query.form)._meta.model_name])
        except (LookupError, ValueError, NoReverseMatch):
            pass
    return reverse("patients:detail", args=[subject])


def describe(query: Query) -> dict:
    return {"query": query, "form": form_label(query.form), "field": field_label(query.form, query.field),
            "url": datum_url(query), "age": query.age_days()}


@login_required
def query_list(request: HttpRequest) -> HttpResponse:
    _member(request)
    queries, chosen = filtered_queries(request.user, request.GET)
    log_list_access(request)
    page = Paginator(queries, PAGE).get_page(request.GET.get("page"))
    may_close = access.any_role_allows(request.user, Action.RAISE_QUERY)
    sites = access.sites_where(request.user, Action.VIEW).order_by("code")
    site_ids = [site.pk for site in sites]
    assignees = get_user_model().objects.filter(
        pk__in=Membership.objects.filter(site_id__in=site_ids, is_active=True).values("user_id")).order_by("username")
    params = {k: v for k, v in chosen.items() if v}
    return render(request, "trial/quality/query_list.html", {
        "page": page, "rows": [describe(q) for q in page], "chosen": chosen, "may_close": may_close,
        "sites": sites, "statuses": QueryStatus.choices, "ages": list(AGES), "rules": rules(),
        "forms": sorted({(q, form_label(q)) for q in queries.values_list("form", flat=True).distinct() if q},
                        key=lambda item: item[1]),
        "assignees": assignees, "query_string": urlencode(params), "total": page.paginator.count,
    })


@login_required
@require_POST
def bulk_close(request: HttpRequest) -> HttpResponse:
    """Close the ticked queries (open or answered) that the user may close, with one note."""
    ids = [int(pk) for pk in request.POST.getlist("query") if pk.isdigit()]
    queries = list(Query.objects.visible_to(request.user).filter(pk__in=ids).order_by("pk"))
    if not queries:
        messages.error(request, _("Tick the queries to close."))
    else:
        try:
            closed = close_many(request.user, queries, text=request.POST.get("text", ""))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("%(count)s queries closed.") % {"count": closed})
    return redirect(reverse("quality:queries") + "?" + request.POST.get("back", ""))


def _visible_query_or_404(user, pk: int) -> Query:
    return access.get_visible_or_404(Query.objects.select_related("patient", "site", "opened_by", "closed_by",
                                                                  "assigned_to"), user, pk=pk)


def _record_changes(query: Query) -> list:
    """The audit entries of the queried record since the query was opened: the corrections it led to."""
    if not (query.form and query.record_id):
        return []
    try:
        model = apps.get_model(query.form)
    except (LookupError, ValueError):
        return []
    record = model._base_manager.filter(pk=query.record_id).first()
    if record is None:
        return []
    return [entry for entry in history_entries(record) if entry.when >= query.opened_at]


@login_required
def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = _visible_query_or_404(request.user, pk)
    visible_patient_or_404(request.user, query.patient.subject_id, path=request.path)
    if request.method == "POST":
        try:
            take_step(request.user, query, request.POST.get("step", ""), text=request.POST.get("text", ""))
        except PermissionDenied as refused:
            messages.error(request, str(refused) or _("Your role at this site does not allow this."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Query %(number)s saved.") % {"number": query.pk})
            return redirect("quality:query", pk=query.pk)
    query.refresh_from_db()
    return render(request, "trial/quality/query_detail.html", {
        **describe(query), "events": query.events.select_related("by"), "steps": available_steps(request.user, query),
        "changes": _record_changes(query), "may_correct": access.can(request.user, Action.ENTER_DATA,
                                                                      site=query.site_id),
    })


@login_required
def query_new(request: HttpRequest) -> HttpResponse:
    """Raise a query on a field of a record, a whole record, or the patient (GET names the datum)."""
    source = request.POST if request.method == "POST" else request.GET
    patient = visible_patient_or_404(request.user, source.get("subject", ""), path=request.path)
    if not access.can(request.user, Action.RAISE_QUERY, site=patient.site_id):
        raise PermissionDenied
    form, field = source.get("form", ""), source.get("field", "")
    record = source.get("record", "")
    record_id = int(record) if record.isdigit() else None
    assignable = get_user_model().objects.filter(
        pk__in=Membership.objects.filter(is_active=True, role__in=[Role.COORDINATOR, Role.INVESTIGATOR],
                                         site_id=patient.site_id).values("user_id")).order_by("username")
    errors = {}
    if request.method == "POST":
        assignee = source.get("assigned_to", "")
        assigned_to = assignable.filter(pk=int(assignee)).first() if assignee.isdigit() else None
        try:
            with transaction.atomic():
                query = open_query(request.user, patient=patient, text=source.get("text", ""), form=form,
                                   record_id=record_id, field=field, assigned_to=assigned_to)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, _("Query %(number)s opened; the site's coordinators are notified.") % {
                "number": query.pk})
            return redirect("quality:query", pk=query.pk)
    return render(request, "trial/quality/query_new.html", {
        "patient": patient, "form": form, "field": field, "record": record_id or "",
        "form_label": form_label(form), "field_label": field_label(form, field), "assignable": assignable,
        "errors": errors, "text": source.get("text", ""),
    })


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    """Start a data-quality run (study or one site) and follow the runs' progress."""
    _member(request)
    may_run = access.any_role_allows(request.user, Action.RAISE_QUERY)
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied
        site = None
        if (site_id := request.POST.get("site", "")).isdigit():
            site = access.sites_where(request.user, Action.RAISE_QUERY).filter(pk=int(site_id)).first()
            if site is None:
                raise Http404
        elif not access.can_study_wide(request.user, Action.RAISE_QUERY):
            raise PermissionDenied
        run = start_run(request.user, site=site)
        messages.success(request, _("Data-quality run %(number)s started.") % {"number": run.pk})
        return redirect("quality:runs")
    visible = QualityRun.objects.filter(_runs_visible(request.user)).select_related("site", "requested_by")[:30]
    return render(request, "trial/quality/runs.html", {
        "runs": visible, "may_run": may_run, "study_wide": access.can_study_wide(request.user, Action.RAISE_QUERY),
        "sites": access.sites_where(request.user, Action.RAISE_QUERY).order_by("code"),
        "running": any(run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in visible),
        "rules": rules(),
    })


def _runs_visible(user):
    from django.db.models import Q

    site_ids = access.visible_site_ids(user)
    if site_ids is None:
        return Q()
    return Q(site_id__in=site_ids, scope=RunScope.SITE)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first, and how they want them by email."""
    _member(request)
    preference, _created = NotificationPreference.objects.get_or_create(user=request.user)
    if request.method == "POST":
        if request.POST.get("delivery") in Delivery.values:
            preference.delivery = request.POST["delivery"]
            preference.save(update_fields=["delivery"])
            messages.success(request, _("Email delivery: %(choice)s.") % {"choice": preference.get_delivery_display()})
        if request.POST.get("read") == "all":
            unread = Notification.objects.filter(user=request.user, read_at__isnull=True)
            unread.update(read_at=timezone.now())  # operational record, not study data
        return redirect("quality:inbox")
    notes = Notification.objects.filter(user=request.user).select_related("site")[:200]
    return render(request, "trial/quality/inbox.html", {
        "notes": notes, "preference": preference, "deliveries": Delivery.choices,
        "unread": sum(1 for note in notes if note.read_at is None)})


@patient_panel(order=3)
def queries_panel(patient, user):
    """The patient's queries that are not closed, each a link; and raising one on the patient."""
    queries = list(Query.objects.visible_to(user).filter(patient=patient).exclude(status=QueryStatus.CLOSED)
                   .select_related("patient").order_by("opened_at", "pk")[:50])
    may_raise = access.can(user, Action.RAISE_QUERY, site=patient.site_id)
    if not queries and not may_raise:
        return None
    return "trial/quality/_patient_queries.html", {
        "rows": [describe(q) for q in queries], "may_raise": may_raise,
        "all_url": reverse("quality:queries") + "?" + urlencode({"subject": patient.subject_id}),
        "raise_url": reverse("quality:query-new") + "?" + urlencode({"subject": patient.subject_id})}


def record_queries(user, record) -> dict:
    """For a form page: the record's queries that are not closed, by field ("" for the whole form)."""
    by_field: dict[str, list] = {}
    for query in (Query.objects.visible_to(user).filter(form=record._meta.label, record_id=record.pk)
                  .exclude(status=QueryStatus.CLOSED).order_by("opened_at", "pk")):
        by_field.setdefault(query.field, []).append(query)
    return by_field


def raise_url(record, field: str = "") -> str:
    params = {"subject": record.patient.subject_id, "form": record._meta.label, "record": record.pk}
    if field:
        params["field"] = field
    return reverse("quality:query-new") + "?" + urlencode(params)


def site_label(site: Site) -> str:
    return f"{site.code} · {capfirst(site.name)}"
