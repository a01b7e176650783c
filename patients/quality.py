"""Data-quality rules of the patient's own forms: consent, birth, history, body size, vital status, identity.

Each rule reads the database set-based (one to three queries for every patient of the scope, trial.quality) and
points at the form and field a coordinator corrects. What holds for every form (soft ranges, dates after the
cut-off, death or off-study, dates in the future, overdue visits) is in trial.quality.generic and not repeated.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from django.db import models
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from patients import rules
from patients.models import Baseline, Consent, DiagnosisHistory, FollowUp, OffStudy, Registration, Relapse
from patients.models.diagnosis import InductionResponse, MrdHighRisk, classify_relapse
from patients.models.vital import OffStudyReason, VitalStatus
from trial import audit, visits
from trial.quality import Hit, Scope, Severity, rule
from trial.ranges import limits_of

# A body-mass index outside this range (kg/m²) is a weight or height in the wrong unit or field, not a child: a
# newborn is about 13 and severe obesity in adolescence about 40; inches for centimetres or pounds for kilograms
# (or the two fields swapped) land far outside it.
PLAUSIBLE_BMI = (10, 40)
# A leukaemia diagnosed in the first four weeks of life is congenital, and rare: more often the date of birth was
# typed as the diagnosis date.
NEONATAL_DAYS = 28
# Forms whose dates are not study procedures that consent must precede: the registration (the subject ID comes
# first), the consent itself, relapses (the disease's past) and the baseline (its tests may be routine care from
# up to 14 days before registration, the screening window of patients.schedule).
_NOT_A_STUDY_PROCEDURE = frozenset({"patients.Registration", "patients.Consent", "patients.Relapse",
                                    "patients.Baseline"})


def label(model: type[models.Model], name: str, value: object):
    """A stored value as people read it (a choice label) in the language the message is rendered in."""
    return lazy(lambda: audit.display_value(model, name, value), str)()


def form_name(form: str):
    """A form's name in the language the message is rendered in."""
    return lazy(visits.form_label, str)(form)


def bmi(weight_kg, height_cm) -> float | None:
    """Body-mass index, kg/m² (None while either value is missing)."""
    if weight_kg is None or height_cm is None or height_cm <= 0:
        return None
    return float(weight_kg) / (float(height_cm) / 100) ** 2


def implausible_bmi(weight_kg, height_cm) -> float | None:
    """The BMI when it is outside PLAUSIBLE_BMI (a unit or typing error), else None."""
    value = bmi(weight_kg, height_cm)
    if value is None or PLAUSIBLE_BMI[0] <= value <= PLAUSIBLE_BMI[1]:
        return None
    return value


def outside_soft_range(model: type[models.Model], name: str, value) -> bool:
    """Whether QC-001 already asks about this value (outside the field's soft range): a rule on the same field
    then stays silent rather than ask twice."""
    limits = limits_of(model._meta.get_field(name))
    return limits is not None and limits.outside_soft(value)


def body_size_queried(model: type[models.Model], weight_kg, height_cm) -> bool:
    return outside_soft_range(model, "weight_kg", weight_kg) or outside_soft_range(model, "height_cm", height_cm)


def dated_records(scope: Scope, forms: Iterable[tuple[str, str]], lookup: str, other: str, *extra: str,
                  bound: date | None = None) -> list[tuple]:
    """(pk, patient id, date, form label, `other`, *extra) of the scope's records of `forms` whose date compares by
    `lookup` ("lt", "gt", ...) with the field path `other` (e.g. "patient__consent__consent_date"): one UNION
    query over all the forms. `bound`, the scope's extreme of `other`, lets the database drop most rows before
    it reads the other form."""
    parts = []
    for form, name in forms:
        rows = scope.records(form).filter(**{f"{name}__{lookup}": models.F(other)})
        if bound is not None:
            rows = rows.filter(**{f"{name}__{lookup}": bound})
        parts.append(rows.order_by().annotate(form_label=models.Value(form, output_field=models.CharField()))
                     .values_list("pk", "patient_id", name, "form_label", other, *extra))
    if not parts:
        return []
    return list(parts[0].union(*parts[1:], all=True))


def _study_procedures() -> list[tuple[str, str]]:
    return [(form, name) for form, name in visits.dated_forms() if form not in _NOT_A_STUDY_PROCEDURE]


# ---- Consent ------------------------------------------------------------------------------------------------
@rule("PAT-001", form="patients.Consent", field="consent_date", title=_("Consent after a study procedure"),
      message=_("%(field)s: %(date)s is after the %(what)s of %(first)s. Consent is given before any study "
                "procedure: correct the consent date or the date on that form, or explain."))
