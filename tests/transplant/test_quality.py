"""The transplant's data-quality rules (transplant.quality), on real records: a clean casebook raises nothing, and
each planted error is found on the record and field a coordinator must look at, with a message that says why.

Dates follow tests.transplant_forms: cycle 1 from 2020-03-20 to 2020-04-16 (its CR on 2020-04-20), day 0 on
2020-06-15, a 30 kg child born on 2012-05-03. What the save path refuses is planted as data that arrived around it
(an import): a correct record is saved, then its column is changed directly.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests import enrollment
from tests import transplant_forms as tx
from tests import treatment_forms as treatment
from transplant.models import (
    Chimerism,
    ImmuneReconstitution,
    TransplantProcedure,
)
from treatment.models import BlinatumomabCycle, ResponseAssessment
from trial.crf import save_crf
from trial.models import MissedVisit
from trial.quality import rule_by_code, rules
from trial.quality.engine import findings, scope_for

pytestmark = pytest.mark.django_db

DAY0 = tx.DAY0  # 2020-06-15
LAST_INFUSION_DAY = treatment.CYCLES[1]["end_date"]  # 2020-04-16
AFTER_THE_COUNTS = tx.on_day(31)
TX_CODES = [r.code for r in rules() if r.code.startswith("TX-")]


@pytest.fixture(autouse=True)
def _no_check_on_save(settings):
    """Each test runs the rules itself, once; the re-check after every save is the engine's own test."""
    settings.QUALITY_CHECK_ON_SAVE = False


def _found(patient, code: str, today: date = AFTER_THE_COUNTS) -> list:
    """(rule, hit) of one rule for the patient, judged on `today`."""
    return list(findings(scope_for([patient.pk], today=today), only=[rule_by_code(code)]).values())


def _one(patient, code: str, today: date = AFTER_THE_COUNTS):
    """The rule's one finding for the patient: (form, record, field, English message)."""
    found = _found(patient, code, today)
    assert len(found) == 1, [checked.render(hit, "en") for checked, hit in found]
    checked, hit = found[0]
    return checked.form_of(hit), hit.record_id, checked.field_of(hit), checked.render(hit, "en")


def _transplant(patient) -> TransplantProcedure:
    return TransplantProcedure.objects.get(patient=patient)


def _import(record, **columns) -> None:
    """Change stored columns as data arriving around the save path would (an import), never as a user does."""
    type(record)._base_manager.filter(pk=record.pk).update(**columns)


# ---- A clean casebook ----------------------------------------------------------------------------------------
@pytest.fixture
def transplanted(coordinator, registration_a):
    """Enrolled and treated (cycle 1 with its CRS, ICANS, AE, response and intrathecal therapy), transplanted on
    2020-06-15 from a haploidentical mother, counts day 0 to +30 (neutrophils +15, platelets +20), and the weekly
    acute GVHD assessments and viral loads to day +28: everything the schedule expects by day +31."""
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.treat(coordinator, patient)
    tx.transplant(coordinator, patient)
    for day in (7, 14, 21, 28):
        tx.acute_gvhd(coordinator, patient, day)
        tx.viral_load(coordinator, patient, day)
    return patient


def test_a_clean_transplant_casebook_raises_nothing(transplanted):
    found = findings(scope_for([transplanted.pk], today=AFTER_THE_COUNTS))
    assert {key: checked.render(hit, "en") for key, (checked, hit) in found.items()} == {}
    assert (_transplant(transplanted).neutrophil_engraftment_day, _transplant(transplanted).platelet_engraftment_day
            ) == (15, 20)


@pytest.mark.parametrize("build", [tx.every_form, tx.one_of_each], ids=["every form", "one of each"])
def test_the_test_builders_casebooks_raise_no_transplant_finding(coordinator, registration_a, build):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    build(coordinator, patient)
    found = findings(scope_for([patient.pk], today=date(2021, 2, 2)), only=[rule_by_code(c) for c in TX_CODES])
    assert [checked.render(hit, "en") for checked, hit in found.values()] == []


