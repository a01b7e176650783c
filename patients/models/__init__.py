"""Enrollment CRFs, one module per concept: registration, consent, diagnosis & history, baseline, eligibility."""

from patients.models.baseline import Baseline
from patients.models.codes import YesNo
from patients.models.consent import Consent
from patients.models.diagnosis import DiagnosisHistory, Relapse
from patients.models.eligibility import Eligibility
from patients.models.registration import AgeGroup, Patient, Registration, Sex, SubjectNumber

__all__ = ["AgeGroup", "Baseline", "Consent", "DiagnosisHistory", "Eligibility", "Patient", "Registration",
           "Relapse", "Sex", "SubjectNumber", "YesNo"]
