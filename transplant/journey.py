"""The patient's journey on one page: a dated timeline from registration through the cycles, the transplant,
engraftment, GVHD, infections, relapse and death or the last contact, beside the schedule's marks.

Read-only and server-rendered. Each event links to the form it comes from; an event on or after day 0 also says
"day +N". The schedule's visits are grouped by phase and form, with the counts per state and the overdue, missed
and due visits named, so that five years of visits stay readable. The patient is site-scoped (another site's
answers 404) and the access is logged as on the patient page; the page runs a fixed number of queries however
many records the casebook holds (one per source read here, plus the schedule's).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from patients.models import FollowUp, Patient
from patients.models.vital import DiseaseStatus, VitalStatus
from transplant import rules
from transplant.models import (
    AcuteGvhd,
    Chimerism,
    ChronicGvhd,
    DailyCount,
    Donor,
    DonorLymphocyteInfusion,
    Infection,
    PostTransplantRelapse,
    TransplantProcedure,
    ViralLoad,
)
from transplant.models.codes import day_label
from transplant.models.monitoring import ViralResult
from transplant.models.procedure import ChronicSeverity
from transplant.summary import grade_label, neutrophil_rule, platelet_rule
from treatment.models import Debulking
from treatment.models.response import Response
from treatment.summary import treatment_summary
from trial.crf import Phase
from trial.patients import visible_patient_or_404
from trial.ranges import format_number
from trial.schedule import State, VisitState
from trial.visits import patient_schedule

# Same-day events read in this order (the infusion before the counts it starts, the death before going off study).
ORDER = {kind: position for position, kind in enumerate((
    "registration", "consent", "eligibility", "debulking", "cycle", "response", "transplant", "neutrophils",
    "platelets", "graft-failure", "infection", "viral", "agvhd", "cgvhd", "chimerism", "dli", "relapse",
    "follow-up", "withdrawal", "death", "off-study", "today"))}


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass
class Event:
    """One dated event of the journey. `tone` colours its mark: key (day 0), ok, warn, bad, or "" (neutral)."""

    on: date
    kind: str
    title: str
    detail: str = ""
    url: str = ""
    tone: str = ""
    day: int | None = None  # relative to day 0, set for events on or after it
    links: list[Link] = field(default_factory=list)  # further records behind the event (e.g. the peak load)
    lists_contacts: bool = False  # the last contact, under which every follow-up contact is listed

    @property
    def day_label(self) -> str:
        return day_label(self.day) if self.day is not None else ""


def _url(subject_id: str, record) -> str:
    return reverse("casebook:form", args=[subject_id, record.crf_slug(), record.pk])


def _dates(start: date | None, end: date | None) -> str:
    if start is None:
        return ""
    return f"{start.isoformat()} – {end.isoformat() if end else _('ongoing')}"


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def _relative(day: date | None, day0: date | None) -> str:
    """“2020-07-05 (day +20)”; the date alone before the transplant."""
    if day is None:
        return ""
    if day0 is None or day < day0:
        return day.isoformat()
    return f"{day.isoformat()} ({day_label(rules.day_relative(day, day0))})"


# ---- The events ------------------------------------------------------------------------------------------------
def _enrollment_events(patient: Patient, subject: str) -> list[Event]:
    events = []
    registration = getattr(patient, "registration", None)
    if registration is not None and registration.registration_date:
        age = (_("%(y)s y %(m)s m at registration") % {"y": registration.age_years, "m": registration.age_months}
               if registration.age_years is not None else "")
        events.append(Event(registration.registration_date, "registration", _("Registration"),
                            _join(f"{patient.site.code} · {patient.site.name}", age), _url(subject, registration)))
    consent = getattr(patient, "consent", None)
    if consent is not None and consent.consent_date:
        events.append(Event(consent.consent_date, "consent", _("Consent"),
                            _("version %(v)s") % {"v": consent.consent_version} if consent.consent_version else "",
                            _url(subject, consent)))
        if consent.withdrawal_date:
            events.append(Event(consent.withdrawal_date, "withdrawal", _("Consent withdrawn"),
                                consent.withdrawal_reason, _url(subject, consent), tone="bad"))
    eligibility = getattr(patient, "eligibility", None)
    if eligibility is not None and eligibility.assessment_date:
        if eligibility.is_eligible:
            title, detail, tone = _("Eligible"), "", "ok"
        elif eligibility.is_screen_failure:
            title, tone = _("Screen failure"), "bad"
            detail = _("not met: %(criteria)s") % {"criteria": "; ".join(eligibility.failed_wording())}
        else:
            title, detail, tone = _("Eligibility review"), _("waiting for data"), "warn"
        events.append(Event(eligibility.assessment_date, "eligibility", title, detail, _url(subject, eligibility),
                            tone=tone))
    return events


def _grade_words(grade: int | None, not_evaluable: str = "") -> str:
    if not_evaluable:
        return _("not evaluable")
    if grade is None:
        return _("not assessed")
    return _("grade %(g)s") % {"g": grade}


def _treatment_events(patient: Patient, user, subject: str) -> list[Event]:
    events = [Event(d.start_date, "debulking", _("Debulking chemotherapy"), _dates(d.start_date, d.end_date),
                    _url(subject, d))
              for d in Debulking.objects.visible_to(user).filter(patient=patient).order_by("start_date", "pk")
              if d.start_date]
    summary = treatment_summary(patient, user)
    for row in summary.cycles if summary is not None else []:
        cycle = row.cycle
        if cycle.start_date is None:
            continue
        stopped = (_("discontinued early: %(reason)s") % {"reason": cycle.get_discontinuation_reason_display()}
                   if cycle.discontinued_early == "Y" else "")
        detail = _join(_dates(cycle.start_date, cycle.end_date),
                       _("worst CRS %(g)s") % {"g": _grade_words(row.worst_crs, row.crs_not_evaluable)},
                       _("worst ICANS %(g)s") % {"g": _grade_words(row.worst_icans)}, stopped)
        tone = "bad" if (row.worst_crs or 0) >= 3 or (row.worst_icans or 0) >= 3 else ("warn" if stopped else "")
        events.append(Event(cycle.start_date, "cycle", _("Blinatumomab cycle %(n)s") % {"n": cycle.cycle_number},
                            detail, _url(subject, cycle), tone=tone))
        response = row.response
        if response is not None and response.assessment_date:
            label = response.get_response_display() if response.response else _("not derived yet")
            events.append(Event(response.assessment_date, "response",
                                _("Response after cycle %(n)s") % {"n": response.cycle_number}, label,
                                _url(subject, response), tone="ok" if response.response == Response.CR else "warn"))
    return events


def _transplant_events(procedure: TransplantProcedure, donor: Donor | None, engraftment_counts: dict[date, int],
                       subject: str) -> list[Event]:
    day0 = procedure.transplant_date
    procedure_url = _url(subject, procedure)
    donor_words = _join(donor.get_donor_type_display() if donor and donor.donor_type else "",
                        _("HLA %(n)s/10") % {"n": donor.hla_match} if donor and donor.hla_match is not None else "")
    links = [Link(_("donor"), _url(subject, donor))] if donor else []
    events = [Event(day0, "transplant", _("Transplant (day 0)"), donor_words or _("donor not entered"), procedure_url,
                    tone="key", links=links)]
    for kind, title, day, rule in (("neutrophils", _("Neutrophil engraftment"), procedure.neutrophil_engraftment_day,
                                    neutrophil_rule()),
                                   ("platelets", _("Platelet engraftment"), procedure.platelet_engraftment_day,
                                    platelet_rule())):
        if day is not None:
            on = day0 + timedelta(days=day)
            count = engraftment_counts.get(on)
            url = reverse("casebook:form", args=[subject, DailyCount.crf_slug(), count]) if count else procedure_url
            events.append(Event(on, kind, title, capfirst(rule), url, tone="ok"))
    if procedure.primary_graft_failure:
        events.append(Event(day0 + timedelta(days=rules.GRAFT_FAILURE_DAY), "graft-failure",
                            _("Primary graft failure"),
                            _("no neutrophil engraftment by day +%(day)s") % {"day": rules.GRAFT_FAILURE_DAY},
                            procedure_url, tone="bad"))
    return events


def _stages(record: AcuteGvhd) -> str:
    return _("skin %(skin)s · liver %(liver)s · upper GI %(upper)s · lower GI %(lower)s") % {
        "skin": record.skin_stage, "liver": "—" if record.liver_stage is None else record.liver_stage,
        "upper": record.upper_gi_stage, "lower": "—" if record.lower_gi_stage is None else record.lower_gi_stage}


def _acute_gvhd_events(records: list[AcuteGvhd], subject: str) -> list[Event]:
    """Onset (the first grade ≥ I) and, when later and higher, the first assessment at the worst grade."""
    if not records:
        return []
    onset = records[0]
    worst = max(records, key=lambda r: (r.overall_grade, -r.assessment_date.toordinal()))
    tone = "bad" if worst.overall_grade >= 3 else "warn"
    title = _("Acute GVHD onset: %(grade)s") % {"grade": grade_label(onset.overall_grade)}
    detail = _stages(onset)
    if worst is onset:
        detail = _join(detail, _("no higher grade since"))
    events = [Event(onset.assessment_date, "agvhd", title, detail, _url(subject, onset), tone=tone)]
    if worst is not onset and worst.overall_grade > onset.overall_grade:
        events.append(Event(worst.assessment_date, "agvhd",
                            _("Acute GVHD, worst: %(grade)s") % {"grade": grade_label(worst.overall_grade)},
                            _stages(worst), _url(subject, worst), tone=tone))
    return events


def _chronic_gvhd_events(records: list[ChronicGvhd], subject: str) -> list[Event]:
    if not records:
        return []
    onset = records[0]
    worst = max(records, key=lambda r: (rules.SEVERITY_ORDER[rules.ChronicSeverity(r.severity)],
                                        -r.assessment_date.toordinal()))
    tone = "bad" if worst.severity == ChronicSeverity.SEVERE else "warn"
    events = [Event(onset.assessment_date, "cgvhd",
                    _("Chronic GVHD onset: %(severity)s") % {"severity": onset.get_severity_display()},
                    _("none more severe since") if worst is onset else "", _url(subject, onset), tone=tone)]
    if worst is not onset and worst.severity != onset.severity:
        events.append(Event(worst.assessment_date, "cgvhd",
                            _("Chronic GVHD, worst: %(severity)s") % {"severity": worst.get_severity_display()},
                            "", _url(subject, worst), tone=tone))
    return events


def _load(record: ViralLoad) -> str:
    if record.load is None:
        return _("detected")
    return f"{format_number(record.load)} {record.get_load_unit_display() if record.load_unit else ''}".strip()


def _viral_events(records: list[ViralLoad], day0: date | None, subject: str) -> list[Event]:
    """Reactivations: a run of detected results of one virus in one specimen, until it is next not detected."""
    runs: dict[tuple[str, str], list[ViralLoad]] = {}
    episodes: list[tuple[list[ViralLoad], ViralLoad | None]] = []
    for record in records:  # in date order
        key = (record.virus, record.specimen)
        if record.result == ViralResult.DETECTED:
            runs.setdefault(key, []).append(record)
        elif record.result == ViralResult.NOT_DETECTED and key in runs:
            episodes.append((runs.pop(key), record))
    episodes.extend((run, None) for run in runs.values())
    events = []
    for run, cleared in episodes:
        first = run[0]
        peak = max(run, key=lambda r: (r.load or 0, -r.sample_date.toordinal()))
        treated = any(r.preemptive_treatment == "Y" for r in run)
        parts = [
            _("detected once") if len(run) == 1 else _("detected on %(n)s samples until %(last)s") % {
                "n": len(run), "last": _relative(run[-1].sample_date, day0)},
            _("peak %(load)s") % {"load": _load(peak)} if peak.load is not None else "",
            _("pre-emptive treatment") if treated else "",
            _("not detected on %(date)s") % {"date": _relative(cleared.sample_date, day0)} if cleared
            else _("not yet shown cleared"),
        ]
        links = [Link(_("peak"), _url(subject, peak))] if peak is not first else []
        if cleared is not None:
            links.append(Link(_("cleared"), _url(subject, cleared)))
        title = _("%(virus)s reactivation (%(specimen)s)") % {
            "virus": first.virus.upper() if first.virus != "adv" else _("Adenovirus"),
            "specimen": first.get_specimen_display().split(" (")[0].lower()}
        events.append(Event(first.sample_date, "viral", title, _join(*parts), _url(subject, first),
                            tone="warn", links=links))
    return events


def _monitoring_events(user, patient: Patient, day0: date | None, subject: str) -> list[Event]:
    events = []
    for infection in Infection.objects.visible_to(user).filter(patient=patient).order_by("onset_date", "pk"):
        resolved = (_("resolved %(date)s") % {"date": _relative(infection.resolution_date, day0)}
                    if infection.resolution_date else _("ongoing"))
        what = infection.pathogen or (infection.get_pathogen_type_display() if infection.pathogen_type else "")
        syndrome = infection.get_syndrome_display() if infection.syndrome else ""
        events.append(Event(infection.onset_date, "infection", _("Infection: %(what)s") % {"what": what or syndrome},
                            _join(syndrome if what else "", infection.syndrome_detail, resolved),
                            _url(subject, infection), tone="warn"))
    for dli in DonorLymphocyteInfusion.objects.visible_to(user).filter(patient=patient).order_by("infusion_date"):
        dose = (_("CD3+ %(dose)s ×10⁶/kg") % {"dose": format_number(dli.cd3_dose_10e6_kg)}
                if dli.cd3_dose_10e6_kg is not None else "")
        events.append(Event(dli.infusion_date, "dli", _("Donor lymphocyte infusion"),
                            _join(dli.get_indication_display() if dli.indication else "", dli.indication_detail, dose),
                            _url(subject, dli)))
    for chimerism in Chimerism.objects.visible_to(user).filter(patient=patient, lost_complete=True):
        fractions = _join(
            _("whole blood %(pct)s %%") % {"pct": format_number(chimerism.whole_blood_donor_pct)}
            if chimerism.whole_blood_donor_pct is not None else "",
            _("CD3+ %(pct)s %%") % {"pct": format_number(chimerism.cd3_donor_pct)}
            if chimerism.cd3_donor_pct is not None else "")
        events.append(Event(chimerism.sample_date, "chimerism", _("Loss of complete chimerism"),
                            _join(chimerism.get_timepoint_months_display(), _("mixed"), fractions),
                            _url(subject, chimerism), tone="bad"))
    for relapse in PostTransplantRelapse.objects.visible_to(user).filter(patient=patient).order_by("relapse_date"):
        events.append(Event(relapse.relapse_date, "relapse", _("Relapse after transplant"),
                            _join(relapse.get_relapse_site_display() if relapse.relapse_site else "",
                                  relapse.get_cd19_status_display() if relapse.cd19_status else "", relapse.therapy),
                            _url(subject, relapse), tone="bad"))
    return events


def _follow_up_events(contacts: list[FollowUp], subject: str) -> tuple[list[Event], list[tuple[FollowUp, str]]]:
    """The last contact as an event (with every contact listed under it), and a contact that reports a relapse."""
    if not contacts:
        return [], []
    listed = [(c, _url(subject, c)) for c in contacts]
    last = contacts[-1]
    events = [Event(c.contact_date, "follow-up", _("Follow-up: relapse reported"),
                    c.get_disease_status_display().split(" (")[0], _url(subject, c), tone="warn")
              for c in contacts[:-1] if c.disease_status == DiseaseStatus.RELAPSED]
    status = _join(last.get_vital_status_display().split(" (")[0] if last.vital_status else "",
                   last.get_disease_status_display().split(" (")[0] if last.disease_status else "")
    tone = "bad" if last.vital_status == VitalStatus.DEAD or last.disease_status == DiseaseStatus.RELAPSED else ""
    events.append(Event(last.contact_date, "follow-up", _("Last contact"), status, _url(subject, last), tone=tone,
                        lists_contacts=len(contacts) > 1))
    return events, listed


def _vital_events(patient: Patient, subject: str) -> list[Event]:
    events = []
    death = getattr(patient, "death", None)
    if death is not None and death.death_date:
        events.append(Event(death.death_date, "death", _("Death"),
                            _join(death.get_cause_display() if death.cause else "", death.cause_detail),
                            _url(subject, death), tone="bad"))
    off = getattr(patient, "off_study", None)
    if off is not None and off.off_study_date:
        events.append(Event(off.off_study_date, "off-study", _("Off study"),
                            _join(off.get_off_study_reason_display() if off.off_study_reason else "",
                                  off.reason_detail), _url(subject, off), tone="bad"))
    return events


@dataclass
class Journey:
    events: list[Event]
    day0: date | None
    contacts: list[tuple[FollowUp, str]]  # every follow-up contact with its form's URL, under the last contact
    closed: bool  # dead, off study or consent withdrawn: nothing more is expected


def patient_journey(patient: Patient, user, *, today: date | None = None) -> Journey:
    """The patient's dated events in order. One query per source, whatever the number of records."""
    today = today or timezone.localdate()
    subject = patient.subject_id
    # The one-per-patient forms in one read: registration, consent, eligibility, death, off-study.
    patient = (Patient.objects.visible_to(user).select_related(
        "site", "registration", "consent", "eligibility", "death", "off_study").get(pk=patient.pk))
    events = _enrollment_events(patient, subject) + _treatment_events(patient, user, subject)
    procedure = TransplantProcedure.objects.visible_to(user).filter(patient=patient).first()
    day0 = procedure.transplant_date if procedure is not None else None
    if procedure is not None and day0 is not None:
        donor = Donor.objects.visible_to(user).filter(patient=patient).order_by("pk").first()
        engrafted = [day0 + timedelta(days=d) for d in (procedure.neutrophil_engraftment_day,
                                                        procedure.platelet_engraftment_day) if d is not None]
        counts = dict(DailyCount.objects.visible_to(user).filter(patient=patient, count_date__in=engrafted)
                      .values_list("count_date", "pk")) if engrafted else {}
        events += _transplant_events(procedure, donor, counts, subject)
        events += _acute_gvhd_events(list(AcuteGvhd.objects.visible_to(user).filter(
            patient=patient, overall_grade__gte=1, assessment_date__isnull=False).order_by("assessment_date", "pk")),
            subject)
        events += _chronic_gvhd_events(list(ChronicGvhd.objects.visible_to(user).filter(
            patient=patient, severity__in=[ChronicSeverity.MILD, ChronicSeverity.MODERATE, ChronicSeverity.SEVERE],
            assessment_date__isnull=False).order_by("assessment_date", "pk")), subject)
        events += _viral_events(list(ViralLoad.objects.visible_to(user).filter(
            patient=patient, sample_date__isnull=False).only(
            "pk", "sample_date", "virus", "specimen", "result", "load", "load_unit", "preemptive_treatment")
            .order_by("sample_date", "pk")), day0, subject)
        events += _monitoring_events(user, patient, day0, subject)
    follow_ups, contacts = _follow_up_events(list(FollowUp.objects.visible_to(user).filter(
        patient=patient, contact_date__isnull=False).order_by("contact_date", "pk")), subject)
    events += follow_ups + _vital_events(patient, subject)
    closed = any(e.kind in ("death", "off-study", "withdrawal") for e in events)
    if not closed:
        last_seen = contacts[-1][0].contact_date if contacts else None
        since = (_("%(n)s days since the last contact") % {"n": (today - last_seen).days}
                 if last_seen is not None and last_seen < today else "")
        events.append(Event(today, "today", _("Today"), since, tone="now"))
    events = [e for e in events if e.on is not None]
    events.sort(key=lambda e: (e.on, ORDER[e.kind]))
    if day0 is not None:
        for event in events:
            if event.on >= day0:
                event.day = rules.day_relative(event.on, day0)
    return Journey(events=events, day0=day0, contacts=contacts, closed=closed)


