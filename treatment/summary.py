"""The patient's treatment at a glance: per cycle the dose, CRS, ICANS, serious toxicity and response.

Shown on the patient page (a panel registered with trial.panels); every query is site-scoped.
"""

from dataclasses import dataclass, field

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


@dataclass
class TreatmentSummary:
    cycles: list[CycleSummary]
    worst_crs: int | None
    worst_icans: int | None
    best_response: str | None
    adverse_events: int
    serious_adverse_events: int

    @property
    def best_response_label(self) -> str:
        return str(Response(self.best_response).label) if self.best_response else ""


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
    best = rules.best_response(r.response.response for r in rows.values() if r.response)
    return TreatmentSummary(
        cycles=list(rows.values()),
        worst_crs=rules.worst_grade(r.worst_crs for r in rows.values()),
        worst_icans=rules.worst_grade(r.worst_icans for r in rows.values()),
        best_response=best.value if best else None,
        adverse_events=len(events),
        serious_adverse_events=sum(1 for _n, _g, serious in events if serious == "Y"),
    )


@patient_panel(order=200)
def treatment_panel(patient, user):
    summary = treatment_summary(patient, user)
    return None if summary is None else ("treatment/_summary.html", {"treatment": summary})
