"""Data-quality rules of the transplant forms: the order of day 0 and the records dated from it, the protocol's
conditions for the transplant, donor and graft, and what the daily counts give for engraftment (CLINICAL-RULES D7,
D8, D14, §11).

Not repeated here, because the generic rules (trial.quality.generic) hold for these forms too: soft ranges, a typed
acute GVHD grade or chronic GVHD severity against the computed one (`crf_reported`), dates after the cut-off, the
patient's death or off-study, and overdue visits or gaps in the schedule. The engraftment days, primary graft failure
and the GVHD summaries on the transplant procedure are derived from the daily counts and the assessments, never
typed, so there is no typed value of them to contradict.

Some of these orders are also refused by the save path (each form's checks, re-run on the patient's records when day
0 or a blinatumomab cycle changes); the rules find what reached the database around it (an import, data entered
before a check existed), and what the save path accepts but the protocol makes unusual.
"""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, IntegerField, OuterRef, Value
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from patients.models import Registration
from patients.models.codes import YesNo
from transplant import rules
from transplant.models import (
    AcuteGvhd,
    Chimerism,
    ChronicGvhd,
    DailyCount,
    Donor,
    DonorLymphocyteInfusion,
    DonorType,
    Graft,
    ImmuneReconstitution,
    Infection,
    PostTransplantRelapse,
    TransplantProcedure,
    ViralLoad,
)
from transplant.models.codes import Timepoint, day_label
from transplant.models.donor import DoseBasis, GraftSource, Relationship
from transplant.models.procedure import CYCLOPHOSPHAMIDE_DAYS, PTCY_DAYS, TBI_DAYS
from transplant.schedule import DAILY_COUNT, MONTH_WINDOW_DAYS, MONTHS
from treatment.models import BlinatumomabCycle, ResponseAssessment
from treatment.models.response import Response
from treatment.rules import CYCLE_INFUSION_DAYS
from trial.crf import CrfStatus
from trial.models import MissedVisit
from trial.quality import Hit, Scope, Severity, rule
from trial.ranges import format_number
from trial.schedule import add_months

YES, NO = YesNo.YES, YesNo.NO
PROCEDURE = "transplant.TransplantProcedure"

# ---- Study parameters of these checks ------------------------------------------------------------------------
CONDITIONING_FIRST_DAY = -7  # PROTO: TBI on days −7 to −5 opens the conditioning
PROPHYLAXIS_START_DUE_DAY = 14  # PROTO: tacrolimus and mycophenolate are part of the prophylaxis; started by then
HAPLOIDENTICAL_MIN_MATCH = 5  # a haploidentical relative shares one haplotype: 5 of 10 alleles at least
PARENT_MIN_AGE_GAP_YEARS = 12  # a parent younger than the patient plus this is almost surely a typing error
CD34_USUAL_10E6_KG = (Decimal(1), Decimal(20))  # PROTO median 5.9 ×10⁶/kg; cord blood is lower (no lower bound)
NEUTROPHIL_RUN_DAYS, PLATELET_RUN_DAYS = rules.NEUTROPHIL_RUN_DAYS, rules.PLATELET_RUN_DAYS

# The post-transplant forms and the first day each may be dated (the form's own check, transplant.models.codes).
DATED_FROM_DAY0 = (
    (DailyCount, "count_date", 0),
    (AcuteGvhd, "assessment_date", 0),
    (ChronicGvhd, "assessment_date", 0),
    (Chimerism, "sample_date", 0),
    (ImmuneReconstitution, "sample_date", 0),
    (ViralLoad, "sample_date", 0),
    (Infection, "onset_date", 0),
    (DonorLymphocyteInfusion, "infusion_date", 1),
    (PostTransplantRelapse, "relapse_date", 1),
)


def _text(template, **params):
    """A message part in the language the message is rendered in."""
    return lazy(lambda: str(template) % params, str)()


