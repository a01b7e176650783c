"""Notifications: an in-app inbox, and email at once or in a daily digest as each user chooses.

Who hears of what: a serious adverse event, the site's investigators and the study's data managers, by email at
once whatever their choice; a query opened on a site's data, that site's coordinators; an answer, the person who
raised the query.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from sites.models import Membership, Role
from trial.quality.models import Delivery, Notification, NotificationKind, NotificationPreference, Query


def site_staff(site_id: int, roles: Iterable[str], *, study_wide: bool = False) -> list:
    """Active users with one of `roles` at the site (and, with `study_wide`, those with it for every site)."""
    memberships = Membership.objects.filter(is_active=True, role__in=list(roles), user__is_active=True)
    scope = memberships.filter(site_id=site_id)
    if study_wide:
        scope = scope | memberships.filter(site__isnull=True)
    ids = set(scope.values_list("user_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids).order_by("pk"))


def notify(users: Iterable, *, kind: str, site_id: int, subject: str, body: str, link: str = "",
           urgent: bool = False) -> list[Notification]:
    """One notification per user; emailed after commit to those who want it at once (all of them if `urgent`)."""
    users = list(users)
    if not users:
        return []
    rows = Notification.objects.bulk_create([
        Notification(user=user, kind=kind, site_id=site_id, subject=subject[:200], body=body[:4000], link=link)
        for user in users])
    digest = set(NotificationPreference.objects.filter(
        user__in=users, delivery=Delivery.DIGEST).values_list("user_id", flat=True))
    now_ids = [row.pk for row, user in zip(rows, users, strict=True)
               if user.email and (urgent or user.pk not in digest)]
    if now_ids:
        transaction.on_commit(lambda: _email_now(now_ids), robust=True)
    return rows


def _email_now(ids: list[int]) -> None:
    for row in Notification.objects.filter(pk__in=ids, emailed_at__isnull=True).select_related("user"):
        send_mail(row.subject, _with_link(row), settings.DEFAULT_FROM_EMAIL, [row.user.email])
        Notification.objects.filter(pk=row.pk).update(emailed_at=timezone.now())  # operational record, not study data


def _with_link(row: Notification) -> str:
    return f"{row.body}\n\n{settings.SITE_URL}{row.link}" if row.link else row.body


def send_digests() -> int:
    """Once a day: each digest user's unsent notifications in one email. Returns the number of emails sent."""
    pending = defaultdict(list)
    for row in (Notification.objects.filter(emailed_at__isnull=True, user__email__gt="")
                .select_related("user").order_by("created_at")):
        pending[row.user].append(row)
    for user, rows in pending.items():
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("%(study)s: %(count)s notifications") % {"study": settings.STUDY_NAME, "count": len(rows)}
        body = "\n\n".join(f"{row.subject}\n{_with_link(row)}" for row in rows)
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
        sent = Notification.objects.filter(pk__in=[row.pk for row in rows])
        sent.update(emailed_at=timezone.now())  # operational record, not study data
    return len(pending)


def _in_study_language(template, **params) -> str:
    """Notifications are written in the study's language (es-MX), whoever's action sent them."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(template) % params


def notify_new_queries(queries: list[Query]) -> None:
    """A site's coordinators hear of the queries opened on its data: one notification per site and batch."""
    by_site: dict[int, list[Query]] = defaultdict(list)
    for query in queries:
        by_site[query.site_id].append(query)
    for site_id, opened in by_site.items():
        coordinators = site_staff(site_id, [Role.COORDINATOR])
        subject = _in_study_language(_lazy("%(count)s new queries on your site's data"), count=len(opened))
        lines = [f"· {query.text_es}" for query in opened[:20]]
        if len(opened) > 20:
            lines.append(_in_study_language(_lazy("… and %(count)s more."), count=len(opened) - 20))
        link = reverse("quality:queries") + f"?status=open&site={site_id}"
        notify(coordinators, kind=NotificationKind.QUERY_OPENED, site_id=site_id, subject=subject,
               body="\n".join(lines), link=link)


def notify_answer(query: Query) -> None:
    if query.opened_by_id is None:
        return
    subject = _in_study_language(_lazy("Query %(number)s was answered"), number=query.pk)
    notify(get_user_model().objects.filter(pk=query.opened_by_id, is_active=True), kind=NotificationKind.QUERY_ANSWERED,
           site_id=query.site_id, subject=subject, body=query.text_es,
           link=reverse("quality:query", args=[query.pk]))


def notify_serious_ae(*, site_id: int, subject_id: str, what: str, link: str) -> None:
    """A serious adverse event: the site's investigators and the study's data managers, by email at once."""
    people = site_staff(site_id, [Role.INVESTIGATOR]) + site_staff(site_id, [Role.DATA_MANAGER], study_wide=True)
    unique = list({user.pk: user for user in people}.values())
    subject = _in_study_language(_lazy("Serious adverse event: %(subject)s"), subject=subject_id)
    notify(unique, kind=NotificationKind.SERIOUS_AE, site_id=site_id, subject=subject, body=what, link=link,
           urgent=True)