def test_every_rule_has_a_transplant_code_and_a_translatable_message():
    assert [f"TX-{n:03d}" for n in range(1, len(TX_CODES) + 1)] == TX_CODES
    for code in TX_CODES:
        checked = rule_by_code(code)
        assert str(checked.message).startswith("%(field)s:"), code  # it names the field a coordinator looks at


# ---- Day 0 and the blinatumomab infusion (TX-001, TX-002) ----------------------------------------------------
@pytest.mark.parametrize(("last_infusion", "code"), [
    pytest.param(DAY0, "TX-001", id="the cycle ends on day 0"),
    pytest.param(DAY0 + timedelta(days=3), "TX-001", id="the cycle ends after day 0"),
    pytest.param(DAY0 - timedelta(days=1), "TX-002", id="the cycle ends on day −1"),
    pytest.param(DAY0 - timedelta(days=7), "TX-002", id="the cycle ends on day −7, the first day of TBI"),
    pytest.param(DAY0 - timedelta(days=8), None, id="the cycle ends on day −8, before the conditioning"),
])
def test_day_0_comes_after_the_infusion_and_its_conditioning(coordinator, day0, last_infusion, code):
    _import(BlinatumomabCycle.objects.get(patient=day0, cycle_number=1), end_date=last_infusion)
    found = {c: _found(day0, c) for c in ("TX-001", "TX-002")}
    assert {c for c, hits in found.items() if hits} == ({code} if code else set())
    if code:
        form, record, field, message = _one(day0, code)
        assert (form, record, field) == ("transplant.TransplantProcedure", _transplant(day0).pk, "transplant_date")
        assert f"blinatumomab infusion ({last_infusion.isoformat()}, cycle 1)" in message
        if code == "TX-001":
            assert message.startswith("Transplant date (day 0): 2020-06-15 is not after the last day of blinatumomab")
        else:
            day = (DAY0 - last_infusion).days
            assert f"cycle 1) is then day −{day}, within the conditioning, which starts on day −7" in message


def test_a_transplant_a_week_after_the_infusion_is_accepted_and_confirmed(coordinator, treated):
    day0 = LAST_INFUSION_DAY + timedelta(days=7)  # 2020-04-23, after the CR of 2020-04-20
    transplant = tx.procedure(coordinator, treated, transplant_date=day0, tacrolimus_start=day0 + timedelta(days=5),
                              mycophenolate_start=day0 + timedelta(days=5))
    form, record, field, message = _one(treated, "TX-002", today=day0 + timedelta(days=1))
    assert (record, field) == (transplant.pk, "transplant_date")
    assert message == ("Transplant date (day 0): 2020-04-23; the last day of blinatumomab infusion (2020-04-16, "
                       "cycle 1) is then day −7, within the conditioning, which starts on day −7. Confirm the "
                       "transplant date and the cycle's end date.")


def test_a_cycle_without_an_end_date_counts_to_its_day_28(coordinator, day0):
    _import(BlinatumomabCycle.objects.get(patient=day0, cycle_number=1), start_date=DAY0 - timedelta(days=30),
            end_date=None)
    assert "last day of blinatumomab infusion (2020-06-12, cycle 1)" in _one(day0, "TX-002")[3]


def test_the_save_path_refuses_a_cycle_that_ends_after_day_0(coordinator, day0):
    cycle = treatment.cycle(coordinator, day0, 2)  # 2020-05-01 to 2020-05-28, no response assessed after it
    with pytest.raises(ValidationError, match="transplant procedure form invalid"):
        save_crf(cycle, user=coordinator, data={"end_date": DAY0 + timedelta(days=3), "days_infused": 28},
                 reason="Corrected from the infusion chart", expected_version=cycle.version)


# ---- Records dated from day 0 (TX-003) -----------------------------------------------------------------------
def _day_0_count(user, patient):
    return tx.count(user, patient, **tx.engrafting_counts(0)[0])