# ---- The schedule's marks ------------------------------------------------------------------------------------
STATES = (State.DONE, State.OVERDUE, State.MISSED, State.DUE, State.EXPECTED, State.NOT_APPLICABLE)
LISTED = (State.OVERDUE, State.MISSED, State.DUE)  # named one by one; the others are counted


def state_label(state: State) -> str:
    return {State.EXPECTED: _("expected"), State.DUE: _("due"), State.DONE: _("done"), State.MISSED: _("missed"),
            State.OVERDUE: _("overdue"), State.NOT_APPLICABLE: _("not applicable")}[state]


@dataclass(frozen=True)
class OpenRun:
    """Open visits of one form in a row, all in one state (e.g. 33 weekly viral loads overdue one after the other),
    said in one line; a visit recorded as not done is said alone, with its reason."""

    state: str
    label: str
    first: VisitState
    last: VisitState
    count: int

    @property
    def reason(self) -> str:
        return self.first.reason if self.count == 1 else ""


@dataclass
class Family:
    """The visits of one form (daily counts, viral loads, follow-up...): counts per state, the open ones named."""

    title: str
    form: str
    counts: list[tuple[str, str, int]]  # (state, label, number), states with none left out
    runs: list[OpenRun]
    late: int  # done after their window closed
    total: int


