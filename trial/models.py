"""Study-wide records: the audit-trail check, the casebook access log, and visits recorded as not done."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from trial.crf import Crf, Phase
from trial.schedule import State
from trial.visits import form_label, patient_schedule


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
    """Who opened which patient's casebook, when (RELIABILITY §7). Append-only, like the audit trail.

    One row per request: a list of study data (e.g. an API list of forms, with its filters in `path`) is one row
    without a patient.
    """

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("user"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", null=True,
                                blank=True, verbose_name=_("patient"), help_text=_("Empty for a list."))
    path = models.CharField(_("page or endpoint"), max_length=300)

    append_only = True  # PostgreSQL trigger and database grants, as for the audit tables (trial.audit)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("casebook access")
        verbose_name_plural = _("casebook accesses")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} UTC · {self.user_id} · {self.patient_id or self.path}"


class DataCutoff(models.Model):
    """The study's data cut-off date, a study parameter: each setting is a new row (who, when, why), never changed.

    The one in force is the latest row; an empty date lifts the cut-off. The schedule expects nothing after it and
    no record may be dated after it (trial.visits); the reports state it.
    """

    cutoff_date = models.DateField(_("data cut-off date"), null=True, blank=True,
                                   help_text=_("Empty: no cut-off (data entry open to today)."))
    reason = models.TextField(_("why"), max_length=1000)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("set by"))
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)

    append_only = True  # PostgreSQL trigger and database grants, as for the audit tables (trial.audit)

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("data cut-off")
        verbose_name_plural = _("data cut-offs")

    def __str__(self) -> str:
        return f"{self.cutoff_date or '—'} · {self.set_at:%Y-%m-%d %H:%M} UTC"

    @classmethod
    def current(cls):
        """The cut-off date in force, or None."""
        latest = cls.objects.order_by("-pk").values_list("cutoff_date", flat=True).first()
        return latest


class MissedVisit(Crf):
    """A scheduled visit that did not happen, recorded as not done with its reason (D14): never silently absent.

    It goes through the one audited save path like any form; the schedule then shows the visit as missed.
    """

    visit_key = models.CharField(_("visit"), max_length=16)
    form = models.CharField(_("form"), max_length=64)
    not_done_reason = models.TextField(_("why it was not done"), max_length=1000,
                                       help_text=_("E.g. the patient was transferred to another hospital that week."))

    crf_repeating = True
    crf_order = 990
    crf_phase = Phase.SCHEDULE

    class Meta:
        verbose_name = _("visit not done")
        verbose_name_plural = _("visits not done")
        # drafts that do not name their visit and form yet do not collide
        constraints = [models.UniqueConstraint(fields=["patient", "visit_key", "form"], name="one_missed_per_visit",
                                               condition=~models.Q(visit_key="") & ~models.Q(form=""))]

    def crf_summary(self) -> str:
        return f"{self.visit_key} · {form_label(self.form)}" if self.visit_key else ""

    def normalize(self) -> None:
        self.visit_key = (self.visit_key or "").strip().upper()
        self.form = (self.form or "").strip()
        self.not_done_reason = (self.not_done_reason or "").strip()

    def clean(self) -> None:
        if not self.visit_key or not self.form:
            return
        states = {(s.key, s.form): s for s in patient_schedule(self.patient)}
        state = states.get((self.visit_key, self.form))
        if state is None:
            raise ValidationError({"visit_key": _("%(visit)s · %(form)s is not a visit expected for this patient.") % {
                "visit": self.visit_key, "form": form_label(self.form)}})
        if MissedVisit._base_manager.filter(
                patient_id=self.patient_id, visit_key=self.visit_key, form=self.form).exclude(pk=self.pk).exists():
            raise ValidationError({"visit_key": _("%(visit)s · %(form)s is already recorded as not done; correct that "
                                                  "record instead.") % {
                "visit": self.visit_key, "form": form_label(self.form)}})
        if state.state == State.DONE:
            raise ValidationError({"visit_key": _("%(visit)s · %(form)s was done on %(date)s: it cannot also be "
                                                  "recorded as not done.") % {
                "visit": self.visit_key, "form": form_label(self.form), "date": state.done_on.isoformat()}})


# Queries, data-quality runs and notifications live with the data-quality engine (trial.quality).
from trial.quality.models import (  # noqa: E402, F401
    Notification,
    NotificationPreference,
    PendingCheck,
    QualityRun,
    Query,
    QueryEvent,
)