@pytest.mark.parametrize(("enter", "name", "first_day", "moved_to"), [
    pytest.param(_day_0_count, "count_date", 0, -1, id="a daily count on day −1"),
    pytest.param(_day_0_count, "count_date", 0, 0, id="a daily count on day 0"),
    pytest.param(lambda u, p: tx.acute_gvhd(u, p, 7), "assessment_date", 0, -2, id="acute GVHD on day −2"),
    pytest.param(lambda u, p: tx.chronic_gvhd(u, p, 100), "assessment_date", 0, -1, id="chronic GVHD on day −1"),
    pytest.param(lambda u, p: tx.chimerism(u, p, 3, 92), "sample_date", 0, -1, id="chimerism on day −1"),
    pytest.param(lambda u, p: tx.immune(u, p, 3, 92), "sample_date", 0, -1, id="immune reconstitution on day −1"),
    pytest.param(lambda u, p: tx.viral_load(u, p, 7), "sample_date", 0, -5, id="a viral load on day −5"),
    pytest.param(lambda u, p: tx.infection(u, p, 5), "onset_date", 0, -1, id="an infection on day −1"),
    pytest.param(lambda u, p: tx.dli(u, p, 110), "infusion_date", 1, 0, id="a DLI on day 0"),
    pytest.param(lambda u, p: tx.dli(u, p, 110), "infusion_date", 1, 1, id="a DLI on day +1"),
    pytest.param(lambda u, p: tx.relapse_after(u, p, 140), "relapse_date", 1, 0,
                 id="a relapse after transplant on day 0"),
    pytest.param(lambda u, p: tx.relapse_after(u, p, 140), "relapse_date", 1, 1,
                 id="a relapse after transplant on day +1"),
])
def test_post_transplant_records_are_dated_from_day_0(coordinator, day0, enter, name, first_day, moved_to):
    record = enter(coordinator, day0)
    _import(record, **{name: tx.on_day(moved_to)})
    judged = tx.on_day(200)
    if moved_to >= first_day:
        assert _found(day0, "TX-003", judged) == []
        return
    form, record_id, field, message = _one(day0, "TX-003", judged)
    assert (form, record_id, field) == (record._meta.label, record.pk, name)
    day = f"day {'−' if moved_to < 0 else ''}{abs(moved_to)}"
    first = f"day {'+' if first_day else ''}{first_day}"
    assert (f"{tx.on_day(moved_to).isoformat()} is {day}, counted from the graft infusion on 2020-06-15 (day 0); "
            f"this form is dated from {first} on.") in message


def test_the_save_path_refuses_to_move_day_0_after_a_recorded_count(coordinator, day0):
    tx.count(coordinator, day0, **tx.engrafting_counts(0)[0])
    transplant = _transplant(day0)
    with pytest.raises(ValidationError, match="daily count"):
        save_crf(transplant, user=coordinator, data={"transplant_date": tx.on_day(2)},
                 reason="Day 0 re-read from the infusion record", expected_version=transplant.version)


# ---- Chimerism and immune reconstitution timepoints (TX-004, TX-005) -----------------------------------------
TIMEPOINT_FORMS = [pytest.param(tx.chimerism, Chimerism, id="chimerism"),
                   pytest.param(tx.immune, ImmuneReconstitution, id="immune reconstitution")]


@pytest.mark.parametrize(("enter", "model"), TIMEPOINT_FORMS)
@pytest.mark.parametrize(("day", "code"), [
    pytest.param(92, None, id="on its target, day +92"),
    pytest.param(78, None, id="14 days early"),
    pytest.param(106, None, id="14 days late"),
    pytest.param(77, "TX-005", id="15 days early"),
    pytest.param(107, "TX-005", id="15 days late"),
    pytest.param(137, "TX-005", id="day +137, still nearer 3 months (day +92) than 6 (day +183)"),
    pytest.param(138, "TX-004", id="day +138, nearer 6 months"),
    pytest.param(300, "TX-004", id="day +300, nearer 12 months"),
])
def test_a_3_month_sample_is_dated_near_its_timepoint(coordinator, day0, enter, model, day, code):
    record = enter(coordinator, day0, 3, day)
    judged = tx.on_day(day + 1)
    assert {c for c in ("TX-004", "TX-005") if _found(day0, c, judged)} == ({code} if code else set())
    if code == "TX-005":
        form, record_id, field, message = _one(day0, code, judged)
        assert (form, record_id, field) == (model._meta.label, record.pk, "sample_date")
        assert f"{tx.on_day(day).isoformat()} (day +{day}) is outside the window of its timepoint " \
               "(3 months: 2020-09-01 to 2020-09-29)" in message
    elif code == "TX-004":
        form, record_id, field, message = _one(day0, code, judged)
        assert (form, record_id, field) == (model._meta.label, record.pk, "timepoint_months")
        nearest = "6 months (2020-12-15)" if day < 200 else "12 months (2021-06-15)"
        assert f"Timepoint: 3 months, but the sample was taken on {tx.on_day(day).isoformat()} (day +{day}), " \
               f"nearer the target of {nearest} than its own (2020-09-15)" in message


