"""The screening visit and the patient-level stops, as schedule data (trial.schedule, trial.visits).

Screening forms are expected around the registration date; relapses belong to the screening visit; the date of
death, of a withdrawal of consent and of a screen failure stop what is expected afterwards (D14).
"""

from trial.schedule import ALWAYS_STOPS, Anchor, Stop, VisitDef
from trial.visits import AnchorSource, FormVisit, StopSource, contribute

SCREENING = "SCR"
DEATH = "DTH"
# Screening forms are done from two weeks before registration (e.g. the baseline blood counts) to 30 days after.
SCREENING_WINDOW_DAYS = (-14, 30)
_SCREENING_STOPS = ALWAYS_STOPS - {Stop.SCREEN_FAILURE}  # a screen failure still completes its screening

contribute(
    events=[
        VisitDef(SCREENING, "Screening", form, Anchor.REGISTRATION, window=SCREENING_WINDOW_DAYS,
                 stops=_SCREENING_STOPS)
        for form in ("patients.Consent", "patients.DiagnosisHistory", "patients.Baseline", "patients.Eligibility")
    ],
    forms=[
        FormVisit("patients.Registration", SCREENING, date_field="registration_date"),
        FormVisit("patients.Consent", SCREENING, date_field="consent_date"),
        # its dates are the history (diagnosis years before): none of them says when the screening form was done
        FormVisit("patients.DiagnosisHistory", SCREENING),
        FormVisit("patients.Relapse", SCREENING, date_field="relapse_date"),
        FormVisit("patients.Baseline", SCREENING, date_field="assessment_date"),
        FormVisit("patients.Eligibility", SCREENING, date_field="assessment_date"),
        FormVisit("patients.Death", DEATH, date_field="death_date"),
    ],
    anchors=[
        AnchorSource(Anchor.REGISTRATION, "patients.Registration", "registration_date"),
        AnchorSource(Anchor.ELIGIBILITY, "patients.Eligibility", "assessment_date", when={"outcome": "eligible"}),
    ],
    stops=[
        StopSource(Stop.DEATH, "patients.Death", "death_date"),
        StopSource(Stop.WITHDRAWAL, "patients.Consent", "withdrawal_date"),
        StopSource(Stop.SCREEN_FAILURE, "patients.Eligibility", "assessment_date", when={"outcome": "screen_failure"}),
    ],
)
