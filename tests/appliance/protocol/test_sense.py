"""Fixed-format sense data with the vendor status in bytes 10..13."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import sense
from appliance.protocol.errors import BadFrame, NeedMore, ProtocolError


def test_layout() -> None:
    raw = sense.encode_sense(sense.Sense(sense.KEY_DATA_PROTECT, sense.SW_PIN_WRONG | 2, 2))
    assert len(raw) == sense.SENSE_SIZE
    assert raw[0] == 0x70
    assert raw[2] == sense.KEY_DATA_PROTECT
    assert raw[7] == 10
    assert raw[10:14] == bytes.fromhex("63c20002")


@given(st.integers(0, 15), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_round_trip(key: int, status: int, detail: int) -> None:
    found = sense.Sense(key, status, detail)
    assert sense.decode_sense(sense.encode_sense(found)) == found


def test_short_needs_more_and_wrong_code_is_bad() -> None:
    with pytest.raises(NeedMore):
        sense.decode_sense(b"\x70" + bytes(12))
    with pytest.raises(BadFrame):
        sense.decode_sense(b"\x72" + bytes(17))


@given(st.binary(max_size=30))
def test_garbage_fails_typed(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        sense.decode_sense(raw)
