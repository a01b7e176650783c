"""CRF-SPEC "Blinatumomab cycle" with its interruptions, and "Intrathecal therapy" after each cycle."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from patients import rules as enrollment_rules
from patients.models.codes import READ_BY_OTHER_FORMS, YesNo, check_date, date_of_birth
from treatment import rules
from treatment.models.codes import cycle_number_field, cycles_of
from trial.crf import Crf, Phase, ReviewFlag
from trial.ranges import measure


class DiscontinuationReason(models.TextChoices):
    CRS = "crs", _("Cytokine release syndrome")
    NEUROTOXICITY = "neurotoxicity", _("Neurotoxicity (ICANS)")
    INFECTION = "infection", _("Infection")
    PROGRESSION = "progression", _("Disease progression")
    DEATH = "death", _("Death")
    WITHDRAWAL = "withdrawal", _("Consent withdrawn")
    OTHER = "other", _("Other")


class InterruptionReason(models.TextChoices):
    CRS = "crs", _("Cytokine release syndrome")
    NEUROTOXICITY = "neurotoxicity", _("Neurotoxicity (ICANS)")
    INFECTION = "infection", _("Infection")
    CATHETER = "catheter", _("Catheter problem")
    OTHER = "other", _("Other")


def _dose(value: float | Decimal | None) -> str:
    """D11: a dose shown to 0.1 µg (a typed dose, kept exactly, is rounded half up for display)."""
    if value is None:
        return "—"
    shown = value.quantize(Decimal("0.1"), ROUND_HALF_UP) if isinstance(value, Decimal) else f"{value:.1f}"
    return _("%(dose)s µg/day") % {"dose": shown}


class BlinatumomabCycle(Crf):
    """One 28-day continuous infusion: the dose planned from the cycle's BSA, what was prescribed and given."""

    cycle_number = cycle_number_field(help_text=_("Up to two cycles per patient; cycle 2 needs the cycle-1 "
                                                  "response assessment first."))
    start_date = models.DateField(_("start date"), help_text=_("Day 1 of the infusion."))
    weight_kg = measure(_("weight"), "kg", hard=(0.5, 200), soft=(3, 150), decimals=1, null=False,
                        help_text=_("Measured at the start of the cycle; the BSA and doses are computed from it."))
    height_cm = measure(_("height"), "cm", hard=(30, 230), soft=(45, 200), decimals=1, null=False)
    prescribed_step_ug_day = measure(
        _("prescribed dose, days 1–7"), _("µg/day"), hard=(0.1, 30), decimals=2,
        help_text=_("Cycle 1 only (step dose). Compared with the planned dose."))
    prescribed_full_ug_day = measure(
        _("prescribed dose, days 8–28 (cycle 2: days 1–28)"), _("µg/day"), hard=(0.1, 60), decimals=2, null=False)
    deviation_reason = models.TextField(
        _("reason for the dose deviation"), blank=True,
        help_text=_("Required when a prescribed dose differs from the planned one by more than 10 %."))
    end_date = models.DateField(_("end date"), null=True, blank=True,
                                help_text=_("Last day of infusion; leave empty while the cycle is running."))
    days_infused = measure(_("days infused"), _("days"), hard=(0, rules.CYCLE_INFUSION_DAYS),
                           help_text=_("Days the infusion actually ran (interruptions excluded)."))
    discontinued_early = models.CharField(_("discontinued early"), max_length=1, choices=YesNo.choices)
    discontinuation_reason = models.CharField(_("reason for early discontinuation"), max_length=14,
                                              choices=DiscontinuationReason.choices, blank=True)
    discontinuation_detail = models.TextField(_("discontinuation details"), blank=True)

    bsa_m2 = models.FloatField(_("body surface area (m², Mosteller)"), null=True, editable=False)
    fixed_dose = models.BooleanField(_("fixed dose (45 kg or more)"), null=True, editable=False)
    planned_step_ug_day = models.FloatField(_("planned dose, days 1–7 (µg/day)"), null=True, editable=False)
    planned_full_ug_day = models.FloatField(_("planned dose, days 8–28 / 1–28 (µg/day)"), null=True,
                                            editable=False)
    planned_total_ug = models.FloatField(_("planned cycle total (µg)"), null=True, editable=False)
    step_deviation_pct = models.FloatField(_("prescribed vs planned, days 1–7 (%)"), null=True, editable=False)
    full_deviation_pct = models.FloatField(_("prescribed vs planned, days 8–28 / 1–28 (%)"), null=True,
                                           editable=False)
    dose_deviation = models.BooleanField(_("dose deviation (more than 10 %)"), null=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 110
    crf_phase = Phase.TREATMENT
    crf_derived_from = ("patients.Registration", "treatment.ResponseAssessment")
    crf_reads = READ_BY_OTHER_FORMS
    crf_sequence_field = "cycle_number"

    class Meta:
        verbose_name = _("blinatumomab cycle")
        verbose_name_plural = _("blinatumomab cycles")
        constraints = [models.UniqueConstraint(fields=["patient", "cycle_number"], name="one_cycle_per_number")]

    @classmethod
    def display_value(cls, name: str, value: object) -> str | None:
        if name == "bsa_m2":
            return f"{value:.2f} m²"
        if name in ("planned_step_ug_day", "planned_full_ug_day"):
            return _dose(value)
        if name == "planned_total_ug":
            return f"{value:.1f} µg"
        if name.endswith("deviation_pct"):
            return f"{value:+.1f} %"
        return None

    def crf_summary(self) -> str:
        parts = [str(_("Cycle %(n)s") % {"n": self.cycle_number})]
        if self.start_date:
            parts.append(self.start_date.isoformat())
        return " · ".join(parts)

    def normalize(self) -> None:
        for name in ("deviation_reason", "discontinuation_detail"):
            setattr(self, name, (getattr(self, name) or "").strip())

    def derive(self) -> None:
        try:
            self.bsa_m2 = enrollment_rules.bsa_mosteller(height_cm=self.height_cm, weight_kg=self.weight_kg)
            planned = rules.planned_doses(cycle=self.cycle_number, weight_kg=self.weight_kg, bsa_m2=self.bsa_m2)
        except (TypeError, ValueError):
            self.bsa_m2 = self.fixed_dose = self.planned_step_ug_day = self.planned_full_ug_day = None
            self.planned_total_ug = self.step_deviation_pct = self.full_deviation_pct = self.dose_deviation = None
            self.rules_version = rules.TREATMENT_RULE_VERSION
            return
        self.fixed_dose = planned.fixed
        self.planned_step_ug_day, self.planned_full_ug_day = planned.step_ug_per_day, planned.full_ug_per_day
        self.planned_total_ug = planned.total_ug
        self.step_deviation_pct = self._deviation(planned.step_ug_per_day, self.prescribed_step_ug_day)
        self.full_deviation_pct = self._deviation(planned.full_ug_per_day, self.prescribed_full_ug_day)
        known = [d for d in (self.step_deviation_pct, self.full_deviation_pct) if d is not None]
        self.dose_deviation = any(rules.is_dose_deviation(d) for d in known) if known else None
        self.rules_version = rules.TREATMENT_RULE_VERSION

    @staticmethod
    def _deviation(planned: float | None, prescribed) -> float | None:
        if planned is None or prescribed is None:
            return None
        return rules.dose_deviation_percent(planned=planned, prescribed=float(prescribed))

    def deviation_messages(self) -> list[tuple[str, str]]:
        """(field, message) for each prescribed dose more than 10 % from the planned one."""
        found = []
        for field, planned, deviation, days in (
                ("prescribed_step_ug_day", self.planned_step_ug_day, self.step_deviation_pct, _("days 1–7")),
                ("prescribed_full_ug_day", self.planned_full_ug_day, self.full_deviation_pct,
                 _("days 8–28") if self.planned_step_ug_day is not None else _("days 1–28"))):
            if deviation is not None and rules.is_dose_deviation(deviation):
                found.append((field, _("Prescribed %(prescribed)s for %(days)s is %(deviation)+.1f %% from the planned "
                                       "%(planned)s (more than 10 %%).")
                              % {"prescribed": _dose(getattr(self, field)), "days": days,
                                 "deviation": deviation, "planned": _dose(planned)}))
        return found

    def review_flags(self) -> list[ReviewFlag]:
        return [*super().review_flags(), *(ReviewFlag(self, field, message)
                                          for field, message in self.deviation_messages())]

    @classmethod
    def review_filter(cls) -> models.Q:
        return models.Q(dose_deviation=True)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, BlinatumomabCycle, "start_date", self.start_date, born=date_of_birth(self.patient))
        check_date(errors, BlinatumomabCycle, "end_date", self.end_date,
                   not_before=(self.start_date, _("the start date")))
        if self.cycle_number:
            self._check_order(errors)
            has_step = rules.has_step_dose(self.cycle_number)
            if has_step and self.prescribed_step_ug_day is None:
                errors["prescribed_step_ug_day"] = _("Give the dose prescribed for days 1–7 (step dose of cycle "
                                                     "%(n)s).") % {"n": self.cycle_number}
            elif not has_step and self.prescribed_step_ug_day is not None:
                errors["prescribed_step_ug_day"] = _("Cycle %(n)s has no step dose: it is 28 days at the full dose. "
                                                     "Clear this field.") % {"n": self.cycle_number}
        deviations = self.deviation_messages()
        if deviations and not self.deviation_reason:
            errors["deviation_reason"] = " ".join(message for _field, message in deviations) + " " + str(
                _("Give the reason for the deviation."))
        if self.end_date and self.start_date and self.days_infused is not None:
            calendar_days = (self.end_date - self.start_date).days + 1
            if self.days_infused > calendar_days:
                errors["days_infused"] = _("Days infused: %(days)s is more than the %(calendar)s days from the start "
                                           "to the end date.") % {"days": self.days_infused, "calendar": calendar_days}
        if self.end_date and self.days_infused is None:
            errors["days_infused"] = _("Give the number of days infused once the cycle has ended.")
        if self.discontinued_early == YesNo.YES:
            if not self.discontinuation_reason:
                errors["discontinuation_reason"] = _("Give the reason for the early discontinuation.")
            if not self.end_date:
                errors.setdefault("end_date", _("Give the last day of infusion of the discontinued cycle."))
        elif self.discontinuation_reason or self.discontinuation_detail:
            errors["discontinuation_reason"] = _("The cycle was not discontinued early: clear the reason.")
        if self.discontinuation_reason == DiscontinuationReason.OTHER and not self.discontinuation_detail:
            errors["discontinuation_detail"] = _("Describe the reason for the discontinuation.")
        if errors:
            raise ValidationError(errors)

    def _check_order(self, errors: dict) -> None:
        """≤ 2 cycles, one per number; cycle 2 starts after cycle 1 ended and after its response assessment."""
        from treatment.models.response import ResponseAssessment

        others = {c.cycle_number: c for c in cycles_of(self.patient_id) if c.pk != self.pk}
        if self.cycle_number in others:
            errors["cycle_number"] = _("This patient already has cycle %(n)s.") % {"n": self.cycle_number}
            return
        earlier, later = others.get(self.cycle_number - 1), others.get(self.cycle_number + 1)
        if self.cycle_number > 1 and earlier is None:
            errors["cycle_number"] = _("Enter cycle %(n)s first.") % {"n": self.cycle_number - 1}
            return
        if earlier is not None and self.start_date:
            earlier_end = earlier.end_date or earlier.start_date + timedelta(days=rules.CYCLE_INFUSION_DAYS - 1)
            if self.start_date <= earlier_end:
                if earlier.end_date:
                    errors["start_date"] = _("Start date: %(date)s is not after the end of cycle %(n)s (%(end)s, the "
                                             "end date on the cycle-%(n)s form).") % {
                        "date": self.start_date.isoformat(), "n": earlier.cycle_number, "end": earlier_end.isoformat()}
                else:
                    errors["start_date"] = _("Start date: %(date)s is not after cycle %(n)s, which started on "
                                             "%(start)s and has no end date yet (its 28 days run to %(end)s).") % {
                        "date": self.start_date.isoformat(), "n": earlier.cycle_number,
                        "start": earlier.start_date.isoformat(), "end": earlier_end.isoformat()}
                return
            response = (ResponseAssessment.objects.filter(patient_id=self.patient_id, cycle_number=earlier.cycle_number)
                        .order_by("assessment_date").first())
            if response is None or response.assessment_date > self.start_date:
                errors["start_date"] = _("Cycle %(n)s can start only after the cycle-%(prev)s response assessment; "
                                         "enter that first (its date on or before %(date)s).") % {
                    "n": self.cycle_number, "prev": earlier.cycle_number, "date": self.start_date.isoformat()}
        if later is not None and self.start_date and later.start_date <= (
                self.end_date or self.start_date + timedelta(days=rules.CYCLE_INFUSION_DAYS - 1)):
            errors["end_date" if self.end_date else "start_date"] = _(
                "Cycle %(n)s started on %(date)s: this cycle must end before it.") % {
                "n": later.cycle_number, "date": later.start_date.isoformat()}


