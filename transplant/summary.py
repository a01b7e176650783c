"""The patient's transplant at a glance: day 0 and donor, the graft's CD34+ dose, engraftment, graft failure, the
days without counts, acute and chronic GVHD, chimerism per timepoint and a relapse after transplant.

Shown on the patient page (a panel registered with trial.panels, after the treatment summary). Everything derived
is read from where the engine stores it (the transplant procedure's derived values, each chimerism's status and
loss flag), never recomputed here; every query is site-scoped and their number does not depend on the casebook's
size (five queries, or one when the patient has no transplant procedure).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.urls import reverse
from django.utils.translation import gettext as _

from transplant import rules
from transplant.models import Chimerism, Donor, Graft, PostTransplantRelapse, TransplantProcedure
from transplant.models.codes import day_label
from transplant.models.procedure import ChronicSeverity
from trial.panels import patient_panel


def form_url(subject_id: str, record) -> str:
    return reverse("casebook:form", args=[subject_id, record.crf_slug(), record.pk])


def grade_label(grade: int | None) -> str:
    """A MAGIC grade as clinicians write it: “Grade III”; 0 is “Grade 0 (no acute GVHD)”."""
    if grade is None:
        return ""
    if grade == 0:
        return _("Grade 0 (no acute GVHD)")
    return _("Grade %(grade)s") % {"grade": rules.ROMAN[grade]}


def neutrophil_rule() -> str:
    return _("first of %(days)s consecutive days with ANC > %(anc)s/µL after the nadir") % {
        "days": rules.NEUTROPHIL_RUN_DAYS, "anc": rules.NEUTROPHIL_THRESHOLD_PER_UL}


def platelet_rule() -> str:
    return _("first of %(days)s days > %(plt)s ×10⁹/L without transfusion") % {
        "days": rules.PLATELET_RUN_DAYS, "plt": rules.PLATELET_THRESHOLD_10E9_L}


@dataclass(frozen=True)
class Engrafted:
    """An engraftment (or its absence) as the panel and the journey say it."""

    day: int | None
    on: date | None
    rule: str

    @property
    def label(self) -> str:
        return day_label(self.day) if self.day is not None else ""


@dataclass(frozen=True)
class OrganStage:
    organ: str
    stage: int | None


@dataclass
class TransplantSummary:
    procedure: TransplantProcedure
    procedure_url: str
    donor: Donor | None
    graft: Graft | None
    neutrophils: Engrafted
    platelets: Engrafted
    acute_grade: str
    acute_organs: list[OrganStage]
    chimerism: list[tuple[Chimerism, str]] = field(default_factory=list)  # (record, its form's URL)
    relapse: PostTransplantRelapse | None = None
    relapse_url: str = ""
    donor_url: str = ""
    graft_url: str = ""
    journey_url: str = ""
    daily_counts_url: str = ""

    @property
    def day0(self) -> date | None:
        return self.procedure.transplant_date

    @property
    def lost_chimerism(self) -> bool:
        return any(record.lost_complete for record, _url in self.chimerism)

    @property
    def missing_days(self) -> str:
        return ", ".join(day_label(day) for day in self.procedure.counts_missing_days or [])

    @property
    def graft_failure(self) -> str:
        failed = self.procedure.primary_graft_failure
        if failed is None:
            return ""
        if failed:
            return _("Yes: no neutrophil engraftment by day +%(day)s") % {"day": rules.GRAFT_FAILURE_DAY}
        return _("No")

    def _day(self, on: date | None) -> str:
        return day_label(rules.day_relative(on, self.day0)) if on is not None and self.day0 is not None else ""

    @property
    def acute_onset_day(self) -> str:
        return self._day(self.procedure.agvhd_onset_date)

    @property
    def chronic_onset_day(self) -> str:
        return self._day(self.procedure.cgvhd_onset_date)

    @property
    def relapse_day(self) -> str:
        return self._day(self.relapse.relapse_date) if self.relapse is not None else ""

    @property
    def chronic(self) -> str:
        worst = self.procedure.cgvhd_worst
        return str(ChronicSeverity(worst).label) if worst else ""


def _engrafted(day: int | None, day0: date | None, rule: str) -> Engrafted:
    on = day0 + timedelta(days=day) if day is not None and day0 is not None else None
    return Engrafted(day=day, on=on, rule=rule)


def transplant_summary(patient, user) -> TransplantSummary | None:
    """The patient's transplant procedure with what is derived from the later forms; None without one."""
    procedure = TransplantProcedure.objects.visible_to(user).filter(patient=patient).first()
    if procedure is None:
        return None
    subject = patient.subject_id
    donor = Donor.objects.visible_to(user).filter(patient=patient).order_by("pk").first()
    graft = Graft.objects.visible_to(user).filter(patient=patient).order_by("pk").first()
    chimerism = list(Chimerism.objects.visible_to(user).filter(patient=patient).order_by("timepoint_months", "pk"))
    relapse = (PostTransplantRelapse.objects.visible_to(user).filter(patient=patient)
               .order_by("relapse_date", "pk").first())
    day0 = procedure.transplant_date
    return TransplantSummary(
        procedure=procedure,
        procedure_url=form_url(subject, procedure),
        donor=donor,
        graft=graft,
        neutrophils=_engrafted(procedure.neutrophil_engraftment_day, day0, neutrophil_rule()),
        platelets=_engrafted(procedure.platelet_engraftment_day, day0, platelet_rule()),
        acute_grade=grade_label(procedure.agvhd_max_grade),
        acute_organs=[OrganStage(_("skin"), procedure.agvhd_max_skin),
                      OrganStage(_("liver"), procedure.agvhd_max_liver),
                      OrganStage(_("upper GI"), procedure.agvhd_max_upper_gi),
                      OrganStage(_("lower GI"), procedure.agvhd_max_lower_gi)],
        chimerism=[(record, form_url(subject, record)) for record in chimerism],
        relapse=relapse,
        relapse_url=form_url(subject, relapse) if relapse else "",
        donor_url=form_url(subject, donor) if donor else "",
        graft_url=form_url(subject, graft) if graft else "",
        journey_url=reverse("transplant:journey", args=[subject]),
        daily_counts_url=reverse("transplant:daily-counts", args=[subject]),
    )


@patient_panel(order=300)
def transplant_panel(patient, user):
    summary = transplant_summary(patient, user)
    return None if summary is None else ("transplant/_summary.html", {"transplant": summary})