def open_runs(members: list[VisitState]) -> list[OpenRun]:
    """The overdue, missed and due visits of a form in target order, consecutive ones in one state together."""
    runs: list[OpenRun] = []
    previous: VisitState | None = None
    for visit in members:
        if visit.state not in LISTED:
            previous = None
            continue
        last = runs[-1] if runs else None
        if (last is not None and previous is not None and last.last is previous and visit.state == last.state
                and visit.state != State.MISSED):
            runs[-1] = OpenRun(last.state, last.label, last.first, visit, last.count + 1)
        else:
            runs.append(OpenRun(visit.state.value, state_label(visit.state), visit, visit, 1))
        previous = visit
    return runs


@dataclass
class PhaseMarks:
    label: str
    families: list[Family]


@dataclass
class ScheduleMarks:
    phases: list[PhaseMarks]
    totals: list[tuple[str, str, int]]

    def count(self, state: str) -> int:
        return next((n for s, _label, n in self.totals if s == state), 0)

    @property
    def overdue(self) -> int:
        return self.count(State.OVERDUE)

    @property
    def missed(self) -> int:
        return self.count(State.MISSED)

    @property
    def due(self) -> int:
        return self.count(State.DUE)


def _form_title(label: str) -> tuple[str, str]:
    """(phase, title) of a scheduled form: its casebook phase and its name as the casebook writes it."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return "", label
    meta = model._meta
    name = meta.verbose_name_plural if getattr(model, "crf_repeating", False) else meta.verbose_name
    return getattr(model, "crf_phase", ""), capfirst(str(name))


def schedule_marks(visits: list[VisitState]) -> ScheduleMarks:
    """The visits grouped by study phase, then form (in the order each first falls due)."""
    by_form: dict[str, list[VisitState]] = defaultdict(list)
    for visit in sorted(visits, key=lambda v: (v.target, v.key)):
        by_form[visit.form].append(visit)
    phases: dict[str, list[Family]] = defaultdict(list)
    for form, members in by_form.items():
        phase, title = _form_title(form)
        counted = Counter(v.state for v in members)
        phases[phase].append(Family(
            title=title, form=form,
            counts=[(s.value, state_label(s), counted[s]) for s in STATES if counted[s]],
            runs=open_runs(members),
            late=sum(1 for v in members if v.state == State.DONE and v.timing == "late"),
            total=len(members)))
    order = [p.value for p in Phase]
    grouped = [PhaseMarks(str(Phase(p).label) if p in order else _("Other"), phases[p])
               for p in sorted(phases, key=lambda p: order.index(p) if p in order else len(order))]
    everything = Counter(v.state for v in visits)
    return ScheduleMarks(grouped, [(s.value, state_label(s), everything[s]) for s in STATES if everything[s]])


@login_required
def journey(request: HttpRequest, subject_id: str) -> HttpResponse:
    """The journey page: the timeline beside the schedule's marks."""
    patient = visible_patient_or_404(request.user, subject_id, path=request.path)
    today = timezone.localdate()
    found = patient_journey(patient, request.user, today=today)
    return render(request, "transplant/journey.html", {
        "patient": patient, "journey": found, "marks": schedule_marks(patient_schedule(patient, as_of=today)),
        "today": today, "today_day": day_label(rules.day_relative(today, found.day0)) if found.day0 else "",
    })
