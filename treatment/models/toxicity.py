"""CRF-SPEC "CRS assessment" and "ICANS assessment": raw findings per day, ASTCT 2019 grades derived from them."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from patients import rules as enrollment_rules
from patients.models.codes import READ_BY_OTHER_FORMS, YesNo, check_date, date_of_birth
from treatment import rules
from treatment.models.codes import Grade, cycle_on, cycle_period_end, cycles_of, death_of, disagreement_field
from trial import reads
from trial.crf import Crf, Phase
from trial.ranges import measure

YES = YesNo.YES


class Hypotension(models.TextChoices):
    NONE = rules.Hypotension.NONE.value, _("None")
    FLUIDS = rules.Hypotension.FLUIDS.value, _("Responds to fluids (no vasopressor)")
    VASOPRESSORS = rules.Hypotension.VASOPRESSORS.value, _("Needs vasopressors")


class OxygenDevice(models.TextChoices):
    NONE = rules.OxygenDevice.NONE.value, _("None (room air)")
    NASAL_CANNULA = rules.OxygenDevice.NASAL_CANNULA.value, _("Nasal cannula (give the flow)")
    BLOW_BY = rules.OxygenDevice.BLOW_BY.value, _("Blow-by")
    FACEMASK = rules.OxygenDevice.FACEMASK.value, _("Facemask")
    NON_REBREATHER = rules.OxygenDevice.NON_REBREATHER.value, _("Non-rebreather mask")
    VENTURI = rules.OxygenDevice.VENTURI.value, _("Venturi mask")
    CPAP_BIPAP = rules.OxygenDevice.CPAP_BIPAP.value, _("CPAP or BiPAP")
    MECHANICAL_VENTILATION = rules.OxygenDevice.MECHANICAL_VENTILATION.value, _("Intubation and mechanical ventilation")


class OxygenSupport(models.IntegerChoices):
    NONE = rules.OxygenSupport.NONE.value, _("None")
    LOW_FLOW = rules.OxygenSupport.LOW_FLOW.value, _("Low flow (≤ 6 L/min or blow-by)")
    HIGH_FLOW = rules.OxygenSupport.HIGH_FLOW.value, _("High flow (> 6 L/min, facemask, non-rebreather, Venturi)")
    POSITIVE_PRESSURE = rules.OxygenSupport.POSITIVE_PRESSURE.value, _("Positive pressure")


def reported_grade_field() -> models.PositiveSmallIntegerField:
    """The investigator's own grade, optional: kept beside the computed one once a disagreement is confirmed."""
    return models.PositiveSmallIntegerField(
        _("grade assessed by the investigator"), choices=Grade.choices, null=True, blank=True,
        help_text=_("Optional. The ASTCT grade is computed from the findings; a different grade here is kept "
                    "beside it for review once you confirm it."))


def _yes(value: str) -> bool:
    return value == YES


def _cycle_errors(errors: dict, model: type[Crf], name: str, record: Crf, day) -> None:
    """An assessment belongs to a cycle: from its start to 14 days after its infusion ended."""
    if day is None or name in errors:
        return
    cycle = cycle_on(record.patient_id, day)
    if cycle is None:
        first = next(iter(cycles_of(record.patient_id)), None)
        errors[name] = (_("%(field)s: %(date)s is before cycle 1 started (%(start)s).") if first else _(
            "%(field)s: %(date)s — enter the blinatumomab cycle first; this form belongs to a cycle.")) % {
            "field": capfirst(model._meta.get_field(name).verbose_name), "date": day.isoformat(),
            "start": first.start_date.isoformat() if first else ""}
    elif day > cycle_period_end(cycle):
        errors[name] = _("%(field)s: %(date)s is after the end of cycle %(n)s and its 14 treatment-free days "
                         "(%(end)s).") % {"field": capfirst(model._meta.get_field(name).verbose_name),
                                          "date": day.isoformat(), "n": cycle.cycle_number,
                                          "end": cycle_period_end(cycle).isoformat()}


