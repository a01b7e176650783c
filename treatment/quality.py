"""Data-quality rules of the treatment forms: dose, the order of cycles and their assessments, late reports,
eligibility, body size and MRD.

Each rule reads the database set-based (one to three queries for every patient of the scope, trial.quality) and
points at the form and field a coordinator corrects. Overdue visits (a missing response assessment or intrathecal
therapy after a cycle that ended) are SCH-001 in trial.quality.generic, and records dated after death are QC-004.
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

from django.db import models
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from patients.models import Baseline, Eligibility
from patients.models.codes import YesNo
from patients.quality import (
    bmi_params,
    body_size_queried,
    death_text,
    form_name,
    implausible_bmi,
    label,
    outside_soft_range,
)
from patients.rules import Outcome
from treatment import rules
from treatment.models import (
    AdverseEvent,
    BlinatumomabCycle,
    CrsAssessment,
    Debulking,
    IcansAssessment,
    InfusionInterruption,
    IntrathecalTherapy,
    ResponseAssessment,
)
from treatment.models.response import MrdResult
from trial.quality import Hit, Scope, Severity, rule

# BLIN-PI: an interruption of up to 7 days continues the same cycle to 28 infusion days (longer starts a new one).
LONGEST_INTERRUPTION_IN_A_CYCLE_DAYS = 7
# Between two measurements a few weeks apart, a child's weight does not change by a quarter nor its height by a
# tenth: such a jump is pounds for kilograms, inches for centimetres, or a slipped digit.
WEIGHT_JUMP, HEIGHT_JUMP = 0.25, 0.10


def _text(template, **values):
    """A sentence part (a lazy `_()` template) filled in the language the message is rendered in."""
    return lazy(lambda: str(template) % values, str)()


def _cycles(scope: Scope, *fields: str) -> dict[int, dict[int, dict]]:
    """The scope's cycles with a number and a start date: {patient id: {cycle number: row}} (one query)."""
    found: dict[int, dict[int, dict]] = defaultdict(dict)
    for row in scope.records(BlinatumomabCycle).filter(cycle_number__isnull=False, start_date__isnull=False).values(
            "pk", "patient_id", "cycle_number", "start_date", "end_date", *fields):
        found[row["patient_id"]][row["cycle_number"]] = row
    return found


def _infusion_end(cycle: dict) -> date:
    """The last infusion day: the end date, or day 28 while none is recorded."""
    return cycle["end_date"] or cycle["start_date"] + timedelta(days=rules.CYCLE_INFUSION_DAYS - 1)


def _period_end(cycle: dict) -> date:
    """The last day a cycle's assessments belong to: its infusion end and the 14 treatment-free days after it."""
    return _infusion_end(cycle) + timedelta(days=rules.CYCLE_FREE_DAYS)


# ---- Dose (CRF-SPEC Blinatumomab cycle; D2) -------------------------------------------------------------------
@rule("TRT-001", form="treatment.BlinatumomabCycle", field="prescribed_full_ug_day", severity=Severity.CONFIRM,
      title=_("Blinatumomab dose differs from the plan by more than 10 %"),
      message=_("%(field)s: %(prescribed)s is %(deviation)s from the planned %(planned)s µg/day (more than 10 %%). "
                "Reason recorded: %(reason)s. Confirm the dose against the prescription, or correct it."))
