"""The query workflow: open, answer, close, re-open, assign. One function per step, used by pages and API alike.

Who may do what (trial.access): a monitor or data manager of the site opens, closes and re-opens queries (RAISE_QUERY);
the site's coordinators and investigators answer them (ENTER_DATA), and correct the data through the one save path.
Each step locks the query row, checks its state, writes the query with an audit record (the text as the reason) and
appends a row to its thread.
"""

from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from trial import access
from trial.access import Action
from trial.quality.models import Query, QueryAction, QueryEvent, QueryStatus
from trial.quality.notify import notify_answer, notify_new_queries

TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    action: str  # the access action it needs
    from_states: tuple[str, ...]
    needs_text: bool = True


def steps() -> dict[str, Step]:
    return {
        "answer": Step("answer", _("Answer"), Action.ENTER_DATA, (QueryStatus.OPEN,)),
        "close": Step("close", _("Close"), Action.RAISE_QUERY, (QueryStatus.OPEN, QueryStatus.ANSWERED),
                      needs_text=False),
        "reopen": Step("reopen", _("Re-open"), Action.RAISE_QUERY, (QueryStatus.ANSWERED, QueryStatus.CLOSED)),
    }


def available_steps(user, query: Query) -> list[Step]:
    return [step for step in steps().values()
            if query.status in step.from_states and access.can(user, step.action, site=query.site_id)]


def _clean_text(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationError({"text": _("Write the answer or the reason: this step needs a text.")})
    if len(text) > TEXT_LIMIT:
        raise ValidationError({"text": _("The text has %(count)s characters; at most %(limit)s are allowed.") % {
            "count": len(text), "limit": TEXT_LIMIT}})
    return text


def open_query(user, *, patient, text: str, form: str = "", record_id: int | None = None, field: str = "",
               assigned_to=None) -> Query:
    """A monitor's or data manager's query on a field of a record, a whole record or form, or the patient."""
    access.require(user, Action.RAISE_QUERY, site=patient.site_id)
    text = _clean_text(text, required=True)
    visit = ""
    if form:
        try:
            model = apps.get_model(form)
        except (LookupError, ValueError):
            raise ValidationError({"form": _("%(form)s is not a form of this study.") % {"form": form}}) from None
        if field and field not in {f.name for f in model._meta.concrete_fields}:
            raise ValidationError({"field": _("%(field)s is not a field of %(form)s.") % {
                "field": field, "form": model._meta.verbose_name}})
        if record_id is not None:
            record = model._base_manager.filter(pk=record_id, patient_id=patient.pk).values("visit").first()
            if record is None:
                raise ValidationError({"record_id": _("Record %(record)s is not a %(form)s of this patient.") % {
                    "record": record_id, "form": model._meta.verbose_name}})
            visit = record["visit"]
    elif field or record_id is not None:
        raise ValidationError({"form": _("Name the form of the field or record the query is about.")})
    if assigned_to is not None and not access.can(assigned_to, Action.ENTER_DATA, site=patient.site_id):
        raise ValidationError({"assigned_to": _("%(user)s cannot answer queries at this site.") % {
            "user": assigned_to.get_username()}})
    with transaction.atomic():
        query = Query(site_id=patient.site_id, patient=patient, form=form, record_id=record_id, field=field,
                      visit=visit, text_es=text, text_en=text, opened_by=user, assigned_to=assigned_to)
        query._change_reason = text
        query.save()
        QueryEvent.objects.create(query=query, action=QueryAction.OPENED, by=user, text=text)
        notify_new_queries([query])
    return query


def take_step(user, query: Query, step_name: str, *, text: str = "") -> Query:
    """Answer, close or re-open `query` (refused with a clear message when the role or the state does not allow)."""
    step = steps().get(step_name)
    if step is None:
        raise ValidationError({"step": _("Unknown step %(step)s.") % {"step": step_name}})
    if not access.can(user, step.action, site=query.site_id):
        raise PermissionDenied(_("Your role at this site does not allow you to %(step)s a query.") % {
            "step": step.label.lower()})
    text = _clean_text(text, required=step.needs_text)
    with transaction.atomic():
        query = Query.objects.select_for_update().get(pk=query.pk)
        if query.status not in step.from_states:
            raise ValidationError({"status": _("Query %(number)s is %(status)s: it cannot be %(step)s now.") % {
                "number": query.pk, "status": query.get_status_display().lower(), "step": _past(step.name)}})
        now = timezone.now()
        if step.name == "answer":
            query.status, query.answered_at = QueryStatus.ANSWERED, now
        elif step.name == "close":
            query.status, query.closed_at, query.closed_by = QueryStatus.CLOSED, now, user
        else:
            query.status, query.closed_at, query.closed_by = QueryStatus.OPEN, None, None
        query._change_reason = text or step.name
        query.save()
        action = {"answer": QueryAction.ANSWERED, "close": QueryAction.CLOSED, "reopen": QueryAction.REOPENED}
        QueryEvent.objects.create(query=query, action=action[step.name], by=user, text=text, at=now)
        if step.name == "answer":
            notify_answer(query)
    return query


def close_many(user, queries, *, text: str = "") -> int:
    """The data manager's bulk close: every open or answered query among `queries` that the user may close."""
    closed = 0
    for query in queries:
        if query.status != QueryStatus.CLOSED and access.can(user, Action.RAISE_QUERY, site=query.site_id):
            take_step(user, query, "close", text=text)
            closed += 1
    return closed


def _past(name: str) -> str:
    return {"answer": _("answered"), "close": _("closed"), "reopen": _("re-opened")}[name]


def require_view(user, query: Query) -> None:
    if not access.can_see(user, query.site_id):
        raise PermissionDenied
