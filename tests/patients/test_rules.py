"""Age and age group (CRF-SPEC Registration; CLINICAL-RULES D11). No database."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.rules import AgeGroup, age_at, age_group

AGES = [
    pytest.param(date(2015, 3, 10), date(2015, 3, 10), (0, 0), id="born on the registration day"),
    pytest.param(date(2019, 1, 31), date(2019, 2, 27), (0, 0), id="born on the 31st, 27 Feb is not a month"),
    pytest.param(date(2019, 1, 31), date(2019, 2, 28), (0, 1), id="born on the 31st, month reached at month end"),
    pytest.param(date(2016, 2, 29), date(2017, 2, 27), (0, 11), id="leap-day baby two days before"),
    pytest.param(date(2016, 2, 29), date(2017, 2, 28), (1, 0), id="leap-day baby is 1 on 28 Feb"),
    pytest.param(date(2010, 6, 15), date(2020, 6, 14), (9, 11), id="day before 10th birthday"),
    pytest.param(date(2010, 6, 15), date(2020, 6, 15), (10, 0), id="10th birthday"),
    pytest.param(date(2002, 4, 1), date(2020, 4, 1), (18, 0), id="exactly 18 on the day"),
    pytest.param(date(2019, 9, 1), date(2020, 5, 1), (0, 8), id="8 months, youngest in the paper"),
]


@pytest.mark.parametrize(("born", "on", "expected"), AGES)
def test_age_in_completed_years_and_months(born, on, expected):
    assert age_at(born, on) == expected


def test_age_before_birth_is_refused():
    with pytest.raises(ValueError, match="before the date of birth"):
        age_at(date(2020, 1, 2), date(2020, 1, 1))


GROUPS = [
    pytest.param(0, AgeGroup.UNDER_1, id="11 months is under 1"),
    pytest.param(1, AgeGroup.FROM_1_TO_10, id="1 year is 1-10"),
    pytest.param(10, AgeGroup.FROM_1_TO_10, id="10 completed years is still 1-10"),
    pytest.param(11, AgeGroup.OVER_10, id="11 completed years is over 10"),
    pytest.param(18, AgeGroup.OVER_10, id="18 is over 10"),
]


@pytest.mark.parametrize(("years", "expected"), GROUPS)
def test_age_group(years, expected):
    assert age_group(years) == expected


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)), st.integers(0, 9000))
def test_age_never_decreases_with_time(born, days):
    from datetime import timedelta

    earlier = age_at(born, born + timedelta(days=days))
    later = age_at(born, born + timedelta(days=days + 1))
    assert later >= earlier
    assert 0 <= later[1] < 12