def _day(day: int):
    """“day +23”, “day −4”, in the language the message is rendered in."""
    return lazy(day_label, str)(day)


def _label(choices, value):
    """A code's label, or the code itself when it is not in the list (an import from an older list)."""
    return choices(value).label if value in choices.values else value


def _day0s(scope: Scope) -> dict[int, tuple[int, date]]:
    """Each patient's transplant procedure and day 0: {patient id: (record id, day 0)}; one query."""
    return {patient_id: (pk, day0) for pk, patient_id, day0 in scope.records(TransplantProcedure).filter(
        transplant_date__isnull=False).values_list("pk", "patient_id", "transplant_date")}


# ---- Day 0 and the blinatumomab infusion ---------------------------------------------------------------------
def _last_infusions(scope: Scope) -> dict[int, tuple[date, int]]:
    """Each patient's last day of blinatumomab infusion and its cycle; a cycle without an end date counts to its
    day 28 (as transplant.models.procedure.last_infusion_day)."""
    last: dict[int, tuple[date, int]] = {}
    for patient_id, number, start, end in scope.records(BlinatumomabCycle).filter(
            start_date__isnull=False).values_list("patient_id", "cycle_number", "start_date", "end_date"):
        day = end or start + timedelta(days=CYCLE_INFUSION_DAYS - 1)
        if patient_id not in last or day > last[patient_id][0]:
            last[patient_id] = (day, number)
    return last


def _after_infusion(scope: Scope) -> Iterator[tuple[int, int, date, date, int]]:
    """(patient, procedure, day 0, last infusion day, its cycle) for each transplanted patient who was infused."""
    last = _last_infusions(scope)
    for patient_id, (pk, day0) in _day0s(scope).items():
        if patient_id in last:
            yield patient_id, pk, day0, *last[patient_id]


@rule("TX-001", form=PROCEDURE, field="transplant_date", title=_("Day 0 not after the blinatumomab infusion"),
      message=_("%(field)s: %(date)s is not after the last day of blinatumomab infusion (%(last)s, cycle %(cycle)s). "
                "Day 0 comes after the infusion has ended: correct the transplant date or the cycle's end date."))
def day0_not_after_infusion(scope: Scope) -> Iterator[Hit]:
    """PROTO: blinatumomab is the bridge to the transplant; the graft is infused after its last cycle."""
    for patient_id, pk, day0, last, cycle in _after_infusion(scope):
        if day0 <= last:
            yield Hit(patient_id, pk, params={"date": day0, "last": last, "cycle": cycle})


@rule("TX-002", form=PROCEDURE, field="transplant_date", severity=Severity.CONFIRM,
      title=_("Conditioning during the blinatumomab infusion"),
      message=_("%(field)s: %(date)s; the last day of blinatumomab infusion (%(last)s, cycle %(cycle)s) is then "
                "%(day)s, within the conditioning, which starts on day −7. Confirm the transplant date and the "
                "cycle's end date."))
def conditioning_during_infusion(scope: Scope) -> Iterator[Hit]:
    """PROTO: the conditioning runs from day −7 (TBI) to day −2; the infusion has ended before it starts."""
    for patient_id, pk, day0, last, cycle in _after_infusion(scope):
        days = (day0 - last).days
        if 0 < days <= -CONDITIONING_FIRST_DAY:
            yield Hit(patient_id, pk, params={"date": day0, "day": _day(-days), "last": last, "cycle": cycle})


# ---- Records dated from day 0 --------------------------------------------------------------------------------
@rule("TX-003", title=_("Post-transplant record dated before day 0"),
      message=_("%(field)s: %(date)s is %(day)s, counted from the graft infusion on %(day0)s (day 0); this form is "
                "dated from %(first)s on. Correct this date or the transplant date."))
