"""The NISEC/UKey vendor CDB, its check byte, and REQUEST SENSE."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import cdb
from appliance.protocol.crc import crc16_x25
from appliance.protocol.errors import BadCheck, BadFrame, ProtocolError, TooLarge


def test_check_byte_is_crc_high_xor_low() -> None:
    raw = cdb.encode_vendor_cdb(0x11, b"88888888", 3)
    crc = crc16_x25(b"88888888")
    assert raw[0] == 0xFE
    assert raw[1] == 0x11
    assert raw[4:6] == b"\x00\x08"
    assert raw[6:8] == b"\x00\x03"
    assert raw[8] == (crc >> 8) ^ (crc & 0xFF)


@given(
    st.integers(0, 255),
    st.binary(max_size=cdb.MAX_OUT),
    st.integers(0, cdb.MAX_IN),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_round_trip_and_check(op: int, out: bytes, in_len: int, p1: int, p2: int, seq: int) -> None:
    decoded = cdb.decode_vendor_cdb(cdb.encode_vendor_cdb(op, out, in_len, p1, p2, seq))
    assert (decoded.op, decoded.p1, decoded.p2, decoded.in_length, decoded.seq) == (
        op,
        p1,
        p2,
        in_len,
        seq,
    )
    cdb.verify_out_data(decoded, out)


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0), st.integers(1, 255))
def test_corrupted_out_data_fails_the_check(out: bytes, where: int, mask: int) -> None:
    decoded = cdb.decode_vendor_cdb(cdb.encode_vendor_cdb(0x24, out))
    index = where % len(out)
    bad = out[:index] + bytes((out[index] ^ mask,)) + out[index + 1 :]
    # A one-byte check catches most, not all, corruptions: whatever passes must collide.
    try:
        cdb.verify_out_data(decoded, bad)
    except BadCheck:
        return
    crc_good, crc_bad = crc16_x25(out), crc16_x25(bad)
    assert (crc_good >> 8) ^ (crc_good & 0xFF) == (crc_bad >> 8) ^ (crc_bad & 0xFF)


def test_length_mismatch_is_bad_frame() -> None:
    decoded = cdb.decode_vendor_cdb(cdb.encode_vendor_cdb(0x24, b"abc"))
    with pytest.raises(BadFrame):
        cdb.verify_out_data(decoded, b"ab")


def test_caps() -> None:
    with pytest.raises(TooLarge):
        cdb.encode_vendor_cdb(0x24, bytes(cdb.MAX_OUT + 1))
    with pytest.raises(TooLarge):
        cdb.encode_vendor_cdb(0x21, b"", cdb.MAX_IN + 1)


@given(st.binary(max_size=20))
def test_garbage_fails_typed(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        cdb.decode_vendor_cdb(raw)


def test_request_sense_cdb() -> None:
    raw = cdb.encode_request_sense(18)
    assert raw == bytes.fromhex("030000001200")
    assert cdb.is_request_sense(raw)
    assert not cdb.is_request_sense(cdb.encode_vendor_cdb(0x03))
