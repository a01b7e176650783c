"""Study-wide records that belong to no CRF."""

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
