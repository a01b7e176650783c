"""Study-wide records that belong to no CRF."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditTrailCheck(models.Model):
    """One run of the nightly check that every stored row matches its latest audit record."""

    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True)
    rows_checked = models.PositiveIntegerField(_("rows checked"), default=0)
    findings = models.JSONField(_("findings"), default=list)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("audit trail check")
        verbose_name_plural = _("audit trail checks")

    @property
    def passed(self) -> bool:
        return self.finished_at is not None and not self.findings

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} UTC · {self.rows_checked} rows · {len(self.findings)} findings"


class CasebookAccess(models.Model):
    """Who opened which patient's casebook, when (RELIABILITY §7). Append-only, like the audit trail."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    path = models.CharField(_("page or endpoint"), max_length=300)

    append_only = True  # PostgreSQL trigger and database grants, as for the audit tables (trial.audit)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("casebook access")
        verbose_name_plural = _("casebook accesses")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} UTC · {self.user_id} · {self.patient_id}"
