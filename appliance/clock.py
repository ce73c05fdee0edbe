"""Time for the whole product: one injectable clock, and one set of month/period helpers.

Everything that asks "what time is it" asks :func:`clock`. Two readings matter:

- the tax domain runs on Beijing time whatever the system's time zone: periods, deadlines, the
  device's and the bureau's clocks (:meth:`Clock.china`, :meth:`Clock.today`);
- people read times in the product's zone, ``Asia/Shanghai`` unless configured otherwise
  (:meth:`Clock.now`, :meth:`Clock.stamp`, :func:`set_zone`).

The clock can be moved without touching the system clock, for training and tests:
``QINGKA_CLOCK_SHIFT`` (seconds, read once at import) shifts it, and every child process that
inherits the environment runs on the same shifted time. ``qingka demo --today`` and the test
suite's ``--today`` use it; a box in the field never has it set. Monotonic timing (timeouts,
intervals) is not "time" in this sense and stays on :func:`time.monotonic`.

Periods (报税所属期) are months written ``YYYYMM`` as an int, the way the device and the bureau
write them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
# The tax calendar's zone: not configurable, the State Taxation Administration's.
CHINA = ZoneInfo(DEFAULT_ZONE)
SHIFT_ENV = "QINGKA_CLOCK_SHIFT"
# A shift beyond a century is a typo, not a training scenario.
_MAX_SHIFT_S = 100 * 366 * 86400.0


class ClockError(ValueError):
    """A time zone, shift or moment that cannot be used; the message says which."""


def zone_named(name: str) -> tzinfo:
    """Return the IANA time zone ``name``; :class:`ClockError` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"{name!r} is not a time zone name like {DEFAULT_ZONE!r}") from None


class Clock:
    """Wall-clock time from ``source`` (epoch seconds), read in ``zone``."""

    def __init__(self, source: Callable[[], float] = time.time, zone: tzinfo | None = None) -> None:
        self.source = source
        self.zone = zone or CHINA

    def timestamp(self) -> float:
        """Return Unix epoch seconds."""
        return self.source()

    def now(self) -> datetime:
        """Return the current moment, aware, in the product's zone."""
        return datetime.fromtimestamp(self.source(), UTC).astimezone(self.zone)

    def china(self) -> datetime:
        """Return the current moment as naive Beijing time (how devices and the bureau write it)."""
        return datetime.fromtimestamp(self.source(), UTC).astimezone(CHINA).replace(tzinfo=None)

    def today(self) -> date:
        """Return today's date in Beijing (the tax calendar's today)."""
        return self.china().date()

    def stamp(self, timespec: str = "seconds") -> str:
        """Return the current moment as ISO 8601 with its UTC offset (for logs and journals)."""
        return self.now().isoformat(timespec=timespec)

    def in_zone(self, moment: datetime) -> datetime:
        """Return ``moment`` in the product's zone (a naive moment is taken as already in it)."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.zone)
        return moment.astimezone(self.zone)

    def after(self, seconds: float) -> datetime:
        """Return the moment ``seconds`` from now, aware."""
        return self.now() + timedelta(seconds=seconds)


class ShiftedClock(Clock):
    """The system clock moved by a fixed number of seconds: it runs, from another moment."""

    def __init__(self, shift_s: float, zone: tzinfo | None = None) -> None:
        self.shift_s = shift_s
        super().__init__(lambda: time.time() + shift_s, zone)


class FixedClock(Clock):
    """A clock that stands still until moved (for tests that need an exact instant)."""

    def __init__(self, moment: datetime, zone: tzinfo | None = None) -> None:
        zone = zone or CHINA
        self.epoch = _aware(moment, zone).timestamp()
        super().__init__(lambda: self.epoch, zone)

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self.epoch = _aware(moment, self.zone).timestamp()

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds``."""
        self.epoch += seconds


