"""The box's own check of clearing data, against data the simulated bureau issues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.bureau.clearing_data import check_clearing_data
from appliance.bureau.errors import ClearingDataRejected
from appliance.bureau.signing import public_key, sign
from appliance.calendar import default_calendar
from appliance.protocol.commands import CLEARING_LAYOUT, signed_bytes
from simulators.bureau import keys
from simulators.bureau.clearing import issue_clearing_data

TAXPAYER, DEVICE = "91420103MA0000000A", "661900000000"
KEY = public_key(keys.bureau_public_point())
NOW = datetime(2026, 11, 5, 10, 0, 0)


def _issue(period: int = 202610, now: datetime = NOW, types: list[str] | None = None) -> bytes:
    return issue_clearing_data(
        keys.bureau_key(), default_calendar(), now, TAXPAYER, DEVICE, period, types or ["007"]
    )


ISSUED = _issue()


def _resigned(raw: bytes, **changes: Any) -> bytes:
    values = CLEARING_LAYOUT.decode(raw)
    values.update(changes)
    values["signature"] = sign(keys.bureau_key(), signed_bytes(CLEARING_LAYOUT, values))
    return CLEARING_LAYOUT.encode(values)


def test_issued_data_passes() -> None:
    data = check_clearing_data(_issue(), KEY, TAXPAYER, DEVICE, 202610, ("007",))
    assert str(data.kpjzsj) == "2026-12-15 23:59:59"
    assert (str(data.bsqsrq), str(data.bszzrq)) == ("2026-11-01", "2026-11-30")
    assert data.issued_at == NOW and len(data.nonce) == 16


def test_year_end_and_official_deadlines() -> None:
    december = datetime(2026, 12, 3, 9, 0, 0)
    data = check_clearing_data(_issue(202611, december), KEY, TAXPAYER, DEVICE, 202611, ("007",))
    assert str(data.kpjzsj) == "2027-01-15 23:59:59"  # 2027 not on file: the 15th, a Friday
    january = datetime(2027, 1, 4, 9, 0, 0)
    data = check_clearing_data(_issue(202612, january), KEY, TAXPAYER, DEVICE, 202612, ("007",))
    assert (str(data.bsqsrq), str(data.bszzrq)) == ("2027-01-01", "2027-01-31")


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"taxpayer_id": "91420103MA0000001Y"}, "taxpayer"),
        ({"device_no": "661900000001"}, "device"),
        ({"period": 202609}, "period"),
        ({"types": ("004", "007")}, "types"),
    ],
)
def test_data_for_something_else_is_rejected(asked: dict[str, Any], message: str) -> None:
    request: dict[str, Any] = {
        "taxpayer_id": TAXPAYER,
        "device_no": DEVICE,
        "period": 202610,
        "types": ("007",),
    }
    request.update(asked)
    with pytest.raises(ClearingDataRejected, match=message):
        check_clearing_data(_issue(), KEY, **request)


@pytest.mark.parametrize(
    "changes",
    [
        {"bsqsrq": 20261002},
        {"bszzrq": 20261231},
        {"kpjzsj": 20261115235959},
        {"version": 2},
        {"bszzrq": 20260230},
    ],
)
def test_inconsistent_data_is_rejected_even_when_signed(changes: dict[str, int]) -> None:
    with pytest.raises(ClearingDataRejected):
        check_clearing_data(_resigned(_issue(), **changes), KEY, TAXPAYER, DEVICE, 202610, ("007",))


def test_forged_or_broken_data_is_rejected() -> None:
    raw = _issue()
    forged = raw[:-1] + bytes([raw[-1] ^ 1])
    with pytest.raises(ClearingDataRejected, match="signed"):
        check_clearing_data(forged, KEY, TAXPAYER, DEVICE, 202610, ("007",))
    with pytest.raises(ClearingDataRejected, match="decode"):
        check_clearing_data(raw[:40], KEY, TAXPAYER, DEVICE, 202610, ("007",))


@given(st.binary(max_size=400))
def test_random_bytes_are_rejected_typed(raw: bytes) -> None:
    with pytest.raises(ClearingDataRejected):
        check_clearing_data(raw, KEY, TAXPAYER, DEVICE, 202610, ("007",))


@given(st.data())
def test_any_changed_byte_is_rejected(data: st.DataObject) -> None:
    raw = bytearray(ISSUED)
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ClearingDataRejected):
        check_clearing_data(bytes(raw), KEY, TAXPAYER, DEVICE, 202610, ("007",))
