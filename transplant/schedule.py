"""The transplant and follow-up events as schedule data (trial.schedule, trial.visits).

Day 0 (the graft infusion, on the transplant procedure) anchors everything after it: daily counts D00–D30, acute
GVHD weekly W01–W14 to day +100, chronic GVHD from day +100, chimerism and immune reconstitution at 3, 6, 12 and
18 months (±14 days), viral loads weekly to day +180, every 2 weeks to +365 and monthly to month 24 (D12 windows).
A relapse after transplant stops that monitoring; follow-up every 3 months to 60 months (±30 days) continues,
counted from day 0, or from enrollment (eligibility) for a patient never transplanted (D14). Donor and graft are
expected once day 0 is known; the transplant is a decision, not a schedule, so nothing of it is due before.
"""

from trial.schedule import (
    ALWAYS_STOPS,
    MONITORING_STOPS,
    Anchor,
    Point,
    Stop,
    VisitDef,
    at_months,
    every_months,
    weekly,
)
from trial.visits import AnchorSource, FormVisit, StopSource, contribute

TRANSPLANT = "HSCT"
DAILY_COUNT = "D{n:02d}"
RELAPSE_AFTER_TRANSPLANT = "REL"
INFECTION = "INF"
DLI = "DLI"
OFF_STUDY = "EOS"

# Study parameters (readings to confirm with the principal investigator; README "Visit schedule").
DONOR_WINDOW_DAYS = (-120, 7)  # the donor is chosen and typed before the graft is collected
GRAFT_WINDOW_DAYS = (-3, 7)  # collected on day 0 (fresh haploidentical PBSC) or just before
COUNT_DAYS, COUNT_WINDOW_DAYS = 30, (0, 7)  # CRF-SPEC: day 0 to at least +30; a day's count is overdue a week later
AGVHD_LAST_DAY, AGVHD_WINDOW_DAYS = 100, (-3, 3)  # D14: weekly to day +100
CGVHD_DAY, CGVHD_MONTHS, CGVHD_WINDOW_DAYS = 100, (6, 12, 18, 24), (-14, 14)  # from day +100, then at follow-up visits
MONTHS, MONTH_WINDOW_DAYS = (3, 6, 12, 18), (-14, 14)  # D14 / D12: chimerism and immune reconstitution
VL_WEEKLY_TO_DAY, VL_WEEKLY_WINDOW = 180, (-3, 3)  # D12
VL_BIWEEKLY_TO_DAY, VL_BIWEEKLY_WINDOW = 365, (-5, 5)
VL_MONTHLY_TO_MONTH, VL_MONTHLY_WINDOW = 24, (-7, 7)
FOLLOW_UP_EVERY, FOLLOW_UP_TO_MONTH, FOLLOW_UP_WINDOW = 3, 60, (-30, 30)


def _viral_load_points() -> tuple[tuple[Point, ...], tuple[Point, ...], tuple[Point, ...]]:
    weekly_points = weekly("VL", 7, VL_WEEKLY_TO_DAY, width=2)
    last_weekly = weekly_points[-1].days
    biweekly_points = weekly("VL", last_weekly + 14, VL_BIWEEKLY_TO_DAY, every=14,
                             start_number=len(weekly_points) + 1)
    first_month = 13  # month 12 is day ~365, the last of the two-weekly visits
    monthly_points = tuple(Point(f"VL{number:02d}", months=month) for number, month in enumerate(
        range(first_month, VL_MONTHLY_TO_MONTH + 1), len(weekly_points) + len(biweekly_points) + 1))
    return weekly_points, biweekly_points, monthly_points


_VL_WEEKLY, _VL_BIWEEKLY, _VL_MONTHLY = _viral_load_points()