class InfusionInterruption(Crf):
    """An interruption of a cycle's infusion (repeating): when and why (BLIN-PI: > 7 days starts a new cycle)."""

    cycle_number = cycle_number_field()
    start_date = models.DateField(_("interrupted on"))
    end_date = models.DateField(_("restarted on"), null=True, blank=True,
                                help_text=_("Leave empty if the infusion was not restarted."))
    restart_dose_ug_day = measure(_("dose at restart"), _("µg/day"), hard=(0.1, 60), decimals=2,
                                  help_text=_("The dose the infusion was restarted at. Required once it restarted."))
    interruption_reason = models.CharField(_("reason for the interruption"), max_length=14,
                                           choices=InterruptionReason.choices)
    reason_detail = models.TextField(_("details"), blank=True, help_text=_("Required when the reason is “Other”."))

    duration_days = models.PositiveSmallIntegerField(_("interruption (days)"), null=True, editable=False)

    crf_repeating = True
    crf_order = 112
    crf_phase = Phase.TREATMENT
    crf_derived_from = ("treatment.BlinatumomabCycle",)
    crf_sequence_field = "start_date"
    crf_may_be_missing = ("restart_dose_ug_day",)

    class Meta:
        verbose_name = _("infusion interruption")
        verbose_name_plural = _("infusion interruptions")

    def crf_summary(self) -> str:
        restarted = (_("restarted %(date)s at %(dose)s") % {"date": self.end_date.isoformat(),
                                                             "dose": _dose(self.restart_dose_ug_day)}
                     if self.end_date and self.restart_dose_ug_day is not None else "")
        return " · ".join(filter(None, [str(_("Cycle %(n)s") % {"n": self.cycle_number}),
                                        self.start_date.isoformat() if self.start_date else "",
                                        self.get_interruption_reason_display(), restarted]))

    def normalize(self) -> None:
        self.reason_detail = (self.reason_detail or "").strip()

    def derive(self) -> None:
        self.duration_days = (self.end_date - self.start_date).days if self.end_date and self.start_date else None

    def review_flags(self) -> list[ReviewFlag]:
        flags = super().review_flags()
        if self.duration_days is not None and self.duration_days > 7:
            flags.append(ReviewFlag(self, "end_date", _(
                "Interrupted %(days)s days: after more than 7 days the label starts a new cycle.") % {
                "days": self.duration_days}))
        return flags

    @classmethod
    def review_filter(cls) -> models.Q:
        return models.Q(duration_days__gt=7)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, InfusionInterruption, "start_date", self.start_date)
        check_date(errors, InfusionInterruption, "end_date", self.end_date,
                   not_before=(self.start_date, _("the interruption date")))
        cycle = next((c for c in cycles_of(self.patient_id) if c.cycle_number == self.cycle_number), None)
        if self.cycle_number and cycle is None:
            errors["cycle_number"] = _("Cycle %(n)s is not entered yet.") % {"n": self.cycle_number}
        elif cycle is not None and self.start_date and "start_date" not in errors:
            if self.start_date < cycle.start_date or (cycle.end_date and self.start_date > cycle.end_date):
                errors["start_date"] = _("Interrupted on: %(date)s is outside cycle %(n)s (%(start)s to %(end)s).") % {
                    "date": self.start_date.isoformat(), "n": cycle.cycle_number,
                    "start": cycle.start_date.isoformat(),
                    "end": cycle.end_date.isoformat() if cycle.end_date else _("ongoing")}
        if self.interruption_reason == InterruptionReason.OTHER and not self.reason_detail:
            errors["reason_detail"] = _("Describe the reason for the interruption.")
        if self.end_date and self.restart_dose_ug_day is None and "restart_dose_ug_day" not in self.missing:
            errors["restart_dose_ug_day"] = ValidationError(
                _("Give the dose the infusion was restarted at (or code it missing)."), code="required")
        elif not self.end_date and self.restart_dose_ug_day is not None:
            errors["restart_dose_ug_day"] = _("The infusion has no restart date: give the date it restarted, or "
                                              "clear the dose at restart.")
        if errors:
            raise ValidationError(errors)


