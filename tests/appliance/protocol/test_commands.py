"""The command table itself: coherent, bounded, and its response trailer."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import cdb, commands
from appliance.protocol.errors import BadCheck, ProtocolError, TooLarge
from tests.appliance.protocol.strategies import values_for


def test_ops_and_names_are_unique() -> None:
    assert len({c.op for c in commands.COMMANDS}) == len(commands.COMMANDS)
    assert len({c.name for c in commands.COMMANDS}) == len(commands.COMMANDS)
    assert all(c.op != cdb.OP_REQUEST_SENSE for c in commands.COMMANDS)


def test_every_allocation_fits_a_data_phase() -> None:
    for cmd in commands.COMMANDS:
        assert cmd.allocation <= cdb.MAX_IN, cmd.name
        assert cmd.request.max_size <= cdb.MAX_OUT, cmd.name


def test_commands_that_change_state_are_not_repeatable() -> None:
    changing = {"verify_pin", "copy_tax", "write_clearing", "sign"}
    assert {c.name for c in commands.COMMANDS if not c.repeatable} == changing


@given(data=st.data())
def test_response_trailer_catches_corruption(data: st.DataObject) -> None:
    cmd = commands.command("read_monitor")
    raw = commands.encode_response(cmd, data.draw(values_for(cmd.response)))
    index = data.draw(st.integers(0, len(raw) - 1))
    bad = raw[:index] + bytes((raw[index] ^ data.draw(st.integers(1, 255)),)) + raw[index + 1 :]
    with pytest.raises(BadCheck):
        commands.decode_response(cmd, bad)


def test_oversized_response_is_refused() -> None:
    cmd = commands.command("read_clock")
    with pytest.raises(TooLarge):
        commands.decode_response(cmd, bytes(cmd.allocation + 1))


@given(st.sampled_from(commands.COMMANDS), st.binary(max_size=300))
def test_garbage_responses_fail_typed(cmd: commands.Command, raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        commands.decode_response(cmd, raw)


def test_signed_part_is_the_record_minus_its_signature() -> None:
    layout = commands.CLEARING_LAYOUT
    values = {
        "version": 1,
        "taxpayer_id": "91420103MA0000000A",
        "device_no": "661900000000",
        "period": 202610,
        "types": ["026"],
        "kpjzsj": 20261215235959,
        "bsqsrq": 20261101,
        "bszzrq": 20261130,
        "issued_at": 20261105100000,
        "nonce": bytes(16),
        "signature": b"s" * 64,
    }
    raw = layout.encode(values)
    signed = commands.signed_bytes(layout, values)
    assert raw == signed + b"\x00\x40" + b"s" * 64