def _one_per_day(errors: dict, record: Crf, name: str) -> None:
    day = getattr(record, name)
    if day is None or name in errors:
        return
    held = reads.series(record._meta.label, record.patient_id)
    if held is not None:  # a re-derivation pass holds all of the patient's records of this form
        taken = any(getattr(r, name) == day and r.pk != record.pk for r in held)
    else:
        taken = type(record).objects.filter(patient_id=record.patient_id, **{name: day}).exclude(pk=record.pk).exists()
    if taken:
        errors[name] = _("This patient already has a %(form)s on %(date)s; correct that one instead.") % {
            "form": type(record)._meta.verbose_name, "date": day.isoformat()}


def _death_errors(errors: dict, record: Crf, name: str, day, what) -> None:
    if getattr(record, name) != YES:
        return
    death = death_of(record.patient_id)
    if death is None or death.death_date != day:
        errors[name] = _("%(what)s: enter the patient's Death form first, with the date of death %(date)s.") % {
            "what": what, "date": day.isoformat() if day else "—"}


class CrsAssessment(Crf):
    """One day's worst CRS findings (CLINICAL-RULES 1.2); the ASTCT grade is computed, never typed."""

    assessment_date = models.DateField(_("date"))
    max_temperature_c = measure(_("maximum temperature"), "°C", hard=(30, 44), soft=(34, 42), decimals=1,
                                help_text=_("Highest of the day; fever is 38.0 °C or more."))
    fever_other_cause = models.CharField(
        _("fever attributable to another cause"), max_length=1, choices=YesNo.choices,
        help_text=_("E.g. a documented infection explains the fever: then it does not count for CRS."))
    hypotension = models.CharField(
        _("hypotension"), max_length=12, choices=Hypotension.choices,
        help_text=_("Hypotension for age (PALS): < 70 mmHg systolic under 1 year; < 70 + 2 × age (years) from 1 "
                    "to 10 years; < 90 mmHg from 10 years."))
    vasopressors = measure(_("vasopressors (not counting vasopressin)"), "", hard=(0, 6),
                           help_text=_("Required when the hypotension needs vasopressors."))
    vasopressin = models.CharField(_("vasopressin"), max_length=1, choices=YesNo.choices)
    oxygen_device = models.CharField(_("oxygen"), max_length=24, choices=OxygenDevice.choices)
    oxygen_flow_l_min = measure(_("oxygen flow"), "L/min", hard=(0, 80), decimals=1,
                                help_text=_("Required for a nasal cannula: up to 6 L/min is low flow."))
    antipyretics = models.CharField(_("antipyretics given"), max_length=1, choices=YesNo.choices)
    tocilizumab = models.CharField(_("tocilizumab given"), max_length=1, choices=YesNo.choices)
    corticosteroids = models.CharField(_("corticosteroids given"), max_length=1, choices=YesNo.choices)
    death_due_to_crs = models.CharField(_("died of CRS this day"), max_length=1, choices=YesNo.choices)
    reported_grade = reported_grade_field()
    disagreement_confirmed = disagreement_field()

    cycle_number = models.PositiveSmallIntegerField(_("cycle"), null=True, editable=False)
    oxygen_support = models.PositiveSmallIntegerField(_("oxygen support (ASTCT)"), choices=OxygenSupport.choices,
                                                      null=True, editable=False)
    crs_ongoing = models.BooleanField(_("CRS ongoing from the previous assessment"), null=True, editable=False)
    episode_treated = models.BooleanField(
        _("antipyretic, tocilizumab or corticosteroid given in this CRS episode so far"), null=True, editable=False,
        help_text=_("Once given in an episode, fever is no longer needed to grade its later days (ASTCT)."))
    fever_counted = models.BooleanField(_("fever ≥ 38.0 °C counted"), null=True, editable=False)
    crs_grade = models.PositiveSmallIntegerField(_("ASTCT CRS grade"), choices=Grade.choices, null=True,
                                                 editable=False)
    episode_start = models.DateField(_("CRS episode started"), null=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 120
    crf_phase = Phase.TREATMENT
    crf_may_be_missing = ("max_temperature_c",)
    crf_derived_from = ("treatment.BlinatumomabCycle", "treatment.CrsAssessment", "patients.Death")
    crf_sequence_field = "assessment_date"
    crf_reported = {"reported_grade": "crs_grade"}

    class Meta:
        verbose_name = _("CRS assessment")
        verbose_name_plural = _("CRS assessments")

    def crf_summary(self) -> str:
        grade = "" if self.crs_grade is None else str(_("grade %(g)s") % {"g": self.crs_grade})
        return " · ".join(filter(None, [self.assessment_date.isoformat() if self.assessment_date else "", grade]))

    def signs(self) -> rules.CrsSigns:
        return rules.CrsSigns(
            max_temperature_c=self.max_temperature_c, fever_other_cause=_yes(self.fever_other_cause),
            hypotension=rules.Hypotension(self.hypotension), vasopressors=self.vasopressors or 0,
            vasopressin=_yes(self.vasopressin),
            oxygen=rules.oxygen_support(self.oxygen_device, self.oxygen_flow_l_min),
            antipyretic_or_anticytokine=any(map(_yes, (self.antipyretics, self.tocilizumab, self.corticosteroids))),
            death_due_to_crs=_yes(self.death_due_to_crs))

    def previous(self):
        """The patient's assessment on the closest earlier day of the same cycle (None on an episode's first day)."""
        if self.assessment_date is None or self.cycle_number is None:
            return None
        held = reads.series(CrsAssessment._meta.label, self.patient_id)
        if held is not None:  # a re-derivation pass: the earlier days as just re-graded, in memory
            earlier = [r for r in held if r.pk != self.pk and r.cycle_number == self.cycle_number
                       and r.assessment_date is not None and r.assessment_date < self.assessment_date]
            return max(earlier, key=lambda r: r.assessment_date, default=None)
        return (CrsAssessment.objects.filter(patient_id=self.patient_id, cycle_number=self.cycle_number,
                                             assessment_date__lt=self.assessment_date)
                .exclude(pk=self.pk).order_by("-assessment_date").first())

    def derive(self) -> None:
        cycle = cycle_on(self.patient_id, self.assessment_date)
        self.cycle_number = cycle.cycle_number if cycle else None
        previous = self.previous()
        self.crs_ongoing = bool(previous and previous.crs_grade)
        treated_before = bool(self.crs_ongoing and previous.episode_treated)
        self.rules_version = rules.TREATMENT_RULE_VERSION
        try:
            signs = self.signs()
            self.oxygen_support = int(signs.oxygen)
            self.fever_counted = rules.fever_counts(signs)
            self.crs_grade = rules.crs_grade(signs, crs_ongoing=self.crs_ongoing, treated_in_episode=treated_before)
            self.episode_treated = rules.treated_after(signs, self.crs_grade, crs_ongoing=self.crs_ongoing,
                                                       treated_in_episode=treated_before)
        except (TypeError, ValueError):  # incomplete findings: validation names what is missing
            self.oxygen_support = self.fever_counted = self.crs_grade = self.episode_treated = None
        if self.crs_grade:
            self.episode_start = previous.episode_start if self.crs_ongoing else self.assessment_date
        else:
            self.episode_start = None

    def normalize(self) -> None:
        if self.hypotension in (Hypotension.NONE, Hypotension.FLUIDS):
            self.vasopressors = self.vasopressors or 0  # implied by the answer: no vasopressor was needed

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, CrsAssessment, "assessment_date", self.assessment_date, born=date_of_birth(self.patient))
        _cycle_errors(errors, CrsAssessment, "assessment_date", self, self.assessment_date)
        _one_per_day(errors, self, "assessment_date")
        if self.hypotension == Hypotension.VASOPRESSORS:
            if not self.vasopressors and self.vasopressin != YES:
                errors["vasopressors"] = _("Hypotension needs vasopressors: give how many (or tick vasopressin).")
        elif self.vasopressors or self.vasopressin == YES:
            errors["hypotension"] = _("Vasopressors are recorded: set hypotension to “Needs vasopressors”.")
        if self.oxygen_device == OxygenDevice.NASAL_CANNULA and self.oxygen_flow_l_min is None:
            errors["oxygen_flow_l_min"] = _("Give the nasal cannula flow: up to 6 L/min is low flow, above is high "
                                            "flow.")
        elif self.oxygen_device == OxygenDevice.NONE and self.oxygen_flow_l_min:
            errors["oxygen_flow_l_min"] = _("No oxygen is recorded: clear the flow or choose the device.")
        _death_errors(errors, self, "death_due_to_crs", self.assessment_date, _("Died of CRS"))
        if errors:
            raise ValidationError(errors)


