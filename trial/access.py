"""Who may see or change what. Every read and write for a user goes through here.

Roles and what they may do are defined once, in ROLE_ACTIONS. A site is a tenant: another site's
objects answer 404, exactly like objects that do not exist, because a subject ID is itself
confidential.
"""

from collections.abc import Iterable
from typing import Self

from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from sites.models import Membership, Role, Site


class Action(models.TextChoices):
    VIEW = "view", _("see the site's casebooks")
    REGISTER_PATIENT = "register_patient", _("register patients")
    ENTER_DATA = "enter_data", _("enter and correct data")
    VERIFY = "verify", _("source-verify forms")
    RAISE_QUERY = "raise_query", _("raise and close queries")
    SIGN = "sign", _("sign casebooks")
    LOCK = "lock", _("lock and unlock forms")
    EXPORT = "export", _("export datasets")


ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.COORDINATOR: frozenset({Action.VIEW, Action.REGISTER_PATIENT, Action.ENTER_DATA}),
    Role.INVESTIGATOR: frozenset({Action.VIEW, Action.REGISTER_PATIENT, Action.ENTER_DATA, Action.SIGN}),
    Role.MONITOR: frozenset({Action.VIEW, Action.VERIFY, Action.RAISE_QUERY}),
    Role.DATA_MANAGER: frozenset({Action.VIEW, Action.VERIFY, Action.RAISE_QUERY, Action.LOCK, Action.EXPORT}),
}

_CACHE_ATTR = "_trial_memberships"


def memberships(user) -> list[Membership]:
    """The user's active memberships, read once per user object (i.e. once per request)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        # The same rule as MembershipQuerySet.active(), in one plain query: an authenticated user is
        # active (session and token authentication both refuse inactive accounts).
        rows = Membership.objects.filter(user_id=user.pk, is_active=True).select_related("site")
        cached = [m for m in rows if m.site_id is None or m.site.is_active] if user.is_active else []
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_memberships(user) -> None:
    """Drop the per-object cache after memberships change (tests, admin actions)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def is_study_member(user) -> bool:
    return bool(memberships(user))


def is_study_wide(user) -> bool:
    return any(m.site_id is None for m in memberships(user))


def visible_site_ids(user) -> set[int] | None:
    """Site ids the user may see; None means every site (a study-wide role)."""
    if is_study_wide(user):
        return None
    return {m.site_id for m in memberships(user)}


def roles_at(user, site: Site | int) -> set[str]:
    site_id = site if isinstance(site, int) else site.pk
    return {m.role for m in memberships(user) if m.site_id is None or m.site_id == site_id}


def can(user, action: str, *, site: Site | int) -> bool:
    return any(action in ROLE_ACTIONS[role] for role in roles_at(user, site))


def require(user, action: str, *, site: Site | int) -> None:
    """Raise PermissionDenied unless one of the user's roles allows `action` at `site`."""
    if not can(user, action, site=site):
        raise PermissionDenied(_("Your role at this site does not allow this."))


def sites_where(user, action: str) -> models.QuerySet[Site]:
    """Active sites at which the user may perform `action` (e.g. where they may register patients)."""
    allowed_everywhere = any(m.site_id is None and action in ROLE_ACTIONS[m.role] for m in memberships(user))
    sites = Site.objects.filter(is_active=True)
    if allowed_everywhere:
        return sites
    return sites.filter(pk__in=[m.site_id for m in memberships(user) if action in ROLE_ACTIONS[m.role]])


class SiteScopedQuerySet(models.QuerySet):
    """Every model holding study data uses a manager built on this queryset (system check trial.E001)."""

    site_field = "site"

    def visible_to(self, user) -> Self:
        if not is_study_member(user):
            return self.none()
        site_ids = visible_site_ids(user)
        if site_ids is None:
            return self.all()
        return self.filter(**{f"{self.site_field}__in": site_ids})


def get_visible_or_404(queryset: SiteScopedQuerySet, user, **lookup):
    """404, not 403: another site's subject ID is itself confidential."""
    return get_object_or_404(queryset.visible_to(user), **lookup)


def allowed_actions(user, site: Site | int) -> set[str]:
    return set().union(*(ROLE_ACTIONS[role] for role in roles_at(user, site))) if roles_at(user, site) else set()


def any_role_allows(user, action: str) -> bool:
    return any(action in ROLE_ACTIONS[m.role] for m in memberships(user))


def role_labels(user) -> Iterable[str]:
    for m in memberships(user):
        yield f"{m.get_role_display()} · {m.site.code if m.site_id else _('all sites')}"


class IsStudyMember(BasePermission):
    """API gate: only people with an active membership reach any study endpoint."""

    def has_permission(self, request, view) -> bool:
        return is_study_member(request.user)
