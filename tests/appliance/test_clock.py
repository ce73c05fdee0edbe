"""The product's clock and its month helpers."""

from __future__ import annotations

import calendar
import math
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance import clock as clk
from appliance.clock import (
    CHINA,
    ClockError,
    FixedClock,
    ShiftedClock,
    first_of_next_month,
    last_of_month,
    month_index,
    month_of,
    month_window,
    next_month,
    parse_moment,
    period_after,
    period_index,
    previous_month,
    shift_from_env,
    split_period,
)

DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


def test_beijing_time_whatever_the_zone_people_read() -> None:
    # 16:30 UTC on the last day of 2026 is already 2027 in Beijing.
    fixed = FixedClock(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), clk.zone_named("Europe/Paris"))
    assert fixed.china() == datetime(2027, 1, 1, 0, 30)
    assert fixed.today() == date(2027, 1, 1)
    assert fixed.now().isoformat() == "2026-12-31T17:30:00+01:00"
    assert fixed.stamp() == "2026-12-31T17:30:00+01:00"


def test_a_naive_moment_is_taken_as_the_zones_own() -> None:
    fixed = FixedClock(datetime(2027, 2, 28, 10, 0))
    assert fixed.now().utcoffset() == timedelta(hours=8)
    assert fixed.in_zone(datetime(2027, 2, 28, 10, 0)) == fixed.now()
    fixed.advance(86400)
    assert fixed.today() == date(2027, 3, 1)
    assert fixed.after(60) == fixed.now() + timedelta(minutes=1)


def test_a_shifted_clock_runs_from_another_moment() -> None:
    target = datetime(2028, 2, 29, 23, 59, tzinfo=CHINA)
    shifted = ShiftedClock(target.timestamp() - time.time())
    assert abs(shifted.now() - target) < timedelta(seconds=5)
    later = shifted.now()
    time.sleep(0.01)
    assert shifted.now() > later


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-02-28", datetime(2027, 2, 28, 10, 0, tzinfo=CHINA)),
        ("2026-12-31T23:59", datetime(2026, 12, 31, 23, 59, tzinfo=CHINA)),
        ("2026-12-31 23:59:30", datetime(2026, 12, 31, 23, 59, 30, tzinfo=CHINA)),
        ("2026-12-31T15:59:00+00:00", datetime(2026, 12, 31, 23, 59, tzinfo=CHINA)),
    ],
)
def test_moments_people_type(text: str, expected: datetime) -> None:
    assert parse_moment(text) == expected


@pytest.mark.parametrize("text", ["2027-02-29", "2027-13-01", "tomorrow", "", "2027-1-1"])
def test_impossible_moments_are_refused_by_name(text: str) -> None:
    with pytest.raises(ClockError, match="is not a day"):
        parse_moment(text)


@pytest.mark.parametrize("text", ["soon", "nan", "1e300", "-inf"])
def test_a_bad_shift_is_refused(text: str) -> None:
    with pytest.raises(ClockError, match="QINGKA_CLOCK_SHIFT"):
        shift_from_env({"QINGKA_CLOCK_SHIFT": text})


def test_no_shift_is_no_shift() -> None:
    assert shift_from_env({}) == 0.0
    assert shift_from_env({"QINGKA_CLOCK_SHIFT": " "}) == 0.0
    assert math.isclose(shift_from_env({"QINGKA_CLOCK_SHIFT": "-86400.5"}), -86400.5)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ClockError, match="Mars/Olympus"):
        clk.zone_named("Mars/Olympus")


def test_month_helpers_at_year_ends_and_leap_years() -> None:
    assert next_month(2026, 12) == (2027, 1)
    assert previous_month(2027, 1) == (2026, 12)
    assert period_after(202612) == 202701
    assert month_window(202402) == (date(2024, 2, 1), date(2024, 2, 29))
    assert month_window(202302) == (date(2023, 2, 1), date(2023, 2, 28))
    assert month_window(210002) == (date(2100, 2, 1), date(2100, 2, 28))  # not a leap year
    assert first_of_next_month(date(2026, 12, 31)) == date(2027, 1, 1)
    assert month_of(datetime(2028, 2, 29, 23, 59)) == 202802


@pytest.mark.parametrize("period", [202613, 202600, 99, -202601])
def test_impossible_periods_are_refused(period: int) -> None:
    with pytest.raises(ClockError, match="YYYYMM"):
        split_period(period)


@given(DAYS)
def test_month_helpers_agree_with_the_standard_calendar(day: date) -> None:
    year, month = day.year, day.month
    assert last_of_month(year, month).day == calendar.monthrange(year, month)[1]
    assert first_of_next_month(day) == last_of_month(year, month) + timedelta(days=1)
    assert previous_month(*next_month(year, month)) == (year, month)
    assert month_index(first_of_next_month(day)) == month_index(day) + 1
    assert period_index(month_of(day)) == month_index(day)
    assert split_period(month_of(day)) == (year, month)