def dated_before_day0(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC: the post-transplant forms are counted from day 0; a DLI or a relapse after transplant comes
    after it. One query finds the records of every form (a semi-join on the transplant), one more reads day 0."""
    parts = []
    for index, (model, name, first_day) in enumerate(DATED_FROM_DAY0):
        later = {"transplant_date__gte" if first_day else "transplant_date__gt": OuterRef(name)}
        day0_later = TransplantProcedure._base_manager.filter(patient_id=OuterRef("patient_id"), **later)
        parts.append(scope.records(model).filter(Exists(day0_later)).annotate(
            form_index=Value(index, IntegerField())).values_list("form_index", "pk", "patient_id", name))
    rows = list(parts[0].union(*parts[1:], all=True))
    if not rows:
        return
    day0s = _day0s(scope)
    for index, pk, patient_id, when in rows:
        model, name, first_day = DATED_FROM_DAY0[index]
        day0 = day0s[patient_id][1]
        yield Hit(patient_id, pk, form=model._meta.label, field=name,
                  params={"date": when, "day": _day(rules.day_relative(when, day0)), "first": _day(first_day),
                          "day0": day0})


# ---- Chimerism and immune reconstitution timepoints (D8, D12, D14) -------------------------------------------
def _timepoint_samples(scope: Scope) -> Iterator[tuple[type, int, int, int, date, int, dict[int, date]]]:
    """(form, record, patient, timepoint, sample date, its day, the target of every timepoint) of each dated sample
    of a transplanted patient; three queries."""
    day0s = {patient_id: day0 for patient_id, (_pk, day0) in _day0s(scope).items()}
    targets: dict[int, dict[int, date]] = {}
    for model in (Chimerism, ImmuneReconstitution):
        for pk, patient_id, months, sampled in scope.records(model).filter(
                patient_id__in=list(day0s), sample_date__isnull=False, timepoint_months__in=MONTHS).values_list(
                "pk", "patient_id", "timepoint_months", "sample_date"):
            day0 = day0s[patient_id]
            if patient_id not in targets:
                targets[patient_id] = {m: add_months(day0, m) for m in MONTHS}
            yield model, pk, patient_id, months, sampled, rules.day_relative(sampled, day0), targets[patient_id]


def _misplaced(months: int, sampled: date, targets: dict[int, date]) -> int | None:
    """The timepoint nearest the sample (its own on a tie) when the sample is outside its own window (D12); None
    inside it."""
    target = targets[months]
    if target + timedelta(days=MONTH_WINDOW_DAYS[0]) <= sampled <= target + timedelta(days=MONTH_WINDOW_DAYS[1]):
        return None
    return min(MONTHS, key=lambda m: (abs((sampled - targets[m]).days), m != months))


@rule("TX-004", field="timepoint_months", title=_("Sample date fits another timepoint"),
      message=_("%(field)s: %(timepoint)s, but the sample was taken on %(date)s (%(day)s), nearer the target of "
                "%(nearest)s (%(nearest_target)s) than its own (%(target)s). Correct the timepoint or the sample "
                "date."))
def sample_fits_other_timepoint(scope: Scope) -> Iterator[Hit]:
    """D14 / D12: chimerism and immune reconstitution at 3, 6, 12 and 18 months after day 0 (±14 days)."""
    for model, pk, patient_id, months, sampled, day, targets in _timepoint_samples(scope):
        nearest = _misplaced(months, sampled, targets)
        if nearest is not None and nearest != months:
            yield Hit(patient_id, pk, form=model._meta.label, params={
                "timepoint": Timepoint(months).label, "date": sampled, "day": _day(day),
                "nearest": Timepoint(nearest).label, "nearest_target": targets[nearest], "target": targets[months]})


@rule("TX-005", field="sample_date", severity=Severity.CONFIRM, title=_("Sample outside its timepoint's window"),
      message=_("%(field)s: %(date)s (%(day)s) is outside the window of its timepoint (%(timepoint)s: %(start)s to "
                "%(end)s). Confirm the sample date."))
def sample_outside_window(scope: Scope) -> Iterator[Hit]:
    """D12: the 3, 6, 12 and 18-month samples are taken within ±14 days of their target (a sample nearer another
    timepoint is TX-004)."""
    for model, pk, patient_id, months, sampled, day, targets in _timepoint_samples(scope):
        if _misplaced(months, sampled, targets) == months:
            target = targets[months]
            yield Hit(patient_id, pk, form=model._meta.label, params={
                "date": sampled, "day": _day(day), "timepoint": Timepoint(months).label,
                "start": target + timedelta(days=MONTH_WINDOW_DAYS[0]),
                "end": target + timedelta(days=MONTH_WINDOW_DAYS[1])})


# ---- The protocol's conditions for the transplant ------------------------------------------------------------
@rule("TX-006", form=PROCEDURE, field="non_cr_deviation", title=_("Deviation answer contradicts the response"),
      message=_("%(field)s: answered %(answer)s, but the latest response before day 0 is %(response)s. The protocol "
                "transplants patients in CR: a transplant without CR is a protocol deviation (answer Yes and give the "
                "reason); after CR there is none (answer No)."))
def non_cr_deviation_contradicts_response(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC "Transplant procedure": only patients whose latest response is CR are transplanted under protocol;
    a transplant after PR is recorded as a deviation with a reason."""
    procedures = {patient_id: (pk, day0, answer) for pk, patient_id, day0, answer in scope.records(
        TransplantProcedure).filter(transplant_date__isnull=False, non_cr_deviation__in=(YES, NO)).values_list(
        "pk", "patient_id", "transplant_date", "non_cr_deviation")}
    if not procedures:
        return
    latest: dict[int, tuple[date, int, str]] = {}
    for patient_id, assessed, pk, response in scope.records(ResponseAssessment).filter(
            patient_id__in=list(procedures), assessment_date__isnull=False).values_list(
            "patient_id", "assessment_date", "pk", "response"):
        if assessed <= procedures[patient_id][1] and (patient_id not in latest
                                                       or (assessed, pk) > latest[patient_id][:2]):
            latest[patient_id] = (assessed, pk, response)
    for patient_id, (pk, _day0, answer) in procedures.items():
        found = latest.get(patient_id)
        in_cr = found is not None and found[2] == Response.CR
        if (answer == YES) == in_cr:
            if found is None:
                response = _("no response assessment recorded")
            else:
                response = _text("%(response)s (%(date)s)", response=_label(Response, found[2]) or "—",
                                 date=found[0].isoformat())
            yield Hit(patient_id, pk, params={"answer": YesNo(answer).label, "response": response})


def _question(name: str):
    return lazy(capfirst, str)(TransplantProcedure._meta.get_field(name).verbose_name)


@rule("TX-007", form=PROCEDURE, title=_("“As the protocol says” contradicts what was given"),
      message=_("%(field)s: %(found)s, while “%(question)s” is answered %(answer)s. %(expected)s"))
def protocol_answer_contradicts_given(scope: Scope) -> Iterator[Hit]:
    """PROTO conditioning (TBI days −7 to −5, cyclophosphamide −4 and −3) and prophylaxis (post-transplant
    cyclophosphamide +3 and +4, tacrolimus, mycophenolate): "given as the protocol says" holds only if it was."""
    names = ("tbi_days", "cyclophosphamide_days", "conditioning_per_protocol", "conditioning_deviation", "ptcy_days",
             "tacrolimus_start", "mycophenolate_start", "prophylaxis_per_protocol", "prophylaxis_deviation")
    due = scope.today - timedelta(days=PROPHYLAXIS_START_DUE_DAY)
    for row in scope.records(TransplantProcedure).values("pk", "patient_id", "status", "transplant_date", *names):
        for found in _protocol_contradictions(row, due):
            name, text, question, expected = found
            yield Hit(row["patient_id"], row["pk"], field=name, params={
                "found": text, "question": _question(question), "answer": YesNo(row[question]).label,
                "expected": expected})


def _protocol_contradictions(row: dict, due: date) -> Iterator[tuple[str, object, str, object]]:
    """(field, what was found, the "as the protocol says" question, what the protocol expects) of one procedure; a
    draft may still lack the description or the start dates (asked when it is completed)."""
    draft = row["status"] == CrfStatus.DRAFT
    if row["conditioning_per_protocol"] == YES:
        for name, planned, days in (("tbi_days", TBI_DAYS, _("days −7 to −5")),
                                    ("cyclophosphamide_days", CYCLOPHOSPHAMIDE_DAYS, _("days −4 and −3"))):
            if row[name] is not None and row[name] != planned:
                yield name, row[name], "conditioning_per_protocol", _text(
                    _("The protocol gives it on %(planned)s days (%(days)s): correct the days, or answer No and "
                      "describe the deviation."), planned=planned, days=days)
    elif row["conditioning_per_protocol"] == NO and not row["conditioning_deviation"] and not draft:
        yield "conditioning_deviation", _("not described"), "conditioning_per_protocol", _(
            "Describe how the conditioning differed from the protocol.")
    if row["prophylaxis_per_protocol"] == YES:
        if row["ptcy_days"] is not None and row["ptcy_days"] != PTCY_DAYS:
            yield "ptcy_days", row["ptcy_days"], "prophylaxis_per_protocol", _text(
                _("The protocol gives it on %(planned)s days (%(days)s): correct the days, or answer No and describe "
                  "the deviation."), planned=PTCY_DAYS, days=_("days +3 and +4"))
        day0 = row["transplant_date"]
        if day0 is not None and day0 <= due and not draft:
            for name in ("tacrolimus_start", "mycophenolate_start"):
                if row[name] is None:
                    yield name, _("not recorded"), "prophylaxis_per_protocol", _(
                        "The protocol's prophylaxis includes tacrolimus and mycophenolate: give the start date, or "
                        "answer No and describe the deviation.")
    elif row["prophylaxis_per_protocol"] == NO and not row["prophylaxis_deviation"] and not draft:
        yield "prophylaxis_deviation", _("not described"), "prophylaxis_per_protocol", _(
            "Describe how the GVHD prophylaxis differed from the protocol.")


# ---- Donor and graft -----------------------------------------------------------------------------------------
def _match_expected(donor_type: str, match: int):
    """What the donor type says of the HLA match (CRF-SPEC "Donor & HLA"), when `match` contradicts it."""
    if donor_type == DonorType.HAPLOIDENTICAL and not HAPLOIDENTICAL_MIN_MATCH <= match < 10:
        return _("a haploidentical relative shares one haplotype: 5 to 9 of 10 alleles")
    if donor_type in (DonorType.MATCHED_RELATED, DonorType.MATCHED_UNRELATED) and match < 10:
        return _("an HLA-identical or matched donor matches 10 of 10 alleles")
    if donor_type == DonorType.MISMATCHED_UNRELATED and match == 10:
        return _("a mismatched donor matches fewer than 10 of 10 alleles")
    return None


@rule("TX-008", form="transplant.Donor", field="hla_match", title=_("HLA match contradicts the donor type"),
      message=_("%(field)s: %(match)s/10 for a donor of type “%(type)s”; %(expected)s. Correct the match or the "
                "donor type."))
def hla_match_contradicts_donor_type(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC "Donor & HLA": the paper compares haploidentical with HLA-identical donors, read off these two."""
    for pk, patient_id, donor_type, match in scope.records(Donor).filter(hla_match__isnull=False).exclude(
            donor_type__in=("", DonorType.CORD_BLOOD)).values_list("pk", "patient_id", "donor_type", "hla_match"):
        expected = _match_expected(donor_type, match)
        if expected is not None:
            yield Hit(patient_id, pk, params={"match": match, "type": _label(DonorType, donor_type),
                                              "expected": expected})


@rule("TX-009", form="transplant.Donor", field="relationship", severity=Severity.CONFIRM,
      title=_("HLA-identical related donor who is not a sibling"),
      message=_("%(field)s: %(relationship)s, for an HLA-identical related donor; an HLA-identical relative is "
                "almost always a sibling (a parent is usually haploidentical). Confirm the relationship and the donor "
                "type."))
def matched_related_not_sibling(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC "Donor & HLA": a parent shares one haplotype with the child; a full match is a sibling's."""
    for pk, patient_id, relationship in scope.records(Donor).filter(donor_type=DonorType.MATCHED_RELATED).exclude(
            relationship__in=("", Relationship.SIBLING, Relationship.UNRELATED)).values_list(
            "pk", "patient_id", "relationship"):
        yield Hit(patient_id, pk, params={"relationship": _label(Relationship, relationship)})


@rule("TX-010", form="transplant.Donor", field="donor_age_years", severity=Severity.CONFIRM,
      title=_("Parent donor too young"),
      message=_("%(field)s: %(age)s years for the patient's %(relationship)s, who is %(patient_age)s years old on "
                "%(on)s; a parent is at least %(gap)s years older. Confirm the donor's age and relationship."))
def parent_donor_too_young(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC "Donor & HLA": the donor's age is read against the patient's (the patient's own age typed for the
    donor's, or a sibling recorded as a parent)."""
    donors = list(scope.records(Donor).filter(
        relationship__in=(Relationship.MOTHER, Relationship.FATHER), donor_age_years__isnull=False).values_list(
        "pk", "patient_id", "relationship", "donor_age_years"))
    if not donors:
        return
    ids = [patient_id for _pk, patient_id, _r, _a in donors]
    born = dict(scope.records(Registration).filter(patient_id__in=ids, date_of_birth__isnull=False).values_list(
        "patient_id", "date_of_birth"))
    day0s = _day0s(scope)
    for pk, patient_id, relationship, age in donors:
        if patient_id not in born:
            continue
        on = day0s[patient_id][1] if patient_id in day0s else scope.today
        patient_age = _years(born[patient_id], on)
        if age - patient_age < PARENT_MIN_AGE_GAP_YEARS:
            yield Hit(patient_id, pk, params={"age": age, "relationship": _label(Relationship, relationship),
                                              "patient_age": patient_age, "on": on, "gap": PARENT_MIN_AGE_GAP_YEARS})


def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@rule("TX-011", form="transplant.Graft", field="graft_source", title=_("Graft source contradicts the donor type"),
      message=_("%(field)s: %(source)s, but the donor type on the donor form is “%(type)s”. Correct the graft source "
                "or the donor type."))
def graft_source_contradicts_donor_type(scope: Scope) -> Iterator[Hit]:
    """CRF-SPEC "Donor & HLA" and "Mobilization & graft": a cord-blood donor gives a cord-blood unit, and only
    a cord-blood donor does."""
    types = dict(scope.records(Donor).exclude(donor_type="").values_list("patient_id", "donor_type"))
    if not types:
        return
    for pk, patient_id, source in scope.records(Graft).filter(patient_id__in=list(types)).exclude(
            graft_source="").values_list("pk", "patient_id", "graft_source"):
        donor_type = types[patient_id]
        if (source == GraftSource.CORD_BLOOD) != (donor_type == DonorType.CORD_BLOOD):
            yield Hit(patient_id, pk, params={"source": _label(GraftSource, source),
                                              "type": _label(DonorType, donor_type)})


@rule("TX-012", form="transplant.Graft", field="collection_date", title=_("Graft collected after day 0"),
      message=_("%(field)s: %(date)s is after day 0 (%(day0)s); the graft is collected before it is infused, at the "
                "latest on day 0. Correct this date or the transplant date."))
def graft_collected_after_day0(scope: Scope) -> Iterator[Hit]:
    """PROTO: the apheresis is on the fifth day of G-CSF, the day of the infusion (day 0)."""
    day0s = _day0s(scope)
    if not day0s:
        return
    for pk, patient_id, collected in scope.records(Graft).filter(
            patient_id__in=list(day0s), collection_date__isnull=False).values_list(
            "pk", "patient_id", "collection_date"):
        day0 = day0s[patient_id][1]
        if collected > day0:
            yield Hit(patient_id, pk, params={"date": collected, "day0": day0})


@rule("TX-013", form="transplant.Graft", severity=Severity.CONFIRM, title=_("CD34+ dose of an unusual magnitude"),
      message=_("%(field)s: %(value)s gives a CD34+ dose of %(dose)s ×10⁶/kg of recipient weight, outside the usual "
                "%(usual)s ×10⁶/kg. A product total typed as a dose per kg, or a dose per kg typed as a total, gives "
                "such a dose: confirm it against the laboratory report."))
def cd34_dose_magnitude(scope: Scope) -> Iterator[Hit]:
    """PROTO: median CD34+ dose 5.9 ×10⁶/kg. A unit-magnitude error within the hard range (a total under 100 typed
    per kg, a dose per kg typed as the total) gives a dose tens of times too high or too low."""
    low, high = CD34_USUAL_10E6_KG
    for row in scope.records(Graft).filter(cd34_10e6_kg__isnull=False).values(
            "pk", "patient_id", "graft_source", "dose_basis", "cd34_10e6_kg", "cd34_total_10e6",
            "cd34_reported_10e6_kg"):
        dose = row["cd34_10e6_kg"]
        too_low = dose < low and row["graft_source"] != GraftSource.CORD_BLOOD
        if not (too_low or dose > high):
            continue
        typed = "cd34_total_10e6" if row["dose_basis"] == DoseBasis.PRODUCT_TOTALS else "cd34_reported_10e6_kg"
        if row[typed] is None:
            continue
        yield Hit(row["patient_id"], row["pk"], field=typed, params={
            "value": row[typed], "dose": dose, "usual": f"{format_number(low)}–{format_number(high)}"})


# ---- Engraftment and graft failure (D7) ----------------------------------------------------------------------
@rule("TX-014", form=PROCEDURE, field="neutrophil_engraftment_day", severity=Severity.CONFIRM,
      title=_("Neutrophil engraftment and primary graft failure at once"),
      message=_("%(field)s: %(day)s, after day +%(limit)s, so the patient also counts as a primary graft failure (no "
                "neutrophil engraftment by day +%(limit)s). Confirm the daily counts up to the engraftment: a missing "
                "or mistyped count delays the engraftment day."))
def late_engraftment(scope: Scope) -> Iterator[Hit]:
    """D7: primary graft failure = no neutrophil engraftment by day +30; an engraftment after it is both."""
    for pk, patient_id, day in scope.records(TransplantProcedure).filter(
            primary_graft_failure=True, neutrophil_engraftment_day__gt=rules.GRAFT_FAILURE_DAY).values_list(
            "pk", "patient_id", "neutrophil_engraftment_day"):
        yield Hit(patient_id, pk, params={"day": _day(day), "limit": rules.GRAFT_FAILURE_DAY})


@rule("TX-015", form=PROCEDURE, field="anc_nadir_day", severity=Severity.CONFIRM,
      title=_("Primary graft failure without a neutrophil nadir"),
      message=_("%(field)s: no absolute neutrophil count below 500/µL is recorded from day 0 to %(last)s, so no "
                "neutrophil engraftment can be found and the patient counts as a primary graft failure. Confirm the "
                "neutrophil counts (per µL: 500/µL = 0.5 ×10⁹/L)."))
def graft_failure_without_nadir(scope: Scope) -> Iterator[Hit]:
    """D7 / §11.1: neutrophil engraftment is counted after the nadir (first ANC < 500/µL after day 0); after a
    myeloablative conditioning a child without one is rare, and counts typed ×10⁹/L (0.8 for 800) give none."""
    for pk, patient_id, last in scope.records(TransplantProcedure).filter(
            primary_graft_failure=True, anc_nadir_day__isnull=True,
            neutrophil_engraftment_day__isnull=True).values_list("pk", "patient_id", "counts_last_day"):
        yield Hit(patient_id, pk, params={"last": _day(last) if last is not None else "—"})


@rule("TX-016", form=PROCEDURE, field="counts_missing_days", title=_("Days without counts before engraftment"),
      message=_("%(field)s: %(days)s, before the engraftment is established (counts recorded to %(last)s). A day "
                "without counts breaks the run of consecutive days, so the engraftment days may come out later than "
                "they were. Enter the counts of those days, or record them as not done."))
def counts_missing_before_engraftment(scope: Scope) -> Iterator[Hit]:
    """D7: a missing day breaks a run (3 days for neutrophils, 7 for platelets, and the 7 transfusion-free days
    before it), and the gap raises a query; days after both engraftments change nothing."""
    found = []
    for pk, patient_id, missing, neutrophils, platelets, last in scope.records(TransplantProcedure).exclude(
            counts_missing_days=[]).filter(counts_last_day__isnull=False).values_list(
            "pk", "patient_id", "counts_missing_days", "neutrophil_engraftment_day", "platelet_engraftment_day",
            "counts_last_day"):
        until = max(last if neutrophils is None else neutrophils + NEUTROPHIL_RUN_DAYS - 1,
                    last if platelets is None else platelets + PLATELET_RUN_DAYS - 1)
        days = [day for day in missing or [] if 0 <= day <= until]
        if days:
            found.append((pk, patient_id, days, last))
    if not found:
        return
    not_done = set(scope.records(MissedVisit).filter(
        patient_id__in=[patient_id for _pk, patient_id, _d, _l in found], form=DailyCount._meta.label).values_list(
        "patient_id", "visit_key"))
    for pk, patient_id, days, last in found:
        days = [day for day in days if (patient_id, DAILY_COUNT.format(n=day)) not in not_done]
        if days:
            yield Hit(patient_id, pk, params={"days": TransplantProcedure.display_value("counts_missing_days", days),
                                              "last": _day(last)})


@rule("TX-017", form=PROCEDURE, field="primary_graft_failure", title=_("Graft failure, yet complete donor chimerism"),
      message=_("%(field)s: no neutrophil engraftment in the counts recorded to %(last)s, yet the %(timepoint)s "
                "chimerism (%(date)s) is complete donor chimerism. The daily counts go on until the neutrophils "
                "engraft: enter the later counts, or correct the chimerism."))
def graft_failure_with_complete_chimerism(scope: Scope) -> Iterator[Hit]:
    """D7 and D8: a graft that never engrafted does not give complete donor chimerism (≥ 95 % donor); the counts
    stopped before the engraftment (CRF-SPEC "Daily counts": day 0 to engraftment, at least to +30)."""
    failed = {patient_id: (pk, last) for pk, patient_id, last in scope.records(TransplantProcedure).filter(
        primary_graft_failure=True, neutrophil_engraftment_day__isnull=True).values_list(
        "pk", "patient_id", "counts_last_day")}
    if not failed:
        return
    first: dict[int, tuple[date, int]] = {}
    for patient_id, sampled, months in scope.records(Chimerism).filter(
            patient_id__in=list(failed), chimerism_status=rules.ChimerismStatus.COMPLETE.value,
            sample_date__isnull=False).values_list("patient_id", "sample_date", "timepoint_months"):
        if patient_id not in first or sampled < first[patient_id][0]:
            first[patient_id] = (sampled, months)
    for patient_id, (sampled, months) in first.items():
        pk, last = failed[patient_id]
        yield Hit(patient_id, pk, params={
            "last": _day(last) if last is not None else "—", "date": sampled,
            "timepoint": _label(Timepoint, months) or "—"})

