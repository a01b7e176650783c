"""Queries on the study data, their append-only thread, data-quality runs, and the users' notifications.

A query points at a datum: a field of a form's record, a whole form, or the patient (subject level). It is opened by
a rule of `trial.quality` (with `rule` and `key`) or by a monitor or data manager; the site answers; the raiser
closes or re-opens it. Every state change is a row of its thread (`QueryEvent`) and of its audit history.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from trial.access import SiteScopedQuerySet
from trial.quality.registry import Severity


class QueryStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("query status", "Open")
    ANSWERED = "answered", pgettext_lazy("query status", "Answered")
    CLOSED = "closed", pgettext_lazy("query status", "Closed")


class Query(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("patient"))
    form = models.CharField(_("form"), max_length=64, blank=True, help_text=_("Empty: a subject-level datum."))
    record_id = models.PositiveIntegerField(_("record"), null=True, blank=True)
    field = models.CharField(_("field"), max_length=64, blank=True, help_text=_("Empty: the whole form."))
    visit = models.CharField(_("visit"), max_length=16, blank=True)
    rule = models.CharField(_("rule"), max_length=16, blank=True, db_index=True,
                            help_text=_("Empty: opened by a person."))
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.ERROR)
    # A rule's finding: where it is (one open query per key) and what it found (a person's close holds while the
    # finding stays the same).
    key = models.CharField(max_length=200, blank=True, editable=False)
    fingerprint = models.CharField(max_length=32, blank=True, editable=False)
    text_es = models.TextField(_("query (es-MX)"), max_length=2000)
    text_en = models.TextField(_("query (en)"), max_length=2000)
    status = models.CharField(_("status"), max_length=8, choices=QueryStatus.choices, default=QueryStatus.OPEN,
                              db_index=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("opened by"), help_text=_("Empty: a rule."))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now, db_index=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("assigned to"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", verbose_name=_("closed by"),
                                  help_text=_("Empty on a closed query: closed by its rule."))
    updated_at = models.DateTimeField(_("last changed"), auto_now=True)

    history = HistoricalRecords(history_change_reason_field=models.TextField(null=True))
    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at", "pk"]
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        constraints = [models.UniqueConstraint(fields=["key"], name="one_open_query_per_finding",
                                               condition=~models.Q(status="closed") & ~models.Q(key=""))]
        indexes = [models.Index(fields=["site", "status"]), models.Index(fields=["patient", "status"])]

    def __str__(self) -> str:
        return f"Q{self.pk} · {self.rule or _('manual')} · {self.get_status_display()}"

    @property
    def text(self) -> str:
        return self.text_en if translation.get_language() == "en" else self.text_es

    @property
    def is_open(self) -> bool:
        return self.status != QueryStatus.CLOSED

    def age_days(self, today=None) -> int:
        return ((today or timezone.now()) - self.opened_at).days


class QueryAction(models.TextChoices):
    OPENED = "opened", _("opened")
    ANSWERED = "answered", _("answered")
    CLOSED = "closed", _("closed")
    REOPENED = "reopened", _("re-opened")
    AUTO_CLOSED = "auto_closed", _("closed: the finding is resolved")
    UPDATED = "updated", _("the finding changed")
    ASSIGNED = "assigned", _("assigned")


class QueryEvent(models.Model):
    """One step of a query's thread: who did what, when, with their words. Append-only."""

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="events", verbose_name=_("query"))
    action = models.CharField(_("action"), max_length=16, choices=QueryAction.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+", verbose_name=_("by"), help_text=_("Empty: the data-quality engine."))
    at = models.DateTimeField(_("when"), default=timezone.now)
    text = models.TextField(_("text"), max_length=2000, blank=True)

    append_only = True

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("query event")
        verbose_name_plural = _("query events")

    def __str__(self) -> str:
        return f"Q{self.query_id} · {self.action} · {self.at:%Y-%m-%d %H:%M}"


class RunScope(models.TextChoices):
    STUDY = "study", _("the whole study")
    SITE = "site", _("one site")
    PATIENT = "patient", _("one patient")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class QualityRun(models.Model):
    """One run of the data-quality rules over the study, a site or a patient, with its progress and result."""

    scope = models.CharField(_("scope"), max_length=8, choices=RunScope.choices)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                             verbose_name=_("site"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("patient"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("requested by"),
                                     help_text=_("Empty: the nightly run or a re-check after a save."))
    status = models.CharField(_("status"), max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    patients_total = models.PositiveIntegerField(_("patients"), default=0)
    patients_done = models.PositiveIntegerField(_("patients checked"), default=0)
    findings = models.PositiveIntegerField(_("findings"), default=0)
    opened = models.PositiveIntegerField(_("queries opened"), default=0)
    closed = models.PositiveIntegerField(_("queries closed"), default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)

    objects = SiteScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("data-quality run")
        verbose_name_plural = _("data-quality runs")

    def __str__(self) -> str:
        return f"run {self.pk} · {self.scope} · {self.status}"

    @property
    def progress(self) -> int:
        """Percent of the patients checked."""
        return 100 if self.status == RunStatus.DONE else (
            int(100 * self.patients_done / self.patients_total) if self.patients_total else 0)


class PendingCheck(models.Model):
    """A patient whose re-check could not be queued (the broker was down): the next run takes it."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.CASCADE, related_name="+")
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pending re-check")
        verbose_name_plural = _("pending re-checks")

    def __str__(self) -> str:
        return f"patient {self.patient_id} since {self.since:%Y-%m-%d %H:%M}"


class Delivery(models.TextChoices):
    IMMEDIATE = "immediate", _("at once, one email each")
    DIGEST = "digest", _("once a day, in one email")


class NotificationPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    delivery = models.CharField(_("email delivery"), max_length=10, choices=Delivery.choices,
                                default=Delivery.IMMEDIATE)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id} · {self.delivery}"


class NotificationKind(models.TextChoices):
    SERIOUS_AE = "serious_ae", _("Serious adverse event")
    QUERY_OPENED = "query_opened", _("New query")
    QUERY_ANSWERED = "query_answered", _("Query answered")


class Notification(models.Model):
    """A message to one user: in the in-app inbox, and by email at once or in the daily digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=16, choices=NotificationKind.choices)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=4000)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.subject}"