contribute(
    events=[
        VisitDef(TRANSPLANT, "Transplant", "transplant.Donor", Anchor.TRANSPLANT, window=DONOR_WINDOW_DAYS),
        VisitDef(TRANSPLANT, "Transplant", "transplant.Graft", Anchor.TRANSPLANT, window=GRAFT_WINDOW_DAYS),
        VisitDef("D", "Daily counts", "transplant.DailyCount", Anchor.TRANSPLANT,
                 points=weekly("D", 0, COUNT_DAYS, every=1, start_number=0), window=COUNT_WINDOW_DAYS,
                 stops=MONITORING_STOPS),
        VisitDef("W", "Acute GVHD (weekly)", "transplant.AcuteGvhd", Anchor.TRANSPLANT,
                 points=weekly("W", 7, AGVHD_LAST_DAY), window=AGVHD_WINDOW_DAYS, stops=MONITORING_STOPS),
        VisitDef("CG", "Chronic GVHD", "transplant.ChronicGvhd", Anchor.TRANSPLANT,
                 points=(Point("CGD100", days=CGVHD_DAY), *at_months("CGM", CGVHD_MONTHS)),
                 window=CGVHD_WINDOW_DAYS, stops=MONITORING_STOPS),
        VisitDef("M", "Chimerism", "transplant.Chimerism", Anchor.TRANSPLANT, points=at_months("M", MONTHS),
                 window=MONTH_WINDOW_DAYS, stops=MONITORING_STOPS),
        VisitDef("M", "Immune reconstitution", "transplant.ImmuneReconstitution", Anchor.TRANSPLANT,
                 points=at_months("M", MONTHS), window=MONTH_WINDOW_DAYS, stops=MONITORING_STOPS),
        VisitDef("VL", "Viral loads (weekly)", "transplant.ViralLoad", Anchor.TRANSPLANT, points=_VL_WEEKLY,
                 window=VL_WEEKLY_WINDOW, stops=MONITORING_STOPS),
        VisitDef("VL", "Viral loads (every 2 weeks)", "transplant.ViralLoad", Anchor.TRANSPLANT,
                 points=_VL_BIWEEKLY, window=VL_BIWEEKLY_WINDOW, stops=MONITORING_STOPS),
        VisitDef("VL", "Viral loads (monthly)", "transplant.ViralLoad", Anchor.TRANSPLANT, points=_VL_MONTHLY,
                 window=VL_MONTHLY_WINDOW, stops=MONITORING_STOPS),
        VisitDef("FU", "Follow-up", "patients.FollowUp", Anchor.FOLLOW_UP,
                 points=every_months("FU", FOLLOW_UP_EVERY, FOLLOW_UP_TO_MONTH), window=FOLLOW_UP_WINDOW,
                 stops=ALWAYS_STOPS),
    ],
    forms=[
        FormVisit("transplant.Donor", TRANSPLANT),
        FormVisit("transplant.Graft", TRANSPLANT, date_field="collection_date"),
        FormVisit("transplant.TransplantProcedure", TRANSPLANT, date_field="transplant_date"),
        FormVisit("transplant.DailyCount", DAILY_COUNT, date_field="count_date", index_field="day_post_transplant"),
        FormVisit("transplant.AcuteGvhd", date_field="assessment_date"),
        FormVisit("transplant.ChronicGvhd", date_field="assessment_date"),
        FormVisit("transplant.Chimerism", "M{n}", date_field="sample_date", index_field="timepoint_months"),
        FormVisit("transplant.ImmuneReconstitution", "M{n}", date_field="sample_date", index_field="timepoint_months"),
        FormVisit("transplant.ViralLoad", date_field="sample_date"),
        FormVisit("transplant.Infection", INFECTION, date_field="onset_date"),
        FormVisit("transplant.DonorLymphocyteInfusion", DLI, date_field="infusion_date"),
        FormVisit("transplant.PostTransplantRelapse", RELAPSE_AFTER_TRANSPLANT, date_field="relapse_date"),
        FormVisit("patients.FollowUp", date_field="contact_date"),
        FormVisit("patients.OffStudy", OFF_STUDY, date_field="off_study_date"),
    ],
    anchors=[
        AnchorSource(Anchor.TRANSPLANT, "transplant.TransplantProcedure", "transplant_date"),
        # Follow-up counts from enrollment (the date found eligible) until the patient is transplanted, then from
        # day 0 (the later source wins); a screen failure is not followed up.
        AnchorSource(Anchor.FOLLOW_UP, "patients.Eligibility", "assessment_date", when={"outcome": "eligible"}),
        AnchorSource(Anchor.FOLLOW_UP, "transplant.TransplantProcedure", "transplant_date"),
    ],
    stops=[
        StopSource(Stop.RELAPSE_AFTER_TRANSPLANT, "transplant.PostTransplantRelapse", "relapse_date"),
        StopSource(Stop.OFF_STUDY, "patients.OffStudy", "off_study_date"),
    ],
)