class ConsciousnessLevel(models.IntegerChoices):
    ALERT = rules.Consciousness.ALERT.value, _("Alert")
    SPONTANEOUS = rules.Consciousness.AWAKENS_SPONTANEOUSLY.value, _("Awakens spontaneously")
    VOICE = rules.Consciousness.AWAKENS_TO_VOICE.value, _("Awakens to voice")
    TOUCH = rules.Consciousness.AWAKENS_TO_TOUCH.value, _("Awakens only to tactile stimulus")
    UNAROUSABLE = rules.Consciousness.UNAROUSABLE.value, _(
        "Unarousable, or needs vigorous or repetitive stimuli; stupor or coma")


class SeizureKind(models.IntegerChoices):
    NONE = rules.Seizure.NONE.value, _("None")
    RAPID = rules.Seizure.RESOLVES_RAPIDLY.value, _(
        "Seizure (focal or generalized) that resolves rapidly, or EEG seizures resolving with intervention")
    PROLONGED = rules.Seizure.PROLONGED_OR_REPETITIVE.value, _(
        "Prolonged seizure (> 5 min), or repetitive seizures without return to baseline")


class IcpFinding(models.IntegerChoices):
    NONE = rules.RaisedIcp.NONE.value, _("None")
    FOCAL = rules.RaisedIcp.FOCAL_EDEMA.value, _("Focal or local edema on neuroimaging")
    DIFFUSE = rules.RaisedIcp.DIFFUSE_EDEMA.value, _(
        "Diffuse cerebral edema; decerebrate or decorticate posturing; cranial nerve VI palsy; papilledema; or "
        "Cushing's triad")


