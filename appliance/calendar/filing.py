"""The filing calendar: the deadline (征期截止日) of each month.

Official deadlines come from a data file (``deadlines.json`` beside this module, replaceable by
configuration or a newer table from provisioning). A month the table lacks falls back to the
15th, moved to the Monday after when it falls on a weekend; the fallback never moves for public
holidays, which is why the official table wins wherever it has a date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from appliance.jsonfile import JsonFileError, load_capped

FALLBACK_DAY = 15
# The lock moment is the last second of the deadline day: invoicing stops after it.
LOCK_TIME = time(23, 59, 59)
# Bounds for a calendar file from outside: a table of plausible years only.
_MIN_YEAR, _MAX_YEAR = 2000, 2100
_MAX_FILE_BYTES = 64 * 1024


class CalendarError(ValueError):
    """A calendar table that cannot be used; the message names the entry."""


@dataclass(frozen=True)
class FilingCalendar:
    """Deadline lookup over an official table with the weekend fallback."""

    official: dict[int, tuple[int | None, ...]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Any) -> FilingCalendar:
        """Build from ``{"deadlines": {"2026": [20, 24, ...]}}``; :class:`CalendarError` if bad."""
        if not isinstance(data, dict) or not isinstance(data.get("deadlines"), dict):
            raise CalendarError("calendar has no 'deadlines' table")
        table: dict[int, tuple[int | None, ...]] = {}
        for key, days in data["deadlines"].items():
            try:
                year = int(key)
            except ValueError:
                raise CalendarError(f"calendar year {key!r} is not a number") from None
            if not _MIN_YEAR <= year <= _MAX_YEAR:
                raise CalendarError(f"calendar year {year} outside {_MIN_YEAR}..{_MAX_YEAR}")
            if not isinstance(days, list) or len(days) != 12:
                raise CalendarError(f"calendar year {year} does not list 12 months")
            for month, day in enumerate(days, start=1):
                if day is None:
                    continue
                if not isinstance(day, int) or isinstance(day, bool):
                    raise CalendarError(f"calendar {year}-{month:02d}: {day!r} is not a day")
                try:
                    date(year, month, day)
                except ValueError:
                    raise CalendarError(f"calendar {year}-{month:02d}-{day} is no date") from None
            table[year] = tuple(days)
        return cls(table)

    @classmethod
    def from_file(cls, path: Path) -> FilingCalendar:
        """Load a calendar file (JSON, at most 64 KiB)."""
        try:
            data = load_capped(path, _MAX_FILE_BYTES, "calendar file")
        except JsonFileError as exc:
            raise CalendarError(str(exc)) from None
        return cls.from_mapping(data)

    def merged(self, newer: FilingCalendar) -> FilingCalendar:
        """Return this calendar with ``newer``'s years replacing or adding to it."""
        return FilingCalendar({**self.official, **newer.official})

    def is_official(self, year: int, month: int) -> bool:
        """Tell whether the table has the official deadline of this month."""
        days = self.official.get(year)
        return days is not None and days[month - 1] is not None

    def deadline(self, year: int, month: int) -> date:
        """Return the filing deadline of ``year``-``month``."""
        days = self.official.get(year)
        if days is not None and (day := days[month - 1]) is not None:
            return date(year, month, day)
        fallback = date(year, month, FALLBACK_DAY)
        if fallback.weekday() >= 5:  # Saturday or Sunday: moved to Monday
            fallback += timedelta(days=7 - fallback.weekday())
        return fallback

    def lock_moment(self, year: int, month: int) -> datetime:
        """Return the moment a device not cleared for this month locks."""
        return datetime.combine(self.deadline(year, month), LOCK_TIME)

    def window(self, year: int, month: int) -> tuple[date, date]:
        """Return the first and last day of the filing window of ``year``-``month``."""
        return date(year, month, 1), self.deadline(year, month)

    def in_window(self, moment: datetime | date) -> bool:
        """Tell whether ``moment`` falls within its month's filing window."""
        day = moment.date() if isinstance(moment, datetime) else moment
        return day <= self.deadline(day.year, day.month)


def default_calendar() -> FilingCalendar:
    """Return the calendar shipped with the appliance."""
    text = resources.files("appliance.calendar").joinpath("deadlines.json").read_text("utf-8")
    return FilingCalendar.from_mapping(json.loads(text))
