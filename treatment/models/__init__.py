"""Blinatumomab treatment CRFs, one module per concept: debulking, cycles, toxicity, adverse events, response."""

from treatment.models.adverse_events import AdverseEvent, CtcaeTerm
from treatment.models.cycle import BlinatumomabCycle, InfusionInterruption, IntrathecalTherapy
from treatment.models.debulking import Debulking
from treatment.models.response import ResponseAssessment
from treatment.models.toxicity import CrsAssessment, IcansAssessment

__all__ = ["AdverseEvent", "BlinatumomabCycle", "CrsAssessment", "CtcaeTerm", "Debulking", "IcansAssessment",
           "InfusionInterruption", "IntrathecalTherapy", "ResponseAssessment"]