class IcansToolChoice(models.TextChoices):
    ICE = rules.IcansTool.ICE.value, _("ICE (12 years and older)")
    CAPD = rules.IcansTool.CAPD.value, _("CAPD (under 12 years, or developmental delay)")


class CapdChoice(models.IntegerChoices):
    NEVER = 0, _("Never")
    RARELY = 1, _("Rarely")
    SOMETIMES = 2, _("Sometimes")
    OFTEN = 3, _("Often")
    ALWAYS = 4, _("Always")


CAPD_QUESTIONS = [
    _("Does the child make eye contact with the caregiver?"),
    _("Are the child's actions purposeful?"),
    _("Is the child aware of his/her surroundings?"),
    _("Does the child communicate needs and wants?"),
    _("Is the child restless?"),
    _("Is the child inconsolable?"),
    _("Is the child underactive — very little movement while awake?"),
    _("Does it take the child a long time to respond to interactions?"),
]
ICE_ITEMS = {
    "orientation": (_("ICE: orientation (year, month, city, hospital)"), 4),
    "naming": (_("ICE: naming three objects"), 3),
    "commands": (_("ICE: following commands"), 1),
    "writing": (_("ICE: writing a standard sentence"), 1),
    "attention": (_("ICE: counting backwards from 100 by 10"), 1),
}


def _ice_field(name: str) -> models.IntegerField:
    label, maximum = ICE_ITEMS[name]
    return measure(label, _("points"), hard=(0, maximum))


def _capd_field(number: int) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(
        format_lazy("CAPD {}. {}", number, CAPD_QUESTIONS[number - 1]),
        choices=CapdChoice.choices, null=True, blank=True)


