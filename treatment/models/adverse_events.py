"""CRF-SPEC "Adverse event": CTCAE v5.0 terms with their MedDRA codes, grade, seriousness and the 24-hour clock."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models.codes import YesNo, check_date, date_of_birth
from treatment import rules
from treatment.models.codes import cycle_on, death_of
from trial.crf import Crf, Phase, ReviewFlag

GRADES = (1, 2, 3, 4, 5)
CTCAE_GRADES = [(grade, str(grade)) for grade in GRADES]


class CtcaeTerm(models.Model):
    """One CTCAE v5.0 term (a MedDRA lowest-level term) and the text of its grades; reference data.

    Loaded from treatment/data/ctcae_v5.0.csv by a data migration (837 terms; provenance in the README).
    An empty grade text means CTCAE defines no such grade for the term, so it cannot be recorded.
    """

    meddra_code = models.PositiveIntegerField(_("MedDRA code"), primary_key=True)
    soc = models.CharField(_("MedDRA system organ class"), max_length=100)
    term = models.CharField(_("CTCAE term"), max_length=120, unique=True)
    grade_1 = models.TextField(blank=True)
    grade_2 = models.TextField(blank=True)
    grade_3 = models.TextField(blank=True)
    grade_4 = models.TextField(blank=True)
    grade_5 = models.TextField(blank=True)
    definition = models.TextField(blank=True)

    class Meta:
        verbose_name = _("CTCAE v5.0 term")
        verbose_name_plural = _("CTCAE v5.0 terms")
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} ({self.meddra_code})"

    @property
    def label(self) -> str:
        """How a term is offered and shown when it is being chosen: name, MedDRA code and organ class."""
        return f"{self.term} · {self.meddra_code} · {self.soc}"

    @classmethod
    def search(cls, text: str) -> models.QuerySet:
        """Terms whose name or organ class contains `text`, or whose MedDRA code it is; by name."""
        terms = cls.objects.order_by("term")
        text = text.strip()
        if not text:
            return terms
        found = models.Q(term__icontains=text) | models.Q(soc__icontains=text)
        if text.isdigit():
            found |= models.Q(meddra_code=int(text))
        return terms.filter(found)

    @property
    def needs_detail(self) -> bool:
        return self.term.endswith("Other, specify")

    def grades(self) -> list[int]:
        return [g for g in GRADES if getattr(self, f"grade_{g}")]

    def grade_text(self, grade: int) -> str:
        return getattr(self, f"grade_{grade}", "") if grade in GRADES else ""


class Seriousness(models.TextChoices):
    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Life-threatening")
    HOSPITALIZATION = "hospitalization", _("Requires or prolongs hospitalization")
    DISABILITY = "disability", _("Persistent or significant disability")
    CONGENITAL = "congenital", _("Congenital anomaly")
    IMPORTANT = "important", _("Other important medical event")


class Relationship(models.TextChoices):
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


class ActionTaken(models.TextChoices):
    NONE = "none", _("Dose not changed")
    INTERRUPTED = "interrupted", _("Infusion interrupted")
    WITHDRAWN = "withdrawn", _("Blinatumomab discontinued")
    NOT_APPLICABLE = "not_applicable", _("Not applicable (not on blinatumomab)")


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered / resolved")
    RECOVERING = "recovering", _("Recovering / resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
    SEQUELAE = "sequelae", _("Recovered with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class AdverseEvent(Crf):
    """One adverse event (repeating). CRS and ICANS are graded by ASTCT on their own forms."""

    term = models.ForeignKey(CtcaeTerm, on_delete=models.PROTECT, related_name="+", verbose_name=_("CTCAE term"),
                             help_text=_("The CTCAE v5.0 term; its MedDRA code is stored with it."))
    term_detail = models.CharField(_("term details"), max_length=200, blank=True,
                                   help_text=_("What the source says of the event, for any term; required for an "
                                               "“Other, specify” term (e.g. BK virus)."))
    onset_date = models.DateField(_("onset date"))
    resolution_date = models.DateField(_("resolution date"), null=True, blank=True,
                                       help_text=_("Leave empty while ongoing. For a fatal event: the date of death."))
    grade = models.PositiveSmallIntegerField(_("CTCAE grade"), choices=CTCAE_GRADES)
    serious = models.CharField(_("serious"), max_length=1, choices=YesNo.choices)
    seriousness = models.CharField(_("seriousness criterion"), max_length=16, choices=Seriousness.choices,
                                   blank=True)
    aware_at = models.DateTimeField(_("site became aware"), null=True, blank=True,
                                    help_text=_("For a serious event: it must be entered within 24 hours of this."))
    transcribed_retrospectively = models.CharField(
        _("transcribed retrospectively"), max_length=1, choices=YesNo.choices, blank=True,
        help_text=_("Yes when the event is copied into the system from source documents after the fact (it was "
                    "reported on paper in time): it is then not flagged as entered late."))
    relationship = models.CharField(_("relationship to blinatumomab"), max_length=12, choices=Relationship.choices)
    action_taken = models.CharField(_("action taken with blinatumomab"), max_length=14, choices=ActionTaken.choices)
    outcome = models.CharField(_("outcome"), max_length=14, choices=Outcome.choices)

    meddra_code = models.PositiveIntegerField(_("MedDRA code (LLT)"), null=True, editable=False)
    soc = models.CharField(_("MedDRA system organ class"), max_length=100, blank=True, editable=False)
    cycle_number = models.PositiveSmallIntegerField(_("cycle"), null=True, editable=False)
    death_date = models.DateField(_("date of death (Death form)"), null=True, editable=False)
    entered_late = models.BooleanField(_("serious event entered more than 24 hours after awareness"), null=True,
                                       editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 140
    crf_phase = Phase.TREATMENT
    crf_may_be_missing = ("aware_at",)
    crf_summary_related = ("term",)
    crf_derived_from = ("treatment.BlinatumomabCycle", "patients.Death")
    crf_sequence_field = "onset_date"

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        """The term by its name and MedDRA code (the audit trail and lists store and receive the code)."""
        if name == "term" and value is not None:
            term = value if isinstance(value, CtcaeTerm) else CtcaeTerm.objects.filter(pk=value).first()
            return str(term) if term is not None else None
        return None

    def crf_summary(self) -> str:
        name = self.term.term if self.term_id else ""
        if self.term_detail:
            name = self.term_detail if name.endswith("Other, specify") or not name else f"{name} — {self.term_detail}"
        term = name
        return " · ".join(filter(None, [term, str(_("grade %(g)s") % {"g": self.grade}) if self.grade else "",
                                        str(_("serious")) if self.serious == YesNo.YES else "",
                                        str(_("transcribed retrospectively"))
                                        if self.transcribed_retrospectively == YesNo.YES else ""]))

    def normalize(self) -> None:
        self.term_detail = (self.term_detail or "").strip()

    def derive(self) -> None:
        term = self.term if self.term_id else None
        self.meddra_code = term.meddra_code if term else None
        self.soc = term.soc if term else ""
        cycle = cycle_on(self.patient_id, self.onset_date)
        self.cycle_number = cycle.cycle_number if cycle else None
        death = death_of(self.patient_id) if self.grade == 5 else None
        self.death_date = death.death_date if death else None
        if self.serious == YesNo.YES and self.aware_at is not None and self.transcribed_retrospectively != YesNo.YES:
            entered = self.created_at or timezone.now()  # a new record is entered now
            self.entered_late = rules.sae_entered_late(aware_at=self.aware_at, entered_at=entered)
        else:
            self.entered_late = None
        self.rules_version = rules.TREATMENT_RULE_VERSION

    def review_flags(self) -> list[ReviewFlag]:
        flags = super().review_flags()
        if self.entered_late:
            delay = (self.created_at or timezone.now()) - self.aware_at
            hours = delay.total_seconds() / 3600
            late = (_("%(hours).0f hours") % {"hours": hours} if hours < 48 else
                    _("%(days)s days") % {"days": f"{delay.days:,}"})
            flags.append(ReviewFlag(self, "aware_at", _(
                "Serious event entered %(delay)s after the site became aware (limit 24 hours).") % {"delay": late}))
        return flags

    @classmethod
    def review_filter(cls) -> models.Q:
        return models.Q(entered_late=True)

    def clean(self) -> None:
        errors: dict = {}
        born = date_of_birth(self.patient)
        check_date(errors, AdverseEvent, "onset_date", self.onset_date, born=born)
        check_date(errors, AdverseEvent, "resolution_date", self.resolution_date,
                   not_before=(self.onset_date, _("the onset date")))
        term = self.term if self.term_id else None
        if term is not None and term.needs_detail and not self.term_detail:
            errors["term_detail"] = _("“%(term)s” needs the event named here.") % {"term": term.term}
        if term is not None and self.grade and self.grade not in term.grades():
            errors["grade"] = _("CTCAE v5.0 has no grade %(grade)s for “%(term)s”; its grades are %(grades)s.") % {
                "grade": self.grade, "term": term.term, "grades": ", ".join(map(str, term.grades()))}
        self._check_seriousness(errors)
        if self.grade == 5:
            self._check_death(errors)
        elif self.outcome == Outcome.FATAL:
            errors["outcome"] = _("A fatal outcome is grade 5: correct the grade or the outcome.")
        if errors:
            raise ValidationError(errors)

    def _check_seriousness(self, errors: dict) -> None:
        if self.serious == YesNo.YES:
            if not self.seriousness:
                errors["seriousness"] = _("Give the seriousness criterion of this serious event.")
            if self.aware_at is None:
                errors["aware_at"] = _("Give when the site became aware of this serious event.")
            elif self.onset_date and timezone.localtime(self.aware_at).date() < self.onset_date:
                errors["aware_at"] = _("Site became aware: %(when)s is before the onset date %(onset)s.") % {
                    "when": timezone.localtime(self.aware_at).strftime("%Y-%m-%d %H:%M"),
                    "onset": self.onset_date.isoformat()}
            elif self.aware_at > timezone.now():
                errors["aware_at"] = _("Site became aware: the time is in the future.")
        elif self.serious == YesNo.NO and self.seriousness:
            errors["seriousness"] = _("The event is not serious: clear the seriousness criterion.")

    def _check_death(self, errors: dict) -> None:
        """CRF-SPEC: grade 5 requires a Death record with the same date (the event's resolution date)."""
        if self.outcome != Outcome.FATAL:
            errors["outcome"] = _("Grade 5 is death related to the event: the outcome is “Fatal”.")
        if self.serious != YesNo.YES or self.seriousness not in ("", Seriousness.DEATH):
            errors.setdefault("seriousness", _("A grade-5 event is serious, with the criterion “Results in death”."))
        if self.death_date is None:
            errors["grade"] = _("Grade 5 needs the patient's Death form: enter it first.")
        elif self.resolution_date != self.death_date:
            errors["resolution_date"] = _("For a grade-5 event the resolution date is the date of death on the "
                                          "Death form (%(date)s).") % {"date": self.death_date.isoformat()}