def consent_after_procedure(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Consent: required before any other form; a record dated before it is a procedure without consent."""
    latest = scope.records(Consent).aggregate(latest=models.Max("consent_date"))["latest"]
    if latest is None:
        return
    earliest: dict[int, tuple] = {}
    for _pk, patient_id, day, form, consent_date, consent_id in dated_records(
            scope, _study_procedures(), "lt", "patient__consent__consent_date", "patient__consent__pk", bound=latest):
        if patient_id not in earliest or (day, form) < earliest[patient_id][:2]:
            earliest[patient_id] = (day, form, consent_id, consent_date)
    for patient_id, (day, form, consent_id, consent_date) in sorted(earliest.items()):
        yield Hit(patient_id, consent_id, params={"date": consent_date, "first": day, "what": form_name(form)})


@rule("PAT-002", form="patients.Consent", field="withdrawal_date", title=_("Record after consent was withdrawn"),
      message=_("%(field)s: %(date)s, but the %(what)s is dated %(last)s, after it. Nothing is collected after "
                "consent is withdrawn: correct the withdrawal date or the date on that form, or explain."))
def record_after_withdrawal(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Consent: withdrawal stops new data; the death and off-study forms close the casebook after it."""
    excluded = {"patients.Consent", *visits.closing_stop_forms()}
    forms = [(form, name) for form, name in visits.dated_forms() if form not in excluded]
    first = scope.records(Consent).aggregate(first=models.Min("withdrawal_date"))["first"]
    if first is None:
        return
    latest: dict[int, tuple] = {}
    for _pk, patient_id, day, form, withdrawn, consent_id in dated_records(
            scope, forms, "gt", "patient__consent__withdrawal_date", "patient__consent__pk", bound=first):
        if patient_id not in latest or (day, form) > latest[patient_id][:2]:
            latest[patient_id] = (day, form, consent_id, withdrawn)
    for patient_id, (day, form, consent_id, withdrawn) in sorted(latest.items()):
        yield Hit(patient_id, consent_id, params={"date": withdrawn, "last": day, "what": form_name(form)})


# ---- Birth and history --------------------------------------------------------------------------------------
@rule("PAT-003", title=_("Date before the date of birth"),
      message=_("%(field)s: %(date)s is before the date of birth (%(born)s, Registration form). Correct this date "
                "or the date of birth."))
def before_birth(scope: Scope) -> Iterator[Hit]:
    """No event of the child precedes its birth: the diagnosis date and every dated form, against Registration."""
    forms = [("patients.DiagnosisHistory", "diagnosis_date"),
             *((form, name) for form, name in visits.dated_forms() if form != "patients.Registration")]
    latest = scope.records(Registration).aggregate(latest=models.Max("date_of_birth"))["latest"]
    if latest is None:
        return
    for pk, patient_id, day, form, born in dated_records(scope, forms, "lt", "patient__registration__date_of_birth",
                                                         bound=latest):
        yield Hit(patient_id, pk, form=form, field=dict(forms)[form], params={"date": day, "born": born})


@rule("PAT-004", form="patients.DiagnosisHistory", field="diagnosis_date", severity=Severity.CONFIRM,
      title=_("Leukaemia diagnosed in the first weeks of life"),
      message=_("%(field)s: %(date)s is %(days)s days after the date of birth (%(born)s): a congenital leukaemia. "
                "Confirm both dates; the date of birth may have been typed as the diagnosis date."))
def diagnosed_as_newborn(scope: Scope) -> Iterator[Hit]:
    """Congenital leukaemia (first 28 days of life) is rare: a diagnosis then is more often a date typed twice."""
    for pk, patient_id, diagnosed, born in scope.records(DiagnosisHistory).values_list(
            "pk", "patient_id", "diagnosis_date", "patient__registration__date_of_birth"):
        if born is not None and diagnosed is not None and 0 <= (diagnosed - born).days < NEONATAL_DAYS:
            yield Hit(patient_id, pk, params={"date": diagnosed, "born": born, "days": (diagnosed - born).days})


@rule("PAT-005", title=_("History dated after registration"),
      message=_("%(field)s: %(date)s is after the registration date (%(registered)s). The diagnosis and the relapses "
                "that bring the patient to the study come before registration: correct the date."))
def history_after_registration(scope: Scope) -> Iterator[Hit]:
    """PROTO: children with relapsed or refractory ALL are registered; their diagnosis and relapses precede it."""
    forms = [("patients.DiagnosisHistory", "diagnosis_date"), ("patients.Relapse", "relapse_date")]
    for pk, patient_id, day, form, registered in dated_records(
            scope, forms, "gt", "patient__registration__registration_date"):
        yield Hit(patient_id, pk, form=form, field=dict(forms)[form], params={"date": day, "registered": registered})


@rule("PAT-006", form="patients.Relapse", field="relapse_date", title=_("Relapse not after the diagnosis"),
      message=_("%(field)s: %(date)s is not after the initial diagnosis (%(diagnosed)s, Diagnosis and history). "
                "Correct the relapse date or the diagnosis date."))
def relapse_before_diagnosis(scope: Scope) -> Iterator[Hit]:
    """CLINICAL-RULES 5.1: a relapse is timed from the initial diagnosis, so it comes after it."""
    for pk, patient_id, relapsed, diagnosed in scope.records(Relapse).filter(
            relapse_date__lte=models.F("patient__diagnosis__diagnosis_date")).values_list(
            "pk", "patient_id", "relapse_date", "patient__diagnosis__diagnosis_date"):
        yield Hit(patient_id, pk, params={"date": relapsed, "diagnosed": diagnosed})


@rule("PAT-007", form="patients.DiagnosisHistory", field="disease_status",
      title=_("Disease status disagrees with the relapses"),
      message=_("%(field)s: %(recorded)s is stored, but the relapses recorded give %(expected)s. Check the Relapse "
                "forms; if they are right, ask the data manager to recompute the derived values."))
def status_disagrees_with_relapses(scope: Scope) -> Iterator[Hit]:
    """D9: the prior-relapse count and the disease status at enrollment are derived from the Relapse forms; a stored
    value that the relapses no longer give (an import, a change the recomputation missed) misleads eligibility."""
    relapses: dict[int, list[Relapse]] = defaultdict(list)
    for relapse in scope.records(Relapse).exclude(relapse_date__isnull=True).order_by("relapse_date", "pk").only(
            "pk", "patient_id", "relapse_date", "relapse_site"):
        relapses[relapse.patient_id].append(relapse)
    for diagnosis in scope.records(DiagnosisHistory).only(
            "pk", "patient_id", "diagnosis_date", "immunophenotype", "frontline_status", "frontline_end_date",
            "last_induction_response", "high_risk_by_mrd", "relapse_count", "disease_status"):
        found = relapses.get(diagnosis.patient_id, [])
        if diagnosis.relapse_count is not None and diagnosis.relapse_count != len(found):
            yield Hit(diagnosis.patient_id, diagnosis.pk, field="relapse_count",
                      params={"recorded": diagnosis.relapse_count, "expected": len(found)})
            continue
        if not diagnosis.last_induction_response or not diagnosis.disease_status:
            continue
        _timepoint, group = classify_relapse(diagnosis, found[-1] if found else None)
        expected = rules.disease_status(
            relapse_count=len(found), refractory=diagnosis.last_induction_response == InductionResponse.REFRACTORY,
            latest_group=rules.BfmGroup(group) if group else None,
            high_risk_by_mrd=diagnosis.high_risk_by_mrd == MrdHighRisk.YES).value
        if expected != diagnosis.disease_status:
            yield Hit(diagnosis.patient_id, diagnosis.pk,
                      params={"recorded": label(DiagnosisHistory, "disease_status", diagnosis.disease_status),
                              "expected": label(DiagnosisHistory, "disease_status", expected)})


# ---- Body size ----------------------------------------------------------------------------------------------
@rule("PAT-008", form="patients.Baseline", field="weight_kg", severity=Severity.CONFIRM,
      title=_("Weight and height give an impossible body-mass index"),
      message=_("%(field)s: %(weight)s; with the height of %(height)s cm the body-mass index is %(bmi)s kg/m², "
                "outside %(low)s–%(high)s for a child. Check both values and their units (kg, cm); the BSA and the "
                "doses are computed from them."))
def baseline_bmi(scope: Scope) -> Iterator[Hit]:
    """BSA-1 and the doses rest on weight and height: a pair no child has is a unit or typing error. A weight or
    height outside its soft range is QC-001's query already."""
    for pk, patient_id, weight, height in scope.records(Baseline).values_list(
            "pk", "patient_id", "weight_kg", "height_cm"):
        value = implausible_bmi(weight, height)
        if value is not None and not body_size_queried(Baseline, weight, height):
            yield Hit(patient_id, pk, params=bmi_params(weight, height, value))


def bmi_params(weight, height, value: float) -> dict[str, object]:
    return {"weight": weight, "height": height, "bmi": round(value, 1), "low": PLAUSIBLE_BMI[0],
            "high": PLAUSIBLE_BMI[1]}


# ---- Vital status -------------------------------------------------------------------------------------------
def death_text(death_date: date | None):
    """What the Death form says of the date of death, as a clause of a message."""
    if death_date is None:
        return lazy(lambda: gettext("no Death form is recorded"), str)()
    return lazy(lambda: gettext("the Death form gives %(date)s") % {"date": death_date.isoformat()}, str)()


@rule("PAT-009", form="patients.FollowUp", field="vital_status",
      title=_("Follow-up says dead, the Death form does not"),
      message=_("%(field)s: dead on the contact of %(date)s, but %(death)s. Enter or correct the Death form, or "
                "correct this contact."))
def follow_up_dead_without_death(scope: Scope) -> Iterator[Hit]:
    """The vital status of a contact and the Death form tell one story: a child reported dead before the date of
    death (or with no Death form) is a contradiction; a contact alive after death is QC-004."""
    for pk, patient_id, contact, died in scope.records(FollowUp).filter(vital_status=VitalStatus.DEAD).values_list(
            "pk", "patient_id", "contact_date", "patient__death__death_date"):
        if died is None or (contact is not None and contact < died):
            yield Hit(patient_id, pk, params={"date": contact, "death": death_text(died)})


@rule("PAT-010", form="patients.OffStudy", field="off_study_date", title=_("Off study for death, before the death"),
      message=_("%(field)s: %(date)s, for the reason “Death”, but %(death)s. Correct the off-study date or the "
                "Death form."))
def off_study_for_death_before_death(scope: Scope) -> Iterator[Hit]:
    """A patient leaves the study for death on or after the date of death (the Death form may be corrected later)."""
    for pk, patient_id, left, died in scope.records(OffStudy).filter(
            off_study_reason=OffStudyReason.DEATH).values_list(
            "pk", "patient_id", "off_study_date", "patient__death__death_date"):
        if died is None or (left is not None and left < died):
            yield Hit(patient_id, pk, params={"date": left, "death": death_text(died)})


# ---- Identity -----------------------------------------------------------------------------------------------
_IDENTITY = ("site_id", "date_of_birth", "sex", "initials")


@rule("PAT-011", form="patients.Registration", field="initials", severity=Severity.CONFIRM,
      title=_("Possible duplicate registration"),
      message=_("%(field)s %(initials)s, sex and date of birth (%(born)s) are those of %(others)s at the same site. "
                "Check that these are different children, or tell the data manager which registration is the "
                "duplicate."))
def possible_duplicate(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC Registration: the same site, date of birth, sex and initials may be one child registered twice. A
    pair the registering user confirmed as different children (patients.services.register_patient) is not raised
    again while neither registration has changed since."""
    mine = list(scope.records(Registration).values("pk", "patient_id", "patient__subject_id", *_IDENTITY))
    if not mine:
        return
    same: dict[tuple, list[dict]] = defaultdict(list)
    for row in Registration._base_manager.filter(
            site_id__in={r["site_id"] for r in mine}, date_of_birth__in={r["date_of_birth"] for r in mine}).values(
            "patient_id", "patient__subject_id", *_IDENTITY):
        same[tuple(row[k] for k in _IDENTITY)].append(row)
    pairs = {(row["patient_id"], other["patient_id"]) for row in mine
             for other in same[tuple(row[k] for k in _IDENTITY)] if other["patient_id"] != row["patient_id"]}
    if not pairs:
        return
    confirmed = _confirmed_pairs(pairs, {key: rows for key, rows in same.items() if len(rows) > 1})
    for row in mine:
        others = sorted(other["patient__subject_id"] for other in same[tuple(row[k] for k in _IDENTITY)]
                        if other["patient_id"] != row["patient_id"]
                        and frozenset((row["patient_id"], other["patient_id"])) not in confirmed)
        if others:
            yield Hit(row["patient_id"], row["pk"], params={"initials": row["initials"], "born": row["date_of_birth"],
                                                            "others": ", ".join(others)})


def _confirmed_pairs(pairs: set[tuple[int, int]], groups: dict[tuple, list[dict]]) -> set[frozenset[int]]:
    """The pairs whose later registration was saved with the user's "not a duplicate" confirmation (a reason on its
    first audit record), when neither child's identity has changed since then. One query."""
    involved = {patient_id for pair in pairs for patient_id in pair}
    history: dict[int, list[dict]] = defaultdict(list)
    for row in Registration.history.filter(patient_id__in=involved).order_by("history_date", "history_id").values(
            "patient_id", "history_type", "history_date", "history_change_reason", *_IDENTITY):
        history[row["patient_id"]].append(row)
    current = {row["patient_id"]: tuple(row[k] for k in _IDENTITY) for rows in groups.values() for row in rows}
    confirmed = set()
    for first, second in pairs:
        earlier, later = sorted((first, second))  # patients are numbered in the order they are registered
        created = next((h for h in history[later] if h["history_type"] == "+"), None)
        if created is None or not (created["history_change_reason"] or "").strip():
            continue
        if tuple(created[k] for k in _IDENTITY) != current[later]:
            continue
        before = [h for h in history[earlier] if h["history_date"] <= created["history_date"]]
        if before and tuple(before[-1][k] for k in _IDENTITY) == current[earlier]:
            confirmed.add(frozenset((first, second)))
    return confirmed