# ---- Transplant without complete remission (TX-006) ----------------------------------------------------------
def _response_after_day_0(patient) -> None:
    _import(ResponseAssessment.objects.get(patient=patient), assessment_date=tx.on_day(1))


@pytest.mark.parametrize(("plant", "answer", "response"), [
    pytest.param(lambda p: _import(_transplant(p), non_cr_deviation="Y"), "Yes",
                 "CR: complete remission, MRD < 0.01 % (2020-04-20)", id="a deviation recorded after CR"),
    pytest.param(lambda p: _import(ResponseAssessment.objects.get(patient=p), response="PR"), "No",
                 "PR: blasts < 5 %, MRD ≥ 0.01 % (2020-04-20)", id="no deviation after PR"),
    pytest.param(_response_after_day_0, "No", "no response assessment recorded",
                 id="no deviation and no response before day 0"),
])
def test_a_transplant_without_cr_is_a_recorded_deviation(coordinator, day0, plant, answer, response):
    assert _found(day0, "TX-006") == []
    plant(day0)
    form, record, field, message = _one(day0, "TX-006")
    assert (form, record, field) == ("transplant.TransplantProcedure", _transplant(day0).pk, "non_cr_deviation")
    assert f"answered {answer}, but the latest response before day 0 is {response}." in message


def test_a_transplant_in_pr_under_a_recorded_deviation_raises_nothing(coordinator, registration_a):
    patient = registration_a.patient
    enrollment.enroll(coordinator, patient)
    treatment.debulking(coordinator, patient)
    treatment.cycle(coordinator, patient, 1)
    treatment.response(coordinator, patient, mrd_pct=Decimal("0.5"))
    tx.procedure(coordinator, patient, non_cr_deviation="Y", non_cr_deviation_reason="Donor ready; board decision")
    assert _found(patient, "TX-006") == []


# ---- "Given as the protocol says" (TX-007) -------------------------------------------------------------------
@pytest.mark.parametrize(("columns", "field", "text"), [
    pytest.param({"tbi_days": 2}, "tbi_days",
                 "TBI days given (days): 2, while “Conditioning given as the protocol says” is answered Yes. The "
                 "protocol gives it on 3 days (days −7 to −5)", id="TBI on 2 days"),
    pytest.param({"cyclophosphamide_days": 1}, "cyclophosphamide_days", "The protocol gives it on 2 days (days −4 "
                 "and −3)", id="cyclophosphamide on 1 day"),
    pytest.param({"ptcy_days": 1}, "ptcy_days", "while “GVHD prophylaxis given as the protocol says” is answered "
                 "Yes. The protocol gives it on 2 days (days +3 and +4)", id="post-transplant cyclophosphamide, 1 day"),
    pytest.param({"conditioning_per_protocol": "N"}, "conditioning_deviation",
                 "Conditioning deviation: not described, while “Conditioning given as the protocol says” is answered "
                 "No.",
                 id="conditioning not per protocol, undescribed"),
    pytest.param({"prophylaxis_per_protocol": "N"}, "prophylaxis_deviation", "Describe how the GVHD prophylaxis "
                 "differed from the protocol.", id="prophylaxis not per protocol, undescribed"),
])
def test_an_answer_as_the_protocol_says_that_contradicts_what_was_given(coordinator, day0, columns, field, text):
    _import(_transplant(day0), **columns)
    form, record, found_field, message = _one(day0, "TX-007")
    assert (form, record, found_field) == ("transplant.TransplantProcedure", _transplant(day0).pk, field)
    assert text in message


