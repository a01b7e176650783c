"""Transplant and post-transplant CRFs, one module per concept: donor and graft, the procedure (day 0, with what is
derived for the patient), daily counts, GVHD, and the monitoring after transplant. The patient's follow-up, death
and off-study live with the patient (patients.models.vital), below this app."""

from transplant.models.counts import DailyCount
from transplant.models.donor import Donor, DonorType, Graft
from transplant.models.gvhd import AcuteGvhd, ChronicGvhd
from transplant.models.monitoring import (
    Chimerism,
    DonorLymphocyteInfusion,
    ImmuneReconstitution,
    Infection,
    PostTransplantRelapse,
    ViralLoad,
)
from transplant.models.procedure import TransplantProcedure

__all__ = ["AcuteGvhd", "Chimerism", "ChronicGvhd", "DailyCount", "Donor", "DonorLymphocyteInfusion", "DonorType",
           "Graft", "ImmuneReconstitution", "Infection", "PostTransplantRelapse", "TransplantProcedure", "ViralLoad"]
