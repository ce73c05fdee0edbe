"""The stage of an invoice type, derived from the device clock and its monitor data (DESIGN §2)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from appliance.calendar.stage import Stage, derive_status

LOCK_NOV = datetime(2026, 11, 16, 23, 59, 59)
LOCK_DEC = datetime(2026, 12, 15, 23, 59, 59)


@pytest.mark.parametrize(
    ("clock", "kpjzsj", "zxbsrq", "stage", "locked"),
    [
        (datetime(2026, 11, 5, 10), LOCK_NOV, date(2026, 10, 3), Stage.NEEDS_REPORT, False),
        (datetime(2026, 11, 5, 10), LOCK_NOV, date(2026, 11, 5), Stage.REPORTED, False),
        (datetime(2026, 11, 5, 10), LOCK_DEC, date(2026, 11, 5), Stage.CLEARED, False),
        (datetime(2026, 11, 19, 10), LOCK_NOV, date(2026, 10, 3), Stage.NEEDS_REPORT, True),
        (datetime(2026, 11, 16, 23, 59, 59), LOCK_NOV, None, Stage.NEEDS_REPORT, False),
    ],
)
def test_stages(
    clock: datetime, kpjzsj: datetime, zxbsrq: date | None, stage: Stage, locked: bool
) -> None:
    status = derive_status("026", clock, kpjzsj, zxbsrq)
    assert (status.stage, status.locked) == (stage, locked)
    assert status.lock_date == kpjzsj.date()


def test_days_to_lock_come_from_the_device_clock() -> None:
    assert derive_status("026", datetime(2026, 11, 13, 23), LOCK_NOV, None).days_to_lock == 3
    assert derive_status("026", datetime(2026, 11, 19), LOCK_NOV, None).days_to_lock == -3


def test_zombie_after_ninety_days_locked() -> None:
    assert not derive_status("026", datetime(2027, 2, 13), LOCK_NOV, None).zombie
    assert derive_status("026", datetime(2027, 2, 16), LOCK_NOV, None).zombie