@pytest.mark.parametrize(("judged_on", "found"), [
    pytest.param(tx.on_day(13), False, id="on day +13: may not have started yet"),
    pytest.param(tx.on_day(14), True, id="on day +14"),
])
def test_prophylaxis_per_protocol_has_tacrolimus_and_mycophenolate(coordinator, treated, judged_on, found):
    transplant = tx.procedure(coordinator, treated, tacrolimus_start=None)
    hits = _found(treated, "TX-007", judged_on)
    assert bool(hits) == found
    if found:
        form, record, field, message = _one(treated, "TX-007", judged_on)
        assert (record, field) == (transplant.pk, "tacrolimus_start")
        assert message.startswith("Tacrolimus start: not recorded, while “GVHD prophylaxis given as the protocol "
                                  "says” is answered Yes. The protocol's prophylaxis includes tacrolimus")


def test_a_draft_procedure_may_still_lack_the_deviation_and_the_start_dates(coordinator, treated):
    save_crf(TransplantProcedure(patient=treated), user=coordinator, data={
        **tx.PROCEDURE, "conditioning_per_protocol": "N", "prophylaxis_per_protocol": "N", "tacrolimus_start": None})
    assert _transplant(treated).status == "draft"
    assert _found(treated, "TX-007", tx.on_day(30)) == []


# ---- Donor and graft (TX-008 to TX-013) ----------------------------------------------------------------------
@pytest.mark.parametrize(("donor", "imported", "expected"), [
    pytest.param({"hla_match": 4}, {}, "a haploidentical relative shares one haplotype: 5 to 9 of 10 alleles",
                 id="haploidentical 4/10"),
    pytest.param({"hla_match": 5}, {}, None, id="haploidentical 5/10"),
    pytest.param({"hla_match": 9}, {}, None, id="haploidentical 9/10"),
    pytest.param({}, {"hla_match": 10}, "5 to 9 of 10", id="haploidentical 10/10"),
    pytest.param({"donor_type": "mrd", "relationship": "sibling", "hla_match": 10}, {"hla_match": 8},
                 "an HLA-identical or matched donor matches 10 of 10 alleles", id="HLA-identical sibling 8/10"),
    pytest.param({"donor_type": "mmud", "relationship": "unrelated", "hla_match": 9}, {}, None,
                 id="mismatched unrelated 9/10"),
])
def test_the_hla_match_fits_the_donor_type(coordinator, day0, donor, imported, expected):
    record = tx.donor(coordinator, day0, **donor)
    _import(record, **imported)
    if expected is None:
        assert _found(day0, "TX-008") == []
        return
    form, record_id, field, message = _one(day0, "TX-008")
    assert (form, record_id, field) == ("transplant.Donor", record.pk, "hla_match")
    assert expected in message and message.startswith("HLA match (of 10 alleles): ")


@pytest.mark.parametrize(("relationship", "found"), [("mother", True), ("relative", True), ("sibling", False)])
def test_an_hla_identical_relative_other_than_a_sibling_is_confirmed(coordinator, day0, relationship, found):
    record = tx.donor(coordinator, day0, donor_type="mrd", relationship=relationship, hla_match=10)
    assert bool(_found(day0, "TX-009")) == found
    if found:
        form, record_id, field, message = _one(day0, "TX-009")
        assert (record_id, field) == (record.pk, "relationship")
        assert "for an HLA-identical related donor; an HLA-identical relative is almost always a sibling" in message


@pytest.mark.parametrize(("age", "found"), [
    pytest.param(8, True, id="the patient's own age, 8"),
    pytest.param(19, True, id="19: 11 years older"),
    pytest.param(20, False, id="20: 12 years older"),
])
def test_a_parent_donor_is_older_than_the_patient(coordinator, day0, age, found):
    record = tx.donor(coordinator, day0, donor_age_years=age)
    assert bool(_found(day0, "TX-010")) == found
    if found:
        form, record_id, field, message = _one(day0, "TX-010")
        assert (record_id, field) == (record.pk, "donor_age_years")
        assert f"{age} years for the patient's Mother, who is 8 years old on 2020-06-15; a parent is at least 12 " \
               "years older." in message


