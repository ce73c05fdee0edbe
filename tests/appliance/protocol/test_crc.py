"""CRC-16/X-25 and the vendor CDB check byte."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol.crc import check_byte, crc16_x25, crc16_x25_update


def test_published_check_value() -> None:
    # The catalogue check value of CRC-16/X-25 over ASCII "123456789".
    assert crc16_x25(b"123456789") == 0x906E
    assert check_byte(b"123456789") == 0x90 ^ 0x6E


def test_empty_data() -> None:
    assert crc16_x25(b"") == 0x0000
    assert check_byte(b"") == 0


@given(st.binary(max_size=600))
def test_residue_of_data_with_its_crc_appended(data: bytes) -> None:
    # A property of the algorithm, not of this code: appending the CRC (little endian) always
    # gives the X-25 residue 0x0F47.
    crc = crc16_x25(data)
    assert crc16_x25(data + crc.to_bytes(2, "little")) == 0x0F47


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_incremental_update_equals_one_pass(head: bytes, tail: bytes) -> None:
    register = crc16_x25_update(tail, crc16_x25_update(head))
    assert register ^ 0xFFFF == crc16_x25(head + tail)


@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0), st.integers(1, 255))
def test_single_bit_flip_changes_the_crc(data: bytes, where: int, mask: int) -> None:
    index = where % len(data)
    flipped = data[:index] + bytes((data[index] ^ mask,)) + data[index + 1 :]
    assert crc16_x25(flipped) != crc16_x25(data)