class IntrathecalTherapy(Crf):
    """Triple intrathecal therapy after a cycle, expected 14 ± 7 days after the cycle's end (D12)."""

    cycle_number = cycle_number_field(help_text=_("The cycle this therapy follows."))
    administration_date = models.DateField(_("date given"))
    methotrexate_mg = measure(_("methotrexate"), "mg", hard=(0, 50), soft=(0, 15), decimals=1)
    cytarabine_mg = measure(_("cytarabine"), "mg", hard=(0, 150), soft=(0, 70), decimals=1)
    hydrocortisone_mg = measure(_("hydrocortisone"), "mg", hard=(0, 100), soft=(0, 30), decimals=1)

    days_after_cycle_end = models.SmallIntegerField(_("days after the cycle's end"), null=True, editable=False)
    within_window = models.BooleanField(_("within 14 ± 7 days of the cycle's end"), null=True, editable=False)
    rules_version = models.CharField(_("rule version"), max_length=20, blank=True, editable=False)

    crf_repeating = True
    crf_order = 150
    crf_phase = Phase.TREATMENT
    crf_may_be_missing = ("methotrexate_mg", "cytarabine_mg", "hydrocortisone_mg")
    crf_derived_from = ("treatment.BlinatumomabCycle",)

    class Meta:
        verbose_name = _("intrathecal therapy")
        verbose_name_plural = _("intrathecal therapy")

    def crf_summary(self) -> str:
        return " · ".join(filter(None, [str(_("after cycle %(n)s") % {"n": self.cycle_number}),
                                        self.administration_date.isoformat() if self.administration_date else ""]))

    def derive(self) -> None:
        cycle = next((c for c in cycles_of(self.patient_id) if c.cycle_number == self.cycle_number), None)
        if cycle is None or cycle.end_date is None or self.administration_date is None:
            self.days_after_cycle_end = self.within_window = None
        else:
            self.days_after_cycle_end = (self.administration_date - cycle.end_date).days
            earliest, latest = rules.intrathecal_window(cycle.end_date)
            self.within_window = earliest <= self.administration_date <= latest
        self.rules_version = rules.TREATMENT_RULE_VERSION

    def review_flags(self) -> list[ReviewFlag]:
        flags = super().review_flags()
        if self.within_window is False:
            flags.append(ReviewFlag(self, "administration_date", _(
                "Given %(days)s days after the end of cycle %(n)s; expected 7 to 21 days after it.") % {
                "days": self.days_after_cycle_end, "n": self.cycle_number}))
        return flags

    @classmethod
    def review_filter(cls) -> models.Q:
        return models.Q(within_window=False)

    def clean(self) -> None:
        errors: dict = {}
        check_date(errors, IntrathecalTherapy, "administration_date", self.administration_date)
        cycle = next((c for c in cycles_of(self.patient_id) if c.cycle_number == self.cycle_number), None)
        if self.cycle_number and cycle is None:
            errors["cycle_number"] = _("Cycle %(n)s is not entered yet.") % {"n": self.cycle_number}
        elif cycle is not None and self.administration_date and self.administration_date < cycle.start_date:
            errors.setdefault("administration_date", _(
                "Date given: %(date)s is before cycle %(n)s started (%(start)s).") % {
                "date": self.administration_date.isoformat(), "n": cycle.cycle_number,
                "start": cycle.start_date.isoformat()})
        if not any((self.methotrexate_mg, self.cytarabine_mg, self.hydrocortisone_mg)):
            errors["methotrexate_mg"] = _("Give the dose of at least one intrathecal drug.")
        if errors:
            raise ValidationError(errors)


