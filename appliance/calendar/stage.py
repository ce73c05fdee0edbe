"""The stage of one invoice type on a device, derived from its monitor data and clock.

DESIGN §2: comparing year-month only, a type *needs report* when the device clock's month is
past the last report (zxbsrq) and not before the lock month (kpjzsj); it is *reported, not
cleared* when it was reported this month but still locks this month or earlier; it is *cleared*
once its lock moment lies in a later month. The device clock is the authority, never the host's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from appliance.clock import month_index

# A device whose lock moment passed more than this long ago cannot be cleared remotely: the
# taxpayer has to visit the tax hall (the "zombie" device of DESIGN §2).
ZOMBIE_DAYS = 90


class Stage(enum.Enum):
    """Where one invoice type stands in the monthly cycle."""

    NEEDS_REPORT = "needs-report"
    REPORTED = "reported-not-cleared"
    CLEARED = "cleared"


@dataclass(frozen=True)
class TypeStatus:
    """The derived status of one invoice type."""

    type_code: str
    stage: Stage
    lock_at: datetime
    days_to_lock: int
    locked: bool
    zombie: bool

    @property
    def lock_date(self) -> date:
        """Return the last day invoices can be issued without clearing."""
        return self.lock_at.date()


def derive_status(
    type_code: str, clock: datetime, kpjzsj: datetime, zxbsrq: date | None
) -> TypeStatus:
    """Derive the stage of one invoice type at device time ``clock``."""
    now_m = month_index(clock)
    lock_m = month_index(kpjzsj)
    report_m = month_index(zxbsrq) if zxbsrq is not None else -1
    if lock_m > now_m:
        stage = Stage.CLEARED
    elif report_m >= now_m:
        stage = Stage.REPORTED
    else:
        stage = Stage.NEEDS_REPORT
    locked = clock > kpjzsj
    days = (kpjzsj.date() - clock.date()).days
    return TypeStatus(
        type_code=type_code,
        stage=stage,
        lock_at=kpjzsj,
        days_to_lock=days,
        locked=locked,
        zombie=locked and (clock - kpjzsj).days > ZOMBIE_DAYS,
    )
