"""Who may see or change what. Every read and write for a user goes through here.

Roles and what they may do are defined once, in ROLE_ACTIONS. A site is a tenant: another site's
objects answer 404, exactly like objects that do not exist, because a subject ID is itself
confidential.
"""

import binascii
import functools
from collections.abc import Iterable
from hmac import compare_digest
from typing import Self

from django.core.exceptions import PermissionDenied
from django.db import connection, models
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS as KNOX
from knox.settings import knox_settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from sites.models import Membership, Role, Site
from trial import rows


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
        cached = _keep_active(user, rows)
    return cached


def _keep_active(user, rows: Iterable[Membership]) -> list[Membership]:
    """Of a user's active membership rows (with their sites), those that count; cached on the user object."""
    kept = [m for m in rows if m.site_id is None or m.site.is_active] if user.is_active else []
    setattr(user, _CACHE_ATTR, kept)
    return kept


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


def can_see(user, site: Site | int) -> bool:
    """Whether `user` may see data of `site`: the rule `SiteScopedQuerySet.visible_to` applies in SQL."""
    if not is_study_member(user):
        return False
    site_ids = visible_site_ids(user)
    return site_ids is None or (site if isinstance(site, int) else site.pk) in site_ids


def roles_at(user, site: Site | int) -> set[str]:
    site_id = site if isinstance(site, int) else site.pk
    return {m.role for m in memberships(user) if m.site_id is None or m.site_id == site_id}


def can(user, action: str, *, site: Site | int) -> bool:
    return any(action in ROLE_ACTIONS[role] for role in roles_at(user, site))


def can_study_wide(user, action: str) -> bool:
    """Whether a study-wide role (no site) of the user allows `action` for the whole study (e.g. the data cut-off)."""
    return any(m.site_id is None and action in ROLE_ACTIONS[m.role] for m in memberships(user))


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


def only_site_where(user, action: str) -> Site | None:
    """The one active site at which the user may perform `action`, or None if there are none or several.

    A site-bound user's sites are already read with their memberships; only a study-wide role asks the database.
    """
    if any(m.site_id is None and action in ROLE_ACTIONS[m.role] for m in memberships(user)):
        sites = list(Site.objects.filter(is_active=True)[:2])
    else:
        sites = list({m.site_id: m.site for m in memberships(user) if action in ROLE_ACTIONS[m.role]}.values())
    return sites[0] if len(sites) == 1 else None


class SiteScopedQuerySet(models.QuerySet):
    """Every model holding study data uses a manager built on this queryset (system check trial.E001)."""

    site_field = "site"

    def visible_to(self, user) -> Self:
        """The rows of the sites `user` may see (`can_see` is the same rule for one row already read)."""
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


class StudyTokenAuthentication(KnoxTokenAuthentication):
    """API tokens (django-rest-knox: only a hash is stored; a token expires after SESSION_IDLE_MINUTES without
    use and API_TOKEN_MAX_HOURS after it was issued), read with the user's memberships in one statement.

    Every API request needs both (the site-scoping check runs on each one), so the token, its user and their
    memberships come from one plain statement; using a token renews its idle lifetime (at most once a minute,
    knox's MIN_REFRESH_INTERVAL). Refusals use knox's and DRF's messages.
    """

    def authenticate_credentials(self, token: bytes):
        text = token.decode("utf-8", errors="replace")
        token_model = get_token_model()
        with connection.cursor() as cursor:
            cursor.execute(_token_memberships_sql(token_model),
                           [True, text[:KNOX.TOKEN_KEY_LENGTH], timezone.now()])
            found = cursor.fetchall()
        try:
            digest = hash_token(text)
        except (TypeError, ValueError, binascii.Error):
            raise AuthenticationFailed(_("Invalid token.")) from None
        user_model = token_model._meta.get_field("user").related_model
        starts = _starts(token_model, user_model)
        mine = [row for row in found if compare_digest(str(row[0]), digest)]
        if not mine:
            raise AuthenticationFailed(_("Invalid token."))
        auth_token, user = rows.instance(token_model, mine[0], starts[0]), rows.instance(user_model, mine[0], starts[1])
        if not user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        auth_token.user = user
        kept = []
        for row in mine:
            if row[starts[2]] is None:  # no active membership (LEFT JOIN)
                continue
            membership = rows.instance(Membership, row, starts[2])
            membership.user = user
            membership.site = rows.instance(Site, row, starts[3]) if membership.site_id is not None else None
            kept.append(membership)
        _keep_active(user, kept)
        if knox_settings.AUTO_REFRESH and auth_token.expiry:
            self.renew_token(auth_token)
        return user, auth_token


def _starts(token_model, user_model) -> list[int]:
    """Where each model's columns start in a row of `_token_memberships_sql`."""
    starts = [0]
    for model in (token_model, user_model, Membership):
        starts.append(starts[-1] + len(model._meta.concrete_fields))
    return starts


@functools.cache
def _token_memberships_sql(token_model) -> str:
    """SELECT token.*, user.*, membership.*, site.* for the unexpired tokens with a key (built once): a token's
    digest comes first, then its user, then one row per active membership (none: NULLs)."""
    user = token_model._meta.get_field("user").related_model
    assert token_model._meta.concrete_fields[0].name == "digest"
    selected = ", ".join(rows.columns(m) for m in (token_model, user, Membership, Site))
    user_pk = rows.column(user, user._meta.pk.name)
    return (f"SELECT {selected} FROM {rows.table(token_model)} "  # noqa: S608 - identifiers from model metadata
            f"INNER JOIN {rows.table(user)} ON {user_pk} = {rows.column(token_model, 'user')} "
            f"LEFT OUTER JOIN {rows.table(Membership)} ON {rows.column(Membership, 'user')} = {user_pk} "
            f"AND {rows.column(Membership, 'is_active')} = %s "
            f"LEFT OUTER JOIN {rows.table(Site)} ON {rows.column(Site, 'id')} = {rows.column(Membership, 'site')} "
            f"WHERE {rows.column(token_model, 'token_key')} = %s AND ({rows.column(token_model, 'expiry')} IS NULL "
            f"OR {rows.column(token_model, 'expiry')} > %s) ORDER BY {rows.column(Membership, 'id')}")


class IsStudyMember(BasePermission):
    """API gate: only people with an active membership reach any study endpoint."""

    def has_permission(self, request, view) -> bool:
        return is_study_member(request.user)
