"""Clearing data as the bureau issues it (layout: docs/clearing-data.md)."""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.bureau.signing import sign
from appliance.calendar.filing import FilingCalendar
from appliance.clock import month_window, next_month, period_after
from appliance.devices.models import from_date, from_datetime
from appliance.protocol.commands import CLEARING_DATA_VERSION, CLEARING_LAYOUT, signed_bytes


def issue_clearing_data(
    key: ec.EllipticCurvePrivateKey,
    calendar: FilingCalendar,
    now: datetime,
    taxpayer_id: str,
    device_no: str,
    period: int,
    types: list[str],
) -> bytes:
    """Return signed clearing data closing ``period`` for ``types``, issued at ``now``.

    The new lock moment is the deadline of the month after the bureau's current month, and the
    new report window is the month after ``period``.
    """
    lock_year, lock_month = next_month(now.year, now.month)
    first, last = month_window(period_after(period))
    values: dict[str, object] = {
        "version": CLEARING_DATA_VERSION,
        "taxpayer_id": taxpayer_id,
        "device_no": device_no,
        "period": period,
        "types": sorted(types),
        "kpjzsj": from_datetime(calendar.lock_moment(lock_year, lock_month)),
        "bsqsrq": from_date(first),
        "bszzrq": from_date(last),
        "issued_at": from_datetime(now.replace(microsecond=0)),
        "nonce": secrets.token_bytes(16),
    }
    values["signature"] = sign(key, signed_bytes(CLEARING_LAYOUT, values))
    return CLEARING_LAYOUT.encode(values)