class IcansAssessment(Crf):
    """Neurotoxicity on one day (CLINICAL-RULES 2): ICE from 12 years, CAPD under 12, plus the other domains."""

    assessment_date = models.DateField(_("date"))
    baseline = models.CharField(_("baseline assessment at the start of the cycle"), max_length=1,
                                choices=YesNo.choices,
                                help_text=_("The pre-treatment score is shown beside each later CAPD score."))
    developmental_delay = models.CharField(
        _("developmental delay"), max_length=1, choices=YesNo.choices,
        help_text=_("From 12 years, a child with developmental delay is assessed with CAPD."))
    unable_to_perform = models.CharField(
        _("unable to perform the test (unarousable)"), max_length=1, choices=YesNo.choices)
    ice_orientation = _ice_field("orientation")
    ice_naming = _ice_field("naming")
    ice_commands = _ice_field("commands")
    ice_writing = _ice_field("writing")
    ice_attention = _ice_field("attention")
    capd_1 = _capd_field(1)
    capd_2 = _capd_field(2)
    capd_3 = _capd_field(3)
    capd_4 = _capd_field(4)
    capd_5 = _capd_field(5)
    capd_6 = _capd_field(6)
    capd_7 = _capd_field(7)
    capd_8 = _capd_field(8)
    consciousness = models.PositiveSmallIntegerField(
        _("level of consciousness"), choices=ConsciousnessLevel.choices,
        help_text=_("Only when not attributable to another cause (e.g. sedating medication)."))
    seizure = models.PositiveSmallIntegerField(_("seizure"), choices=SeizureKind.choices)
    deep_focal_motor_weakness = models.CharField(
        _("deep focal motor weakness (hemiparesis, paraparesis)"), max_length=1, choices=YesNo.choices,
        help_text=_("Tremor and myoclonus are graded as adverse events, not here."))
    raised_icp = models.PositiveSmallIntegerField(_("raised intracranial pressure / cerebral edema"),
                                                  choices=IcpFinding.choices)
    death_due_to_icans = models.CharField(_("died of ICANS this day"), max_length=1, choices=YesNo.choices)
    reported_grade = reported_grade_field()
    disagreement_confirmed = disagreement_field()

    cycle_number = models.PositiveSmallIntegerField(_("cycle"), null=True, editable=False)
    age_years = models.PositiveSmallIntegerField(_("age on the assessment date (years)"), null=True, editable=False)
    tool = models.CharField(_("assessment tool"), max_length=4, choices=IcansToolChoice.choices, blank=True,
                            editable=False)
    score = models.PositiveSmallIntegerField(_("ICE or CAPD score"), null=True, editable=False)
    baseline_capd_score = models.PositiveSmallIntegerField(_("baseline CAPD score"), null=True, editable=False)
    icans_grade = models.PositiveSmallIntegerField(_("ASTCT ICANS grade"), choices=Grade.choices, null=True,
                                                   editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 130
    crf_phase = Phase.TREATMENT
    crf_derived_from = ("patients.Registration", "treatment.BlinatumomabCycle", "treatment.IcansAssessment",
                        "patients.Death")
    crf_reads = READ_BY_OTHER_FORMS
    crf_sequence_field = "assessment_date"
    crf_reported = {"reported_grade": "icans_grade"}

    ICE_FIELDS = ("ice_orientation", "ice_naming", "ice_commands", "ice_writing", "ice_attention")
    CAPD_FIELDS = tuple(f"capd_{n}" for n in range(1, 9))

    class Meta:
        verbose_name = _("ICANS assessment")
        verbose_name_plural = _("ICANS assessments")

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        return None

    def crf_summary(self) -> str:
        grade = "" if self.icans_grade is None else str(_("grade %(g)s") % {"g": self.icans_grade})
        base = str(_("baseline")) if self.baseline == YES else ""
        return " · ".join(filter(None, [self.assessment_date.isoformat() if self.assessment_date else "", base,
                                        grade]))

    def tool_on_date(self) -> rules.IcansTool | None:
        born = date_of_birth(self.patient) if self.patient_id else None
        if born is None or self.assessment_date is None or self.assessment_date < born:
            return None
        age = enrollment_rules.age_at(born, self.assessment_date)[0]
        return rules.icans_tool(age_years=age, developmental_delay=self.developmental_delay == YES)

    def _baseline_capd(self) -> int | None:
        if self.assessment_date is None or self.baseline == YES:
            return None
        held = reads.series(IcansAssessment._meta.label, self.patient_id)
        if held is not None:  # a re-derivation pass: the patient's assessments are in memory
            baselines = [r for r in held if r.pk != self.pk and r.baseline == YES and r.tool == rules.IcansTool.CAPD
                         and r.assessment_date is not None and r.assessment_date <= self.assessment_date
                         and r.score is not None]
            latest = max(baselines, key=lambda r: r.assessment_date, default=None)
            return latest.score if latest else None
        earlier = (IcansAssessment.objects.filter(patient_id=self.patient_id, baseline=YES, tool=rules.IcansTool.CAPD,
                                                  assessment_date__lte=self.assessment_date, score__isnull=False)
                   .exclude(pk=self.pk).order_by("-assessment_date").first())
        return earlier.score if earlier else None

    def derive(self) -> None:
        cycle = cycle_on(self.patient_id, self.assessment_date)
        self.cycle_number = cycle.cycle_number if cycle else None
        born = date_of_birth(self.patient) if self.patient_id else None
        tool = self.tool_on_date()
        self.age_years = enrollment_rules.age_at(born, self.assessment_date)[0] if tool else None
        self.tool = tool.value if tool else ""
        self.rules_version = rules.TREATMENT_RULE_VERSION
        self.baseline_capd_score = self._baseline_capd() if tool is rules.IcansTool.CAPD else None
        self.score = self.icans_grade = None
        if tool is None:
            return
        try:
            if self.unable_to_perform != YES:
                if tool is rules.IcansTool.ICE:
                    self.score = rules.ice_total({name[4:]: getattr(self, name) for name in self.ICE_FIELDS})
                else:
                    self.score = rules.capd_total([getattr(self, name) for name in self.CAPD_FIELDS])
            self.icans_grade = rules.icans_grade(rules.IcansFindings(
                tool=tool, score=self.score, unable_to_perform=self.unable_to_perform == YES,
                consciousness=rules.Consciousness(self.consciousness), seizure=rules.Seizure(self.seizure),
                deep_focal_motor_weakness=self.deep_focal_motor_weakness == YES,
                raised_icp=rules.RaisedIcp(self.raised_icp), death_due_to_icans=self.death_due_to_icans == YES))
        except (TypeError, ValueError, KeyError):  # items missing: validation says which
            self.score = self.icans_grade = None

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, IcansAssessment, "assessment_date", self.assessment_date,
                   born=date_of_birth(self.patient))
        _cycle_errors(errors, IcansAssessment, "assessment_date", self, self.assessment_date)
        _one_per_day(errors, self, "assessment_date")
        tool = self.tool_on_date()
        if tool is not None:
            needed, other = ((self.ICE_FIELDS, self.CAPD_FIELDS) if tool is rules.IcansTool.ICE
                             else (self.CAPD_FIELDS, self.ICE_FIELDS))
            if self.unable_to_perform == YES:
                needed = ()
                other = (*self.ICE_FIELDS, *self.CAPD_FIELDS)
            why = (_("the patient is %(age)s years old on %(date)s: assessed with %(tool)s")
                   % {"age": self.age_years, "date": self.assessment_date.isoformat(), "tool": tool.value})
            for name in needed:
                if getattr(self, name) is None:
                    errors[name] = _("Answer this %(tool)s item (%(why)s).") % {"tool": tool.value, "why": why}
            for name in other:
                if getattr(self, name) is not None:
                    errors[name] = (_("Clear this item: the patient could not perform the test.")
                                    if self.unable_to_perform == YES else
                                    _("Clear this item (%(why)s).") % {"why": why})
        _death_errors(errors, self, "death_due_to_icans", self.assessment_date, _("Died of ICANS"))
        if errors:
            raise ValidationError(errors)
