"""CBW and CSW codecs: known bytes, round trips, every prefix, hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import bot
from appliance.protocol.errors import BadFrame, NeedMore, ProtocolError, TooLarge

# Hand-assembled from the USB mass-storage bulk-only spec: signature, tag 0x12345678 (LE), 512
# bytes (LE), flags IN, LUN 0, CB length 6, REQUEST SENSE CDB, padding.
SPEC_CBW = bytes.fromhex("555342437856341200020000800006030000001200") + bytes(10)


def test_cbw_matches_the_spec_layout() -> None:
    cdb = bytes.fromhex("030000001200")
    assert bot.encode_cbw(0x12345678, 512, True, cdb) == SPEC_CBW
    decoded = bot.decode_cbw(SPEC_CBW)
    assert (decoded.tag, decoded.transfer_length, decoded.data_in, decoded.cdb) == (
        0x12345678,
        512,
        True,
        cdb,
    )


def test_csw_matches_the_spec_layout() -> None:
    assert bot.encode_csw(0x12345678, 3, 1) == bytes.fromhex("55534253785634120300000001")


@given(
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, bot.MAX_TRANSFER),
    st.booleans(),
    st.binary(min_size=1, max_size=16),
)
def test_cbw_round_trip(tag: int, length: int, data_in: bool, cdb: bytes) -> None:
    raw = bot.encode_cbw(tag, length, data_in, cdb)
    assert len(raw) == bot.CBW_SIZE
    assert bot.decode_cbw(raw) == bot.Cbw(tag, length, data_in, 0, cdb)


@pytest.mark.parametrize("cut", range(bot.CBW_SIZE))
def test_every_cbw_prefix_needs_more(cut: int) -> None:
    with pytest.raises(NeedMore) as caught:
        bot.decode_cbw(SPEC_CBW[:cut])
    assert caught.value.needed == bot.CBW_SIZE - cut


def test_cbw_too_long_is_bad() -> None:
    with pytest.raises(BadFrame):
        bot.decode_cbw(SPEC_CBW + b"\x00")


def test_cbw_transfer_length_above_cap() -> None:
    with pytest.raises(TooLarge):
        bot.encode_cbw(1, bot.MAX_TRANSFER + 1, True, b"\x03")
    raw = SPEC_CBW[:8] + (bot.MAX_TRANSFER + 1).to_bytes(4, "little") + SPEC_CBW[12:]
    with pytest.raises(TooLarge):
        bot.decode_cbw(raw)


@given(st.binary(min_size=bot.CBW_SIZE, max_size=bot.CBW_SIZE))
def test_random_cbw_bytes_decode_or_fail_typed(raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        bot.decode_cbw(raw)


@given(st.binary(max_size=40))
def test_random_csw_bytes_decode_or_fail_typed(raw: bytes) -> None:
    try:
        csw = bot.decode_csw(raw)
    except ProtocolError:
        return
    assert bot.encode_csw(csw.tag, csw.residue, csw.status) == raw


@given(st.integers(0, 0xFFFFFFFF), st.integers(0, bot.MAX_TRANSFER), st.sampled_from([0, 1, 2]))
def test_csw_round_trip(tag: int, residue: int, status: int) -> None:
    assert bot.decode_csw(bot.encode_csw(tag, residue, status)) == bot.Csw(tag, residue, status)
