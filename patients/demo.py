"""Demo enrollment data: consent, diagnosis with relapses, baseline and eligibility for the demo patients.

A mix like the paper's cohort (PROTO Table 1): mostly first high-risk relapses, some second relapses and
refractory disease, plus two screen failures (Lansky 80; isolated extramedullary relapse) and one
withdrawal. Everything is saved through the one save path, so the demo has a real audit trail.
"""

import random
from datetime import timedelta
from decimal import Decimal

from patients import rules
from patients.models import Baseline, Consent, DiagnosisHistory, Eligibility, Patient, Relapse
from trial.crf import save_crf
from trial.demo import demo_step

PROFILES = ["first_hr", "first_hr", "second", "refractory", "first_hr", "first_hr", "second", "lansky_80",
            "first_hr", "refractory", "first_hr", "first_hr", "second", "first_hr", "isolated_em", "first_hr",
            "refractory", "first_hr", "withdrawn", "first_hr"]
CYTOGENETICS = ["etv6_runx1", "high_hyperdiploidy", "bcr_abl1", "kmt2a_r", "tcf3_pbx1", "normal", "not_done",
                "iamp21", "bcr_abl1_like", "hypodiploidy"]


def _wbc(rng: random.Random) -> int:
    """Skewed like the paper's counts (median ≈ 8,400/µL, 1,400 to 162,000)."""
    return int(min(162_000, max(1_400, rng.lognormvariate(9.0, 0.9))) // 100 * 100)


def enroll_demo_patient(patient: Patient, user, profile: str, rng: random.Random) -> None:
    registration = patient.registration
    born, registered = registration.date_of_birth, registration.registration_date
    age = rules.age_at(born, registered)[0]
    save_crf(Consent(patient=patient), user=user, complete=True, data={
        "consent_date": registered, "consent_version": "2.0",
        "assent_date": registered if rules.assent_required(age) else None})

    life = (registered - born).days
    diagnosed = born + timedelta(days=max(30, int(life * 0.3)))
    span = (registered - diagnosed).days
    relapse_days = {"second": [0.35, 0.8], "refractory": [0.5]}.get(profile, [0.6])
    relapse_dates = [diagnosed + timedelta(days=max(1, int(span * f))) for f in relapse_days]
    first = relapse_dates[0]
    end_of_frontline = diagnosed + timedelta(days=int(span * 0.45))
    completed = end_of_frontline < first and (first - diagnosed).days > 540
    save_crf(DiagnosisHistory(patient=patient), user=user, complete=True, data={
        "diagnosis_date": diagnosed, "immunophenotype": "bcp", "cytogenetics": rng.choice(CYTOGENETICS),
        "frontline_protocol": rng.choice(["St. Jude Total XV", "BFM 2009", "PETHEMA LAL-BR"]),
        "frontline_status": "completed" if completed else "ongoing",
        "frontline_end_date": end_of_frontline if completed else None,
        "last_induction_response": "refractory" if profile == "refractory" else "remission",
        "prior_chemotherapy_lines": len(relapse_dates) + (1 if profile == "refractory" else 0),
        "prior_hsct": "N", "prior_immunotherapy": "N",
        "high_risk_by_mrd": "Y" if profile == "first_hr" else "not_assessed"})
    for number, when in enumerate(relapse_dates, start=1):
        isolated_em = profile == "isolated_em"
        site = "isolated_em" if isolated_em else ("combined" if number == 2 else "isolated_bm")
        save_crf(Relapse(patient=patient), user=user, complete=True, data={
            "relapse_date": when, "relapse_site": site,
            "extramedullary_location": "cns" if site != "isolated_bm" else ""})

    years = (registered - born).days / 365.25  # rough growth curve, enough for plausible BSA and doses
    height = (50 + 25 * years) if years < 1 else min(178, 75 + 6.2 * (years - 1))
    weight = (3.5 + 6.5 * years) if years < 1 else 10 + 2.3 * (years - 1) + 0.1 * (years - 1) ** 2
    height, weight = height * rng.uniform(0.96, 1.04), weight * rng.uniform(0.9, 1.1)
    save_crf(Baseline(patient=patient), user=user, complete=True, data={
        "assessment_date": registered + timedelta(days=1),
        "weight_kg": Decimal(f"{weight:.1f}"), "height_cm": Decimal(f"{height:.1f}"),
        "wbc_per_ul": _wbc(rng) if profile != "refractory" or rng.random() < 0.5 else rng.randint(52_000, 98_000),
        # Refractory patients arrive severely anaemic: below the soft range, so the data review lists them.
        "hemoglobin_g_dl": Decimal("4.6") if profile == "refractory" else Decimal(f"{rng.uniform(6.5, 12.5):.1f}"),
        "platelets_10e9_l": rng.randint(12, 260),
        "marrow_blasts_pct": Decimal("2.0") if profile == "isolated_em" else Decimal(f"{rng.uniform(25, 95):.1f}"),
        "cd19_pct": Decimal(f"{rng.uniform(82, 99.5):.1f}"),
        "cns_status": "CNS3" if profile == "isolated_em" else rng.choice(["CNS1", "CNS1", "CNS1", "CNS2"]),
        "lumbar_puncture_date": registered + timedelta(days=1),
        "extramedullary_disease": "Y" if profile == "isolated_em" else "N",
        "extramedullary_sites": "CNS" if profile == "isolated_em" else "",
        "hla_typing_done": "Y", "hla_typing_date": registered + timedelta(days=2), "hla_typing_method": "pcr_ssp",
        "performance_score": 80 if profile == "lansky_80" else rng.choice([90, 90, 100])})
    save_crf(Eligibility(patient=patient), user=user, complete=True,
             data={"assessment_date": registered + timedelta(days=3)})
    if profile == "withdrawn":
        consent = Consent.objects.get(patient=patient)
        save_crf(consent, user=user, expected_version=consent.version, reason="Guardian withdrew consent",
                 data={"withdrawal_date": registered + timedelta(days=20),
                       "withdrawal_reason": "Family moved to another state; care continues outside the study."})


@demo_step(order=10, name="enrolled")
def load_enrollment(patients: list[Patient], coordinators: dict) -> int:
    """Enroll every demo patient that has no consent yet; returns how many were enrolled."""
    done = 0
    for index, patient in enumerate(patients):
        if Consent.objects.filter(patient=patient).exists():
            continue
        rng = random.Random(5000 + index)  # noqa: S311 - the same demo data on every machine
        enroll_demo_patient(patient, coordinators[patient.site_id], PROFILES[index % len(PROFILES)], rng)
        done += 1
    return done
