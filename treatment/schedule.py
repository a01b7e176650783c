"""The treatment events as schedule data (trial.schedule, trial.visits): debulking, cycle N, intrathecal therapy
14 ± 7 days after each cycle's end (D12) and the response assessment after each cycle.

Cycle 1 is expected once the patient is eligible; cycle 2 is a decision, not a schedule, so its visits are
expected only once it has started. Daily CRS and ICANS assessments, adverse events and interruptions belong to
the cycle they fall in and have no overdue rule of their own (D14).
"""

from trial.schedule import Anchor, Point, VisitDef
from trial.visits import AnchorSource, FormVisit, contribute

DEBULKING = "DEB"
CYCLE = "C{n}"
INTRATHECAL = "C{n}-IT"
RESPONSE = "C{n}-RESP"

# Study parameters (readings to confirm with the principal investigator; README "Visit schedule").
DEBULKING_WINDOW_DAYS = (0, 21)  # debulking chemotherapy starts within 3 weeks of eligibility
CYCLE_1_WINDOW_DAYS = (0, 42)  # cycle 1 starts within 6 weeks of eligibility, after debulking
INTRATHECAL_DAYS_AFTER_END, INTRATHECAL_WINDOW_DAYS = 14, (-7, 7)  # PROTO "two weeks after each cycle"; D12
RESPONSE_WINDOW_DAYS = (0, 14)  # the marrow is assessed in the treatment-free interval after the cycle

contribute(
    events=[
        VisitDef(DEBULKING, "Debulking chemotherapy", "treatment.Debulking", Anchor.ELIGIBILITY,
                 window=DEBULKING_WINDOW_DAYS),
        VisitDef("C1", "Blinatumomab cycle 1", "treatment.BlinatumomabCycle", Anchor.ELIGIBILITY,
                 window=CYCLE_1_WINDOW_DAYS),
        VisitDef(INTRATHECAL, "Intrathecal therapy after cycle {n}", "treatment.IntrathecalTherapy",
                 Anchor.CYCLE_END, points=(Point("", days=INTRATHECAL_DAYS_AFTER_END),), per_cycle=True,
                 window=INTRATHECAL_WINDOW_DAYS),
        VisitDef(RESPONSE, "Response assessment after cycle {n}", "treatment.ResponseAssessment",
                 Anchor.CYCLE_END, per_cycle=True, window=RESPONSE_WINDOW_DAYS),
    ],
    forms=[
        FormVisit("treatment.Debulking", DEBULKING, date_field="start_date"),
        FormVisit("treatment.BlinatumomabCycle", CYCLE, date_field="start_date", index_field="cycle_number"),
        FormVisit("treatment.InfusionInterruption", CYCLE, date_field="start_date", index_field="cycle_number"),
        FormVisit("treatment.CrsAssessment", CYCLE, date_field="assessment_date", index_field="cycle_number"),
        FormVisit("treatment.IcansAssessment", CYCLE, date_field="assessment_date", index_field="cycle_number"),
        FormVisit("treatment.AdverseEvent", CYCLE, date_field="onset_date", index_field="cycle_number"),
        FormVisit("treatment.IntrathecalTherapy", INTRATHECAL, date_field="administration_date",
                  index_field="cycle_number"),
        FormVisit("treatment.ResponseAssessment", RESPONSE, date_field="assessment_date", index_field="cycle_number"),
    ],
    anchors=[
        AnchorSource(Anchor.CYCLE_START, "treatment.BlinatumomabCycle", "start_date", index_field="cycle_number"),
        AnchorSource(Anchor.CYCLE_END, "treatment.BlinatumomabCycle", "end_date", index_field="cycle_number"),
    ],
)