@pytest.mark.parametrize(("donor", "graft", "text"), [
    pytest.param({}, {"graft_source": "cord"}, "Cord blood, but the donor type on the donor form is "
                 "“Haploidentical related”", id="a cord-blood unit from a haploidentical mother"),
    pytest.param({"donor_type": "cord", "relationship": "unrelated"}, {}, "Peripheral blood stem cells (apheresis), "
                 "but the donor type on the donor form is “Cord blood”", id="apheresis from a cord-blood donor"),
    pytest.param({"donor_type": "cord", "relationship": "unrelated"}, {"graft_source": "cord"}, None,
                 id="a cord-blood unit from a cord-blood donor"),
])
def test_the_graft_source_fits_the_donor_type(coordinator, day0, donor, graft, text):
    tx.donor(coordinator, day0, **donor)
    record = tx.graft(coordinator, day0, **graft)
    if text is None:
        assert _found(day0, "TX-011") == []
        return
    form, record_id, field, message = _one(day0, "TX-011")
    assert (form, record_id, field) == ("transplant.Graft", record.pk, "graft_source")
    assert text in message


@pytest.mark.parametrize(("collected_on", "found"), [(0, False), (-2, False), (1, True)])
def test_the_graft_is_collected_by_day_0(coordinator, day0, collected_on, found):
    record = tx.graft(coordinator, day0, collection_date=tx.on_day(collected_on))
    assert bool(_found(day0, "TX-012")) == found
    if found:
        form, record_id, field, message = _one(day0, "TX-012")
        assert (form, record_id, field) == ("transplant.Graft", record.pk, "collection_date")
        assert "2020-06-16 is after day 0 (2020-06-15); the graft is collected before it is infused" in message


PER_KG = {"dose_basis": "per_kg", "cd34_total_10e6": None, "cd3_total_10e8": None,
          "cd3_reported_10e8_kg": Decimal("3.00")}


@pytest.mark.parametrize(("graft", "field", "dose"), [
    pytest.param({**PER_KG, "cd34_reported_10e6_kg": Decimal("48.00")}, "cd34_reported_10e6_kg", "48",
                 id="per kg: 48, the product total of a 10 kg child"),
    pytest.param({**PER_KG, "cd34_reported_10e6_kg": Decimal("20.00")}, None, None, id="per kg: 20"),
    pytest.param({"cd34_total_10e6": Decimal("600.30")}, "cd34_total_10e6", "20.01", id="total 600.3 over 30 kg"),
    pytest.param({"cd34_total_10e6": Decimal("600.00")}, None, None, id="total 600 over 30 kg: 20 per kg"),
    pytest.param({"cd34_total_10e6": Decimal("30.00")}, None, None, id="total 30 over 30 kg: 1 per kg"),
    pytest.param({"cd34_total_10e6": Decimal("7.50")}, "cd34_total_10e6", "0.25",
                 id="total 7.5 over 30 kg: the dose per kg typed as the total"),
    pytest.param({"graft_source": "cord", "cd34_total_10e6": Decimal("7.50")}, None, None,
                 id="a cord-blood unit: 0.25 per kg is usual"),
])
def test_a_cd34_dose_of_an_unusual_magnitude_is_confirmed(coordinator, day0, graft, field, dose):
    if graft.get("graft_source") == "cord":
        tx.donor(coordinator, day0, donor_type="cord", relationship="unrelated")
    record = tx.graft(coordinator, day0, **graft)
    if field is None:
        assert _found(day0, "TX-013") == []
        return
    form, record_id, found_field, message = _one(day0, "TX-013")
    assert (form, record_id, found_field) == ("transplant.Graft", record.pk, field)
    assert f"gives a CD34+ dose of {dose} ×10⁶/kg of recipient weight, outside the usual 1–20 ×10⁶/kg" in message


