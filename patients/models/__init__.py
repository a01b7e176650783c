"""Patient-level CRFs, one module per concept: registration, consent, diagnosis & history, baseline, eligibility,
and the vital status (death) that the treatment and transplant apps read."""

from patients.models.baseline import Baseline
from patients.models.codes import YesNo
from patients.models.consent import Consent
from patients.models.diagnosis import DiagnosisHistory, Relapse
from patients.models.eligibility import Eligibility
from patients.models.registration import AgeGroup, Patient, Registration, Sex, SubjectNumber
from patients.models.vital import CauseOfDeath, Death, FollowUp, OffStudy

__all__ = ["AgeGroup", "Baseline", "CauseOfDeath", "Consent", "Death", "DiagnosisHistory", "Eligibility", "FollowUp",
           "OffStudy", "Patient",
           "Registration", "Relapse", "Sex", "SubjectNumber", "YesNo"]
