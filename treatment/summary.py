"""The patient's treatment at a glance: per cycle the dose, CRS, ICANS, serious toxicity and response.

Shown on the patient page (a panel registered with trial.panels); every query is site-scoped.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from patients.models import Consent, Death
from treatment import rules
from treatment.models import AdverseEvent, BlinatumomabCycle, CrsAssessment, IcansAssessment, ResponseAssessment
from treatment.models.response import Response
from trial.panels import patient_panel


@dataclass
class CycleSummary:
    cycle: BlinatumomabCycle
    crs_episodes: list[rules.CrsEpisode] = field(default_factory=list)
    worst_crs: int | None = None
    worst_icans: int | None = None  # after the start of treatment: a baseline assessment is not toxicity
    baseline_icans: int | None = None  # the pre-treatment (baseline) assessment's grade, shown apart when abnormal
    severe_adverse_events: int = 0  # grade 3 or more
    response: ResponseAssessment | None = None
    crs_not_evaluable: str = ""  # why CRS could not be assessed (the patient died or left first), else ""
    response_not_assessable: str = ""  # why there is no response assessment (died or left before it), else ""


@dataclass
class TreatmentSummary:
    cycles: list[CycleSummary]
    worst_crs: int | None
    worst_icans: int | None
    best_response: str | None
    adverse_events: int
    serious_adverse_events: int
    best_response_reason: str = ""  # e.g. "died before assessment": a treatment failure counted as NR (§8.3)

    @property
    def best_response_label(self) -> str:
        return str(Response(self.best_response).label) if self.best_response else ""


def study_exit(patient, user) -> rules.StudyExit | None:
    """The patient's death, or else the withdrawal of consent: the day they left the study, if they did."""
    died = Death.objects.visible_to(user).filter(patient=patient).values_list("death_date", flat=True).first()
    if died:
        return rules.StudyExit(rules.ExitKind.DEATH, died)
    left = (Consent.objects.visible_to(user).filter(patient=patient, withdrawal_date__isnull=False)
            .values_list("withdrawal_date", flat=True).first())
    return rules.StudyExit(rules.ExitKind.WITHDRAWAL, left) if left else None


def _exit_reasons(exit_: rules.StudyExit) -> tuple[str, str]:
    """(why CRS was not evaluable, why the response was not assessable), in words."""
    if exit_.kind == rules.ExitKind.DEATH:
        return (_("died on %(date)s before any CRS assessment") % {"date": exit_.on.isoformat()},
                _("died before assessment"))
    return (_("left the study on %(date)s before any CRS assessment") % {"date": exit_.on.isoformat()},
            _("left the study before assessment"))


def treatment_summary(patient, user) -> TreatmentSummary | None:
    """Worst CRS per cycle and overall (D10: worst episode), worst ICANS, best response (CR > PR > NR)."""
    cycles = list(BlinatumomabCycle.objects.visible_to(user).filter(patient=patient).order_by("cycle_number"))
    if not cycles:
        return None
    rows = {c.cycle_number: CycleSummary(c) for c in cycles}
    crs_days: dict[int, list] = {}
    for number, day, grade in (CrsAssessment.objects.visible_to(user).filter(patient=patient)
                               .values_list("cycle_number", "assessment_date", "crs_grade")):
        if number in rows and grade is not None:
            crs_days.setdefault(number, []).append((day, grade))
    for number, days in crs_days.items():
        rows[number].crs_episodes = rules.crs_episodes(days)
        rows[number].worst_crs = rules.worst_grade(e.grade for e in rows[number].crs_episodes) or 0
    for number, grade, baseline in (IcansAssessment.objects.visible_to(user).filter(patient=patient)
                                    .values_list("cycle_number", "icans_grade", "baseline")):
        if number not in rows:
            continue
        if baseline == "Y":  # before the first infusion: the child's own state, not a toxicity of the cycle
            rows[number].baseline_icans = rules.worst_grade([rows[number].baseline_icans, grade])
        else:
            rows[number].worst_icans = rules.worst_grade([rows[number].worst_icans, grade])
    events = list(AdverseEvent.objects.visible_to(user).filter(patient=patient)
                  .values_list("cycle_number", "grade", "serious"))
    for number, grade, _serious in events:
        if number in rows and grade >= 3:
            rows[number].severe_adverse_events += 1
    for assessment in ResponseAssessment.objects.visible_to(user).filter(patient=patient):
        if assessment.cycle_number in rows:
            rows[assessment.cycle_number].response = assessment
    exit_ = study_exit(patient, user)
    exited_before_assessment, response_reason = False, ""
    if exit_ is not None:
        crs_reason, response_reason = _exit_reasons(exit_)
        for number, row in rows.items():
            cycle = row.cycle
            if rules.crs_not_evaluable(assessed_days=len(crs_days.get(number, [])), cycle_start=cycle.start_date,
                                       cycle_end=cycle.end_date, exit_=exit_):
                row.crs_not_evaluable = crs_reason
            if rules.response_not_assessable(has_response=row.response is not None, cycle_start=cycle.start_date,
                                             exit_=exit_):
                row.response_not_assessable = response_reason
                exited_before_assessment = True
    best = rules.best_response_counting_exits((r.response.response for r in rows.values() if r.response),
                                              exited_before_assessment=exited_before_assessment)
    counted_as_failure = best == rules.Response.NR and not any(r.response for r in rows.values())
    return TreatmentSummary(
        cycles=list(rows.values()),
        worst_crs=rules.worst_grade(r.worst_crs for r in rows.values()),
        worst_icans=rules.worst_grade(r.worst_icans for r in rows.values()),
        best_response=best.value if best else None,
        adverse_events=len(events),
        serious_adverse_events=sum(1 for _n, _g, serious in events if serious == "Y"),
        best_response_reason=response_reason if counted_as_failure else "",
    )


@patient_panel(order=200)
def treatment_panel(patient, user):
    summary = treatment_summary(patient, user)
    return None if summary is None else ("treatment/_summary.html", {"treatment": summary})
