"""Participating hospitals and the people who work in the study, each with a role."""

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords


class Site(models.Model):
    code = models.CharField(
        _("site code"),
        max_length=8,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}\d{2}$", _("Use two capital letters and two digits, e.g. MX01."))],
    )
    name = models.CharField(_("hospital"), max_length=200)
    city = models.CharField(_("city"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()  # renames and deactivations are audited too

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Research coordinator")
    INVESTIGATOR = "investigator", _("Site investigator")
    MONITOR = "monitor", _("Monitor")
    DATA_MANAGER = "data_manager", _("Data manager")


# Roles that belong to one site; the others may be study-wide (site left empty).
SITE_BOUND_ROLES = {Role.COORDINATOR, Role.INVESTIGATOR}


class MembershipQuerySet(models.QuerySet):
    def active(self) -> "MembershipQuerySet":
        return self.filter(is_active=True, user__is_active=True).filter(Q(site__isnull=True) | Q(site__is_active=True))


class Membership(models.Model):
    """A user's role at one site, or at every site when `site` is empty (study-wide)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships",
                             verbose_name=_("user"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships",
                             verbose_name=_("site"), help_text=_("Empty means every site (study-wide)."))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()
    history = HistoricalRecords()  # who granted or withdrew access, and when

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="membership_unique_role_at_site"),
            models.UniqueConstraint(fields=["user", "role"], condition=Q(site__isnull=True),
                                    name="membership_unique_studywide_role"),
            models.CheckConstraint(
                condition=~Q(role__in=sorted(r.value for r in SITE_BOUND_ROLES)) | Q(site__isnull=False),
                name="membership_site_bound_roles_have_site",
            ),
        ]

    def clean(self) -> None:
        if self.role in SITE_BOUND_ROLES and self.site_id is None:
            raise ValidationError({"site": _("Coordinators and investigators belong to one site.")})

    def __str__(self) -> str:
        where = self.site.code if self.site_id else _("all sites")
        return f"{self.user} — {self.get_role_display()} ({where})"


# People's accounts have their own audit trail, beside their memberships': who created, renamed, activated or
# deactivated an account, and when. The password hash is never copied into it; logging in (last_login) is
# not an account change (sites.apps skips it).
register(User, app="sites", excluded_fields=["password", "last_login"])
