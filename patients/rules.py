"""Pure enrollment rules: no Django, no I/O. Each function cites its source in one line."""

from datetime import date
from enum import StrEnum

from dateutil.relativedelta import relativedelta

AGE_RULE_VERSION = "AGE-1"  # completed years and months between two calendar dates (CRF-SPEC Registration)


class AgeGroup(StrEnum):
    UNDER_1 = "under_1"  # < 1 year
    FROM_1_TO_10 = "1_to_10"  # 1–10 years
    OVER_10 = "over_10"  # > 10 years (PROTO Table 1 and Table 3 "age > 10 years")


def age_at(born: date, on: date) -> tuple[int, int]:
    """Age as (completed years, completed months beyond them); calendar arithmetic as dateutil does it.

    CLINICAL-RULES D11: ages in completed years (and months under 2 years).
    """
    if on < born:
        raise ValueError("the date is before the date of birth")
    delta = relativedelta(on, born)
    return delta.years, delta.months


def age_group(years: int) -> AgeGroup:
    """PROTO Table 1 groups, on completed years (D11): < 1, 1–10, > 10 (so 10 y 11 m is still 1–10)."""
    if years < 1:
        return AgeGroup.UNDER_1
    if years > 10:
        return AgeGroup.OVER_10
    return AgeGroup.FROM_1_TO_10
