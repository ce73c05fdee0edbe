"""Clearing data for the tests, signed like the bureau simulator signs it."""

from __future__ import annotations

from typing import Any

from appliance.calendar import default_calendar
from appliance.protocol import commands
from simulators import catalog
from simulators.device.core import dates, ec_native

BUREAU = catalog.bureau_private_scalar()
NONCE = bytes(range(16))


def blob(values: dict[str, Any], scalar: int = BUREAU) -> bytes:
    """Return clearing data with ``values`` (signature added), signed with ``scalar``."""
    layout = commands.CLEARING_LAYOUT
    unsigned = dict(values)
    unsigned["signature"] = ec_native.sign(scalar, commands.signed_bytes(layout, unsigned))
    return layout.encode(unsigned)


def values_for(state: dict[str, Any], period: int | None = None, **changes: Any) -> dict[str, Any]:
    """Return the values of valid clearing data for the device's current report window."""
    first = state["types"][sorted(state["types"])[0]]["monitor"]
    period = dates.period_of(first["bsqsrq"]) if period is None else period
    year, month = dates.month_from_index(dates.period_index(period) + 1)
    lock_year, lock_month = dates.month_from_index(dates.period_index(period) + 2)
    lock = default_calendar().lock_moment(lock_year, lock_month)
    values: dict[str, Any] = {
        "version": commands.CLEARING_DATA_VERSION,
        "taxpayer_id": state["identity"]["taxpayer_id"],
        "device_no": state["identity"]["device_no"],
        "period": period,
        "types": sorted(state["types"]),
        "kpjzsj": dates.make_datetime(lock.year, lock.month, lock.day, 23, 59, 59),
        "bsqsrq": dates.first_day(year, month),
        "bszzrq": dates.last_day(year, month),
        "issued_at": 20261105100500,
        "nonce": NONCE,
    }
    values.update(changes)
    return values


def valid_blob(state: dict[str, Any], **changes: Any) -> bytes:
    """Return valid, bureau-signed clearing data for the device's current window."""
    return blob(values_for(state, **changes))
