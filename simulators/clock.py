"""The simulated wall clock (China Standard Time) shared by the device and bureau simulators.

A simulated device or bureau lives at an *anchor* moment that then runs forward in real time. By
default the anchor is 10:00 on the 5th of the current month, inside every month's filing window,
so the demo and the scenarios behave the same on any day they are run; tests pass an explicit
anchor to be exact.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def china_now() -> datetime:
    """Return the host's current time as naive China Standard Time."""
    return datetime.now(UTC).astimezone(CHINA).replace(tzinfo=None)


def default_anchor(now: datetime | None = None) -> datetime:
    """Return 10:00 on the 5th of the month of ``now`` (default: the host's China time)."""
    now = now or china_now()
    return now.replace(day=5, hour=10, minute=0, second=0, microsecond=0)


class SimClock:
    """A clock that starts at ``anchor`` and advances with the host's monotonic clock."""

    def __init__(self, anchor: datetime | None = None) -> None:
        self.anchor = anchor or default_anchor()
        self._start = time.monotonic()

    def now(self) -> datetime:
        """Return the simulated current time (naive, China Standard Time)."""
        return self.anchor + timedelta(seconds=time.monotonic() - self._start)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` and keep running from there."""
        self.anchor = moment
        self._start = time.monotonic()


def parse_moment(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` as naive China time."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date or date-time like 2026-11-05T10:00") from None
