"""The filing calendar: official deadlines from the data file, the weekend fallback, bad tables."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.calendar.filing import CalendarError, FilingCalendar, default_calendar

# DESIGN §2: the official deadlines of 2023 and 2026, month by month.
OFFICIAL_2023 = [16, 15, 15, 17, 18, 15, 17, 15, 15, 23, 15, 15]
OFFICIAL_2026 = [20, 24, 16, 20, 22, 15, 15, 17, 15, 26, 16, 15]


def test_official_dates() -> None:
    calendar = default_calendar()
    assert [calendar.deadline(2023, m).day for m in range(1, 13)] == OFFICIAL_2023
    assert [calendar.deadline(2026, m).day for m in range(1, 13)] == OFFICIAL_2026
    assert calendar.deadline(2022, 10) == date(2022, 10, 25)
    assert calendar.is_official(2026, 11)
    assert not calendar.is_official(2022, 11)


def test_lock_moment_and_window() -> None:
    calendar = default_calendar()
    assert calendar.lock_moment(2026, 11) == datetime(2026, 11, 16, 23, 59, 59)
    assert calendar.window(2026, 2) == (date(2026, 2, 1), date(2026, 2, 24))
    assert calendar.in_window(date(2026, 2, 24))
    assert not calendar.in_window(datetime(2026, 2, 25, 0, 0))


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2027, 5, date(2027, 5, 17)),  # the 15th is a Saturday: Monday the 17th
        (2027, 8, date(2027, 8, 16)),  # a Sunday: Monday the 16th
        (2027, 6, date(2027, 6, 15)),  # a Tuesday: unchanged
        (2022, 11, date(2022, 11, 15)),  # a year on file, but not this month
    ],
)
def test_fallback_is_the_15th_moved_past_a_weekend(year: int, month: int, expected: date) -> None:
    assert default_calendar().deadline(year, month) == expected


@given(st.integers(2000, 2100), st.integers(1, 12))
def test_a_deadline_is_never_on_a_weekend_unless_official(year: int, month: int) -> None:
    calendar = default_calendar()
    deadline = calendar.deadline(year, month)
    assert deadline.month == month
    if not calendar.is_official(year, month):
        assert deadline.weekday() < 5
        assert 15 <= deadline.day <= 17


def test_a_newer_table_replaces_its_years(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"deadlines": {"2027": [18] * 12}}))
    merged = default_calendar().merged(FilingCalendar.from_file(path))
    assert merged.deadline(2027, 3) == date(2027, 3, 18)
    assert merged.deadline(2026, 11) == date(2026, 11, 16)


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"[]",
        b'{"deadlines": {"x": []}}',
        b'{"deadlines": {"1800": [15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15]}}',
        b'{"deadlines": {"2027": [15]}}',
        b'{"deadlines": {"2027": [31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 31]}}',
        b'{"deadlines": {"2027": ["15", 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15]}}',
        b" " * (70 * 1024),
    ],
)
def test_bad_tables_are_refused_with_a_reason(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "calendar.json"
    path.write_bytes(content)
    with pytest.raises(CalendarError):
        FilingCalendar.from_file(path)