# ---- Engraftment and graft failure (TX-014 to TX-017) --------------------------------------------------------
@pytest.mark.parametrize(("neutrophils_from", "found"), [(30, False), (31, True)])
def test_an_engraftment_after_day_30_is_also_a_primary_graft_failure(coordinator, day0, neutrophils_from, found):
    tx.series(coordinator, day0, tx.engrafting_counts(35, neutrophils_from=neutrophils_from))
    judged = tx.on_day(36)
    assert _transplant(day0).neutrophil_engraftment_day == neutrophils_from
    assert bool(_found(day0, "TX-014", judged)) == found
    if found:
        form, record, field, message = _one(day0, "TX-014", judged)
        assert (record, field) == (_transplant(day0).pk, "neutrophil_engraftment_day")
        assert "Neutrophil engraftment day: day +31, after day +30, so the patient also counts as a primary graft " \
               "failure" in message


def test_a_primary_graft_failure_without_a_neutrophil_nadir_is_confirmed(coordinator, day0):
    tx.series(coordinator, day0, [{**row, "anc_per_ul": 1200} for row in tx.engrafting_counts(30)])
    transplant = _transplant(day0)
    assert (transplant.anc_nadir_day, transplant.primary_graft_failure) == (None, True)
    form, record, field, message = _one(day0, "TX-015")
    assert (record, field) == (transplant.pk, "anc_nadir_day")
    assert "no absolute neutrophil count below 500/µL is recorded from day 0 to day +30" in message


@pytest.mark.parametrize(("missing", "flagged"), [
    pytest.param({13, 14}, "+13, +14", id="days +13 and +14, before the neutrophils engraft on +15"),
    pytest.param({18, 25}, "+18, +25", id="days +18 and +25, before the platelet run ends on +26"),
    pytest.param({27, 29}, None, id="days +27 and +29, after both engraftments"),
])
def test_days_without_counts_before_the_engraftment(coordinator, day0, missing, flagged):
    tx.series(coordinator, day0, [row for row in tx.engrafting_counts(30)
                                  if (row["count_date"] - DAY0).days not in missing])
    assert _transplant(day0).counts_missing_days == sorted(missing)
    if flagged is None:
        assert _found(day0, "TX-016") == []
        return
    form, record, field, message = _one(day0, "TX-016")
    assert (record, field) == (_transplant(day0).pk, "counts_missing_days")
    assert f"Days without counts: {flagged}, before the engraftment is established (counts recorded to day +30)" \
           in message


def test_days_without_counts_recorded_as_not_done_are_not_asked_again(coordinator, day0):
    tx.series(coordinator, day0, [row for row in tx.engrafting_counts(30) if (row["count_date"] - DAY0).days != 13])
    save_crf(MissedVisit(patient=day0), user=coordinator, complete=True, data={
        "visit_key": "D13", "form": "transplant.DailyCount", "not_done_reason": "Laboratory closed that day"})
    assert _transplant(day0).counts_missing_days == [13]
    assert _found(day0, "TX-016") == []


@pytest.mark.parametrize(("whole_blood", "cd3", "found"), [
    pytest.param("99.0", "98.0", True, id="complete donor chimerism"),
    pytest.param("6.0", "11.0", False, id="autologous recovery: mixed"),
])
def test_a_primary_graft_failure_with_complete_donor_chimerism(coordinator, day0, whole_blood, cd3, found):
    tx.series(coordinator, day0, tx.engrafting_counts(30, neutrophils_from=99))
    tx.chimerism(coordinator, day0, 3, 92, whole_blood=whole_blood, cd3=cd3)
    judged = tx.on_day(93)
    assert (_transplant(day0).primary_graft_failure, _transplant(day0).neutrophil_engraftment_day) == (True, None)
    assert bool(_found(day0, "TX-017", judged)) == found
    if found:
        form, record, field, message = _one(day0, "TX-017", judged)
        assert (record, field) == (_transplant(day0).pk, "primary_graft_failure")
        assert "no neutrophil engraftment in the counts recorded to day +30, yet the 3 months chimerism " \
               "(2020-09-15) is complete donor chimerism" in message
