"""The simulated wall clock (Beijing time) shared by the device and bureau simulators.

A simulated device or bureau lives at an *anchor* moment that then runs forward in real time. By
default the anchor is 10:00 on the 5th of the product clock's month (:mod:`appliance.clock`),
inside every month's filing window, so the demo and the scenarios behave the same on any day they
are run; tests and ``qingka demo --today`` pass an explicit anchor to be exact.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from appliance.clock import CHINA, clock


def product_now() -> float:
    """Return the product clock's epoch seconds (read late: tests swap the clock)."""
    return clock().timestamp()


def default_anchor(now: datetime | None = None) -> datetime:
    """Return 10:00 on the 5th of the month of ``now`` (default: the product clock, Beijing)."""
    now = now or clock().china()
    return now.replace(day=5, hour=10, minute=0, second=0, microsecond=0)


class SimClock:
    """A clock that starts at ``anchor`` and advances with the host's monotonic clock."""

    def __init__(self, anchor: datetime | None = None) -> None:
        self.anchor = anchor or default_anchor()
        self._start = time.monotonic()

    def now(self) -> datetime:
        """Return the simulated current time (naive, Beijing time)."""
        return self.anchor + timedelta(seconds=time.monotonic() - self._start)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` and keep running from there."""
        self.anchor = moment
        self._start = time.monotonic()


def parse_moment(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS][+08:00]`` as naive Beijing time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date or date-time like 2026-11-05T10:00") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA).replace(tzinfo=None)
    return moment
