"""The moments of the date sweep, and answers worked out by hand for them.

Each lock date below is read off the filing calendar in DESIGN §2 (or its fallback: the 15th,
moved past a weekend, for a year the table lacks), not computed by the code under test.
"""

from __future__ import annotations

from datetime import date, datetime

from appliance.calendar import default_calendar
from appliance.clock import CHINA, next_month

# ``make test`` runs the tests marked ``dates`` as of each of these (Beijing time).
SWEEP = (
    # The last minutes of a year: a test starts three minutes before the year turns under it
    # (the longest takes seconds; one minute left no room on a loaded machine).
    "2026-12-31T23:57",
    "2027-01-01T00:01",  # the first minute of the next
    "2027-02-28",  # end of a short February
    "2028-02-29",  # a leap day
    "2026-10-26",  # a filing deadline day (October 2026: the 26th)
    "2026-10-27",  # the day after it: devices not cleared are locked
    "2027-10-08",  # after the National Day holiday
    "2029-06-10",  # past the newest year of the calendar: the fallback rule
)

# For a device due in the month of the key: its lock date once cleared (next month's deadline).
LOCK_AFTER_CLEARING_BY_HAND = {
    (2026, 10): date(2026, 11, 16),  # 2026 table, November: 16
    (2026, 11): date(2026, 12, 15),  # 2026 table, December: 15
    (2026, 12): date(2027, 1, 15),  # 2027 not in the table: 15 January 2027 is a Friday
    (2027, 1): date(2027, 2, 15),  # Monday
    (2027, 2): date(2027, 3, 15),  # Monday
    (2027, 10): date(2027, 11, 15),  # Monday
    (2028, 2): date(2028, 3, 15),  # Wednesday
    (2029, 6): date(2029, 7, 16),  # 15 July 2029 is a Sunday: moved to Monday
}


def lock_after_clearing(moment: datetime) -> date:
    """Return the lock date a device due in ``moment``'s month has once cleared.

    From the table above where it has the month (the sweep's months and the default day);
    any other ``--today`` falls back to the calendar itself.
    """
    day = moment.astimezone(CHINA) if moment.tzinfo else moment
    known = LOCK_AFTER_CLEARING_BY_HAND.get((day.year, day.month))
    if known is not None:
        return known
    return default_calendar().deadline(*next_month(day.year, day.month))


# The filing deadline of the month of each sweep moment (and of the default day), by hand.
DEADLINE_BY_HAND = {
    (2026, 10): date(2026, 10, 26),  # 2026 table
    (2026, 11): date(2026, 11, 16),  # 2026 table
    (2026, 12): date(2026, 12, 15),  # 2026 table
    (2027, 1): date(2027, 1, 15),  # fallback, Friday
    (2027, 2): date(2027, 2, 15),  # fallback, Monday
    (2027, 10): date(2027, 10, 15),  # fallback, Friday (the real 2027 date arrives by provisioning)
    (2028, 2): date(2028, 2, 15),  # fallback, Tuesday
    (2029, 6): date(2029, 6, 15),  # fallback, Friday
}


def deadline_of_month(moment: datetime) -> date:
    """Return the filing deadline of ``moment``'s month (by hand where the table above has it)."""
    day = moment.astimezone(CHINA) if moment.tzinfo else moment
    known = DEADLINE_BY_HAND.get((day.year, day.month))
    return known if known is not None else default_calendar().deadline(day.year, day.month)