def _aware(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def shift_from_env(environ: dict[str, str] | None = None) -> float:
    """Return the shift ``QINGKA_CLOCK_SHIFT`` asks for (0 when unset)."""
    text = (environ if environ is not None else os.environ).get(SHIFT_ENV, "").strip()
    if not text:
        return 0.0
    try:
        shift = float(text)
    except ValueError:
        raise ClockError(f"{SHIFT_ENV}={text!r} is not a number of seconds") from None
    if not abs(shift) <= _MAX_SHIFT_S:  # also refuses nan
        raise ClockError(f"{SHIFT_ENV}={text!r} is more than a century")
    return shift


def parse_moment(text: str, zone: tzinfo | None = None) -> datetime:
    """Parse ``YYYY-MM-DD`` (10:00 that day) or ``YYYY-MM-DD[T ]HH:MM[:SS]`` as an aware moment.

    A moment without an offset is time of ``zone`` (China time by default).
    """
    zone = zone or CHINA
    text = text.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
            moment = moment.replace(hour=10)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ClockError(
            f"{text!r} is not a day like 2027-02-28 or a moment like 2026-12-31T23:59"
        ) from None
    return _aware(moment, zone)


def shift_to(moment: datetime) -> float:
    """Return the shift that makes the system clock read ``moment`` now."""
    return moment.timestamp() - time.time()


def travel_to(moment: datetime) -> float:
    """Run this process, and every child it starts from now on, as if it were ``moment``.

    For training (``qingka demo --today``) and tests: the clock keeps running from ``moment``.
    Returns the shift in seconds.
    """
    shift = shift_to(moment)
    os.environ[SHIFT_ENV] = repr(shift)
    set_clock(ShiftedClock(shift, _current.zone))
    return shift


_current: Clock = ShiftedClock(shift_from_env())


def clock() -> Clock:
    """Return the product's clock."""
    return _current


def set_clock(new: Clock) -> Clock:
    """Install ``new`` as the product's clock; return the one it replaces."""
    global _current  # the one place that swaps the clock
    old, _current = _current, new
    return old


def set_zone(name: str) -> None:
    """Read times in the zone ``name`` from now on (configuration ``time_zone``)."""
    _current.zone = zone_named(name)


# -- months and periods ---------------------------------------------------------------------------


def month_of(day: date) -> int:
    """Return ``YYYYMM`` of a date or moment."""
    return day.year * 100 + day.month


def split_period(period: int) -> tuple[int, int]:
    """Return (year, month) of ``YYYYMM``; :class:`ClockError` if it is no month."""
    year, month = divmod(period, 100)
    if not 1 <= month <= 12 or not 1 <= year <= 9999:
        raise ClockError(f"{period} is not a YYYYMM month")
    return year, month


def next_month(year: int, month: int) -> tuple[int, int]:
    """Return the (year, month) after the given one."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def previous_month(year: int, month: int) -> tuple[int, int]:
    """Return the (year, month) before the given one."""
    return (year - 1, 12) if month == 1 else (year, month - 1)


def month_index(day: date) -> int:
    """Return a count of months, so that month differences are plain subtraction."""
    return day.year * 12 + day.month - 1


def period_index(period: int) -> int:
    """Return :func:`month_index` of a ``YYYYMM`` period (no check: bad periods stay comparable)."""
    return (period // 100) * 12 + period % 100 - 1


def first_of_month(day: date) -> date:
    """Return the first day of ``day``'s month."""
    return day.replace(day=1)


def first_of_next_month(day: date) -> date:
    """Return the first day of the month after ``day``."""
    year, month = next_month(day.year, day.month)
    return date(year, month, 1)


def last_of_month(year: int, month: int) -> date:
    """Return the last day of ``year``-``month``."""
    year_after, month_after = next_month(year, month)
    return date(year_after, month_after, 1) - timedelta(days=1)


def month_window(period: int) -> tuple[date, date]:
    """Return the first and last day of the month ``YYYYMM``."""
    year, month = split_period(period)
    return date(year, month, 1), last_of_month(year, month)


def period_after(period: int) -> int:
    """Return the ``YYYYMM`` after ``period``."""
    year, month = next_month(*split_period(period))
    return year * 100 + month


def days_until(day: date, today: date) -> int:
    """Return whole days from ``today`` to ``day`` (negative once it has passed)."""
    return (day - today).days
