"""Civil date arithmetic on protocol ints agrees with Python's datetime everywhere."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from simulators.device.core import dates

DAYS = st.dates(min_value=date(1901, 1, 1), max_value=date(2199, 12, 31))
MOMENTS = st.datetimes(min_value=datetime(1901, 1, 2), max_value=datetime(2199, 12, 30))

# The device writes Beijing time as a fixed UTC+8 (the zone database has 1940s and 1980s
# daylight saving for Asia/Shanghai, which no tax device knows about).
CHINA = timezone(timedelta(hours=8))


def as_int(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def as_dt_int(moment: datetime) -> int:
    return (
        as_int(moment.date()) * 1_000_000
        + moment.hour * 10000
        + moment.minute * 100
        + moment.second
    )


@given(DAYS)
def test_days_round_trip_and_match_the_ordinal(day: date) -> None:
    days = dates.days_from_civil(day.year, day.month, day.day)
    assert days == (day - date(1970, 1, 1)).days
    assert dates.civil_from_days(days) == (day.year, day.month, day.day)
    assert dates.from_days(days) == as_int(day)


@given(DAYS, st.integers(-4000, 4000))
def test_add_days(day: date, count: int) -> None:
    expected = day + timedelta(days=count)
    if date(1900, 1, 1) <= expected:
        assert dates.add_days(as_int(day), count) == as_int(expected)


@given(DAYS)
def test_month_boundaries(day: date) -> None:
    value = as_int(day)
    last = calendar.monthrange(day.year, day.month)[1]
    assert dates.last_day_of_month(value) == as_int(day.replace(day=last))
    following = day.replace(day=last) + timedelta(days=1)
    assert dates.first_day_next_month(value) == as_int(following)
    assert dates.month_index(value) == day.year * 12 + day.month - 1
    assert dates.month_from_index(dates.month_index(value)) == (day.year, day.month)
    assert dates.period_of(value) == day.year * 100 + day.month
    assert dates.period_index(dates.period_of(value)) == dates.month_index(value)
    assert dates.is_valid_date(value)
    assert dates.is_leap(day.year) == calendar.isleap(day.year)


@given(MOMENTS.map(lambda m: m.replace(microsecond=0)))
def test_epoch_conversions_are_china_time(moment: datetime) -> None:
    value = as_dt_int(moment)
    epoch = int(moment.replace(tzinfo=CHINA).timestamp())
    assert dates.datetime_to_epoch(value) == epoch
    assert dates.epoch_to_datetime(epoch) == value
    assert dates.date_of(value) == as_int(moment.date())
    assert dates.split_datetime(value)[3:] == (moment.hour, moment.minute, moment.second)


@given(MOMENTS.map(lambda m: m.replace(microsecond=0)), st.integers(-(10**8), 10**8))
def test_add_seconds(moment: datetime, seconds: int) -> None:
    later = moment + timedelta(seconds=seconds)
    if datetime(1900, 1, 2) <= later:
        assert dates.add_seconds(as_dt_int(moment), seconds) == as_dt_int(later)


def test_epoch_zero_is_eight_in_the_morning_in_china() -> None:
    assert dates.epoch_to_datetime(0) == 19700101080000
    assert datetime.fromtimestamp(0, UTC).astimezone(CHINA).hour == 8


def test_impossible_days_are_not_valid() -> None:
    assert not dates.is_valid_date(20260230)
    assert not dates.is_valid_date(20261301)
    assert dates.is_valid_date(20240229)
    assert not dates.is_valid_date(20250229)