def dose_deviation(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC: a prescribed dose more than 10 % from the planned one raises a query; exactly 10 % does not."""
    phases = (("prescribed_step_ug_day", "planned_step_ug_day", "step_deviation_pct"),
              ("prescribed_full_ug_day", "planned_full_ug_day", "full_deviation_pct"))
    for row in scope.records(BlinatumomabCycle).filter(BlinatumomabCycle.review_filter()).values(
            "pk", "patient_id", "deviation_reason", *(name for phase in phases for name in phase)):
        for prescribed, planned, deviation in phases:
            if row[deviation] is not None and row[planned] is not None and rules.is_dose_deviation(row[deviation]):
                yield Hit(row["patient_id"], row["pk"], field=prescribed, params={
                    "prescribed": row[prescribed], "planned": round(row[planned], 1),
                    "deviation": f"{row[deviation]:+.1f} %", "reason": (row["deviation_reason"] or "—").rstrip(" .")})


@rule("TRT-002", form="treatment.BlinatumomabCycle", field="prescribed_step_ug_day",
      title=_("Step dose in a cycle after the first"),
      message=_("%(field)s: %(dose)s is recorded for cycle %(n)s, but the lower first-week dose belongs to cycle 1 "
                "only; cycle %(n)s is 28 days at the full dose. Correct the cycle number or the doses."))
def step_dose_after_cycle_1(scope: Scope) -> Iterator[Hit]:
    """D2: the 5 µg/m²/day (9 µg/day) step of days 1–7 applies to cycle 1 only (STEP_DOSE_IN_EVERY_CYCLE)."""
    for pk, patient_id, number, dose in scope.records(BlinatumomabCycle).filter(
            prescribed_step_ug_day__isnull=False).values_list("pk", "patient_id", "cycle_number",
                                                              "prescribed_step_ug_day"):
        if number is not None and not rules.has_step_dose(number):
            yield Hit(patient_id, pk, params={"dose": dose, "n": number})


# ---- Order of cycles, assessments and debulking ---------------------------------------------------------------
@rule("TRT-003", form="treatment.BlinatumomabCycle", field="end_date", title=_("Cycle ends before it starts"),
      message=_("%(field)s: %(date)s is before the start date %(start)s of cycle %(n)s. Correct one of them."))
def cycle_ends_before_start(scope: Scope) -> Iterator[Hit]:
    """A cycle's last infusion day is on or after its first."""
    for pk, patient_id, number, start, end in scope.records(BlinatumomabCycle).filter(
            end_date__lt=models.F("start_date")).values_list("pk", "patient_id", "cycle_number", "start_date",
                                                             "end_date"):
        yield Hit(patient_id, pk, params={"date": end, "start": start, "n": number})


@rule("TRT-004", form="treatment.BlinatumomabCycle", field="start_date",
      title=_("Cycle starts before the previous one ended"),
      message=_("%(field)s: cycle %(n)s starts on %(date)s, not after the end of cycle %(previous)s (%(end)s). "
                "Correct the dates of one of the cycles."))
def cycles_overlap(scope: Scope) -> Iterator[Hit]:
    """BLIN-PI: 28 days of infusion, then 14 treatment-free days, then the next cycle."""
    for patient_id, cycles in _cycles(scope).items():
        for number, cycle in sorted(cycles.items()):
            previous = cycles.get(number - 1)
            if previous is not None and cycle["start_date"] <= _infusion_end(previous):
                yield Hit(patient_id, cycle["pk"], params={"date": cycle["start_date"], "n": number,
                                                           "previous": number - 1, "end": _infusion_end(previous)})


@rule("TRT-005", form="treatment.BlinatumomabCycle", field="end_date", title=_("Cycle with no end date"),
      message=_("%(field)s: cycle %(n)s started on %(start)s and has no end date, though even with interruptions its "
                "infusion and the 14 treatment-free days were over by %(due)s. Enter the last day of infusion: the "
                "response assessment and the intrathecal therapy are expected from it."))
def cycle_without_end(scope: Scope) -> Iterator[Hit]:
    """The schedule counts the response assessment and the intrathecal therapy from the cycle's end (D12), so a
    cycle whose end is never entered leaves them expected by no one: SCH-001 cannot see them overdue."""
    longest = rules.CYCLE_INFUSION_DAYS + LONGEST_INTERRUPTION_IN_A_CYCLE_DAYS + rules.CYCLE_FREE_DAYS - 1
    for pk, patient_id, number, start in scope.records(BlinatumomabCycle).filter(
            end_date__isnull=True, start_date__lt=scope.until - timedelta(days=longest)).values_list(
            "pk", "patient_id", "cycle_number", "start_date"):
        yield Hit(patient_id, pk, params={"n": number, "start": start, "due": start + timedelta(days=longest)})


@rule("TRT-006", form="treatment.ResponseAssessment", field="assessment_date",
      title=_("Response assessment out of order with its cycle"),
      message=_("%(field)s: %(date)s for cycle %(n)s, but %(problem)s. The response to a cycle is assessed after its "
                "last infusion day and before the next cycle starts: correct this date or the cycle's dates."))
def response_out_of_order(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Response assessment "after each cycle"; cycle 2 starts only after the cycle-1 assessment."""
    cycles = _cycles(scope)
    for pk, patient_id, number, day in scope.records(ResponseAssessment).filter(
            cycle_number__isnull=False, assessment_date__isnull=False).values_list(
            "pk", "patient_id", "cycle_number", "assessment_date"):
        cycle, following = cycles[patient_id].get(number), cycles[patient_id].get(number + 1)
        if cycle is None:
            problem = _text(_("cycle %(n)s is not recorded"), n=number)
        elif cycle["end_date"] is None:
            problem = _text(_("cycle %(n)s has no end date"), n=number)
        elif day < cycle["end_date"]:
            problem = _text(_("cycle %(n)s ended on %(end)s, after it"), n=number, end=cycle["end_date"].isoformat())
        elif following is not None and day > following["start_date"]:
            problem = _text(_("cycle %(next)s started before it, on %(start)s"), next=number + 1,
                            start=following["start_date"].isoformat())
        else:
            continue
        yield Hit(patient_id, pk, params={"date": day, "n": number, "problem": problem})


@rule("TRT-007", form="treatment.Debulking", field="start_date", title=_("Debulking after blinatumomab started"),
      message=_("%(field)s: %(date)s is after cycle 1 started (%(cycle_start)s). Debulking chemotherapy is given "
                "before cycle 1: correct the date."))
def debulking_after_cycle_1(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Events: debulking comes before cycle 1."""
    first = dict(scope.records(BlinatumomabCycle).filter(cycle_number=1, start_date__isnull=False).values_list(
        "patient_id", "start_date"))
    if not first:
        return
    for pk, patient_id, start in scope.records(Debulking).filter(
            patient_id__in=list(first), start_date__isnull=False).values_list("pk", "patient_id", "start_date"):
        if start > first[patient_id]:
            yield Hit(patient_id, pk, params={"date": start, "cycle_start": first[patient_id]})


@rule("TRT-008", title=_("Assessment or interruption outside its cycle"),
      message=_("%(field)s: %(date)s is outside %(cycle)s. Correct this date or the dates on the cycle form."))
def outside_the_cycle(scope: Scope) -> Iterator[Hit]:
    """CRS and ICANS assessments belong to a cycle, from its start to 14 days after its infusion; an interruption
    lies within its cycle's infusion. Checked when entered, but a cycle's dates may be corrected afterwards."""
    cycles = _cycles(scope)
    # Days within a cycle's infusion are inside (most of them): the database leaves those out, the rest is judged here.
    during_infusion = models.Exists(BlinatumomabCycle._base_manager.filter(
        patient_id=models.OuterRef("patient_id"), start_date__lte=models.OuterRef("assessment_date"),
        end_date__gte=models.OuterRef("assessment_date")))
    assessments = [scope.records(model).filter(assessment_date__isnull=False).exclude(during_infusion).order_by()
                   .annotate(form_label=models.Value(model._meta.label, output_field=models.CharField()))
                   .values_list("pk", "patient_id", "assessment_date", "form_label")
                   for model in (CrsAssessment, IcansAssessment)]
    for pk, patient_id, day, form in assessments[0].union(assessments[1], all=True):
        started = [c for _n, c in sorted(cycles[patient_id].items()) if c["start_date"] <= day]
        if not started:
            first = cycles[patient_id].get(1)
            where = (_text(_("the cycles: cycle 1 started on %(start)s"), start=first["start_date"].isoformat())
                     if first else _text(_("the cycles: no cycle is recorded")))
        elif day > _period_end(started[-1]):
            cycle = started[-1]
            where = _text(_("cycle %(n)s (%(start)s to %(end)s, with its treatment-free days)"),
                          n=cycle["cycle_number"], start=cycle["start_date"].isoformat(),
                          end=_period_end(cycle).isoformat())
        else:
            continue
        yield Hit(patient_id, pk, form=form, field="assessment_date", params={"date": day, "cycle": where})
    for pk, patient_id, number, day in scope.records(InfusionInterruption).filter(
            cycle_number__isnull=False, start_date__isnull=False).values_list(
            "pk", "patient_id", "cycle_number", "start_date"):
        cycle = cycles[patient_id].get(number)
        if cycle is None:
            where = _text(_("cycle %(n)s, which is not recorded"), n=number)
        elif day < cycle["start_date"] or (cycle["end_date"] is not None and day > cycle["end_date"]):
            where = _text(_("cycle %(n)s (%(start)s to %(end)s)"), n=number, start=cycle["start_date"].isoformat(),
                          end=cycle["end_date"].isoformat() if cycle["end_date"] else "…")
        else:
            continue
        yield Hit(patient_id, pk, form=InfusionInterruption._meta.label, field="start_date",
                  params={"date": day, "cycle": where})


# ---- The study's review flags on the records (the models' review_flags / review_filter) -----------------------
@rule("TRT-009", form="treatment.InfusionInterruption", field="end_date", severity=Severity.CONFIRM,
      title=_("Infusion interrupted more than 7 days"),
      message=_("%(field)s: the infusion of cycle %(n)s was interrupted for %(days)s days (%(start)s to %(date)s). "
                "After more than 7 days the label starts a new cycle: confirm the dates, or record the new cycle."))
def long_interruption(scope: Scope) -> Iterator[Hit]:
    """BLIN-PI: an interruption of more than 7 days starts a new cycle (InfusionInterruption.review_flags)."""
    for pk, patient_id, number, start, end, days in scope.records(InfusionInterruption).filter(
            InfusionInterruption.review_filter()).values_list("pk", "patient_id", "cycle_number", "start_date",
                                                              "end_date", "duration_days"):
        yield Hit(patient_id, pk, params={"n": number, "days": days, "start": start, "date": end})


@rule("TRT-010", form="treatment.IntrathecalTherapy", field="administration_date", severity=Severity.CONFIRM,
      title=_("Intrathecal therapy outside its window"),
      message=_("%(field)s: %(date)s is %(days)s days after the end of cycle %(n)s; it is expected 14 ± 7 days after "
                "it (7 to 21 days). Confirm the date against the source, or correct it."))
def intrathecal_outside_window(scope: Scope) -> Iterator[Hit]:
    """D12: intrathecal therapy 14 ± 7 days after each cycle's end (IntrathecalTherapy.review_flags)."""
    for pk, patient_id, number, day, days in scope.records(IntrathecalTherapy).filter(
            IntrathecalTherapy.review_filter()).values_list("pk", "patient_id", "cycle_number",
                                                            "administration_date", "days_after_cycle_end"):
        yield Hit(patient_id, pk, params={"date": day, "days": days, "n": number})


@rule("TRT-011", form="treatment.AdverseEvent", field="aware_at", title=_("Serious adverse event entered late"),
      message=_("%(field)s: %(aware)s, but the serious event was entered on %(entered)s, %(delay)s later (limit 24 "
                "hours). Explain the late report, or record that the event was transcribed retrospectively from a "
                "report made in time."))
def serious_event_entered_late(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Adverse event: a serious AE is entered within 24 hours of awareness, exactly 24 h still on time;
    one transcribed retrospectively is not late (AdverseEvent.review_flags)."""
    for pk, patient_id, aware, entered in scope.records(AdverseEvent).filter(AdverseEvent.review_filter()).values_list(
            "pk", "patient_id", "aware_at", "created_at"):
        if aware is None or entered is None:
            continue
        delay = entered - aware
        hours = int(delay.total_seconds() // 3600)
        late = (_text(_("%(hours)s hours"), hours=hours) if hours < 48 else
                _text(_("%(days)s days"), days=f"{delay.days:,}"))
        yield Hit(patient_id, pk, params={"aware": timezone.localtime(aware), "entered": timezone.localtime(entered),
                                          "delay": late})


# ---- Death on the treatment forms -----------------------------------------------------------------------------
@rule("TRT-012", title=_("Death on a treatment form disagrees with the Death form"),
      message=_("%(field)s: this form records a death on %(date)s, but %(death)s. A death has one date: correct this "
                "form or the Death form."))
def death_disagrees(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Adverse event: grade 5 requires a Death record with the same date; a day "died of CRS / ICANS" is
    the date of death too. Checked when entered, but the Death form may be corrected afterwards."""
    sources = ((AdverseEvent, models.Q(grade=5), "resolution_date", "resolution_date"),
               (CrsAssessment, models.Q(death_due_to_crs=YesNo.YES), "assessment_date", "death_due_to_crs"),
               (IcansAssessment, models.Q(death_due_to_icans=YesNo.YES), "assessment_date", "death_due_to_icans"))
    for model, dead, day_field, field in sources:
        rows = scope.records(model).filter(dead, **{f"{day_field}__isnull": False}).values_list(
            "pk", "patient_id", day_field, "patient__death__death_date")
        for pk, patient_id, day, died in rows:
            if died is None or day != died:
                yield Hit(patient_id, pk, form=model._meta.label, field=field,
                          params={"date": day, "death": death_text(died)})


# ---- Eligibility ---------------------------------------------------------------------------------------------
@rule("TRT-013", form="patients.Eligibility", field="outcome", title=_("Treatment for a patient not shown eligible"),
      message=_("%(field)s: %(outcome)s, but treatment is recorded (%(what)s of %(date)s). Only eligible patients are "
                "treated: correct the data the criteria are judged from, or report the protocol deviation."))
def treated_but_not_eligible(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Eligibility: no treatment forms for a screen failure. Checked when a treatment form is opened, but
    the eligibility is recomputed when the baseline or the history is corrected afterwards."""
    first: dict[int, tuple] = {}
    for form, name in (("treatment.Debulking", "start_date"), ("treatment.BlinatumomabCycle", "start_date")):
        for patient_id, day, eligibility_id, outcome in (
                scope.records(form).filter(**{f"{name}__isnull": False})
                .exclude(patient__eligibility__outcome=Outcome.ELIGIBLE.value).order_by()
                .values("patient_id", "patient__eligibility__pk", "patient__eligibility__outcome")
                .annotate(first=models.Min(name))
                .values_list("patient_id", "first", "patient__eligibility__pk", "patient__eligibility__outcome")):
            if patient_id not in first or day < first[patient_id][0]:
                first[patient_id] = (day, form, eligibility_id, outcome)
    for patient_id, (day, form, eligibility_id, outcome) in sorted(first.items()):
        shown = (label(Eligibility, "outcome", outcome) if outcome else _text(_("no eligibility is recorded")))
        yield Hit(patient_id, eligibility_id, params={"outcome": shown, "what": form_name(form), "date": day})


# ---- Body size at each cycle ---------------------------------------------------------------------------------
@rule("TRT-014", form="treatment.BlinatumomabCycle", field="weight_kg", severity=Severity.CONFIRM,
      title=_("Weight and height give an impossible body-mass index"),
      message=_("%(field)s: %(weight)s; with the height of %(height)s cm the body-mass index is %(bmi)s kg/m², "
                "outside %(low)s–%(high)s for a child. Check both values and their units (kg, cm); the BSA and the "
                "doses are computed from them."))
def cycle_bmi(scope: Scope) -> Iterator[Hit]:
    """CLINICAL-RULES 7.1: the cycle's BSA and doses rest on its weight and height (as at baseline, PAT-008); a
    value outside its soft range is QC-001's query already."""
    for pk, patient_id, weight, height in scope.records(BlinatumomabCycle).values_list(
            "pk", "patient_id", "weight_kg", "height_cm"):
        value = implausible_bmi(weight, height)
        if value is not None and not body_size_queried(BlinatumomabCycle, weight, height):
            yield Hit(patient_id, pk, params=bmi_params(weight, height, value))


@rule("TRT-015", form="treatment.BlinatumomabCycle", field="weight_kg", severity=Severity.CONFIRM,
      title=_("Weight or height jumps from the previous measurement"),
      message=_("%(field)s: %(value)s at cycle %(n)s, against %(previous)s on the %(what)s of %(when)s. Confirm it, "
                "or correct it (pounds or inches instead of kg or cm?); the BSA and the doses are computed from it."))
def body_size_jump(scope: Scope) -> Iterator[Hit]:
    """The weight and height measured at each cycle start (CLINICAL-RULES 7.1) follow the baseline's within weeks:
    a jump by more than a quarter (weight) or a tenth (height) is a unit or typing error. A value outside its soft
    range is QC-001's query already."""
    previous: dict[int, tuple] = {
        patient_id: ("patients.Baseline", day, weight, height)
        for patient_id, day, weight, height in scope.records(Baseline).values_list(
            "patient_id", "assessment_date", "weight_kg", "height_cm")}
    by_patient = _cycles(scope, "weight_kg", "height_cm")
    for patient_id, cycles in by_patient.items():
        before = previous.get(patient_id)
        for number, cycle in sorted(cycles.items()):
            if before is not None:
                form, when, weight, height = before
                for name, was, jump in (("weight_kg", weight, WEIGHT_JUMP), ("height_cm", height, HEIGHT_JUMP)):
                    now = cycle[name]
                    if (now is not None and was and abs(float(now) - float(was)) > jump * float(was)
                            and not outside_soft_range(BlinatumomabCycle, name, now)):
                        yield Hit(patient_id, cycle["pk"], field=name, params={
                            "value": now, "previous": was, "n": number,
                            "what": form_name(form), "when": when})
            before = ("treatment.BlinatumomabCycle", cycle["start_date"], cycle["weight_kg"], cycle["height_cm"])


# ---- MRD ----------------------------------------------------------------------------------------------------
@rule("TRT-016", form="treatment.ResponseAssessment", field="mrd_pct", severity=Severity.CONFIRM,
      title=_("MRD detected below the assay's limit of detection"),
      message=_("%(field)s: %(value)s %% detected, below the assay's limit of detection (%(lod)s %%). Check both "
                "values and their unit (percent of nucleated cells: 0.01 %% = 10⁻⁴); the response is judged on them."))
def mrd_below_detection_limit(scope: Scope) -> Iterator[Hit]:
    """CLINICAL-RULES 8.1: MRD is a percent with the assay's sensitivity; a level "detected" under the limit of
    detection is a unit slip (a fraction for a percent) in one of the two."""
    for pk, patient_id, level, lod in scope.records(ResponseAssessment).filter(
            mrd_result=MrdResult.DETECTED, mrd_pct__lt=models.F("mrd_lod_pct")).values_list(
            "pk", "patient_id", "mrd_pct", "mrd_lod_pct"):
        yield Hit(patient_id, pk, params={"value": level, "lod": lod})
