"""Hostile input never breaks the device: only stalls, NAKs, error senses, or typed codec errors."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.protocol import bot, cdb, commands, sense
from simulators.device.core import target as t
from simulators.device.core.handler import Handler
from tests.simulators.device.clearing import valid_blob
from tests.simulators.device.devices import cbw, core_device, vendor

OPS = st.sampled_from([command.op for command in commands.COMMANDS] + [0x00, 0x7F, 0xFF])


def authenticated() -> tuple[dict[str, Any], Handler, t.Target]:
    state, handler, target = core_device()
    for name, values in (
        ("open_session", None),
        ("select_app", {"aid": commands.APPLICATION_ID}),
        ("verify_pin", {"pin": commands.DEFAULT_PIN}),
        ("select_type", {"type": "026"}),
    ):
        block, out, _ = vendor(name, values)
        assert not isinstance(handler.handle(block, out), sense.Sense)
    return state, handler, target


def assert_answer(result: object) -> None:
    if isinstance(result, sense.Sense):
        assert result.status != sense.SW_INTERNAL
    else:
        assert isinstance(result, bytes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.binary(max_size=300))
def test_random_cdb_and_data(block: bytes, data: bytes) -> None:
    _, handler, _ = authenticated()
    assert_answer(handler.handle(block, data))


@settings(max_examples=300, deadline=None)
@given(OPS, st.binary(max_size=300), st.integers(0, 255), st.integers(0, 255))
def test_well_formed_cdb_with_random_data(op: int, data: bytes, p1: int, p2: int) -> None:
    _, handler, _ = authenticated()
    block = cdb.encode_vendor_cdb(op, data, 512, p1, p2)
    assert_answer(handler.handle(block, data))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_random_clearing_fields_are_refused_cleanly(data: st.DataObject) -> None:
    state, handler, _ = authenticated()
    raw = bytearray(valid_blob(state))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(raw) - 1))
        raw[index] ^= data.draw(st.integers(1, 255))
    block, out, _ = vendor("write_clearing", {"data": bytes(raw)})
    result = handler.handle(block, out)
    assert isinstance(result, sense.Sense)
    assert result.status != sense.SW_INTERNAL


TRANSFERS = st.lists(
    st.one_of(
        st.tuples(st.just("out"), st.binary(max_size=80)),
        st.tuples(st.just("cbw"), OPS, st.binary(max_size=40), st.integers(0, 600)),
        st.tuples(st.just("sense"), st.integers(0, 40)),
        st.tuples(st.just("in"), st.integers(0, 700)),
        st.tuples(st.just("clear"), st.booleans()),
        st.tuples(st.just("reset")),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(TRANSFERS)
def test_random_transfer_sequences_on_the_target(steps: list[tuple[Any, ...]]) -> None:
    _, handler, target = core_device()
    for step in steps:
        try:
            if step[0] == "out":
                target.bulk_out(step[1])
            elif step[0] == "cbw":
                target.bulk_out(cbw(cdb.encode_vendor_cdb(step[1], step[2], 64), step[3]))
            elif step[0] == "sense":
                target.bulk_out(cbw(cdb.encode_request_sense(18), step[1]))
            elif step[0] == "in":
                data = target.bulk_in(step[1])
                assert len(data) <= max(step[1], 0)
            elif step[0] == "clear":
                target.clear_halt(step[1])
            else:
                target.reset()
        except (t.Stall, t.NotReady, t.Overflow):
            pass
        assert target.phase in (t.IDLE, t.DATA_OUT, t.DATA_IN, t.STATUS, t.HALTED)
        assert len(target._out) <= cdb.MAX_OUT
        assert len(target._in) <= bot.MAX_TRANSFER
        assert target._sense.status != sense.SW_INTERNAL
    # Whatever happened, a reset brings the device back.
    target.reset()
    block, _, allocation = vendor("open_session")
    target.bulk_out(cbw(block, allocation))
    assert target.bulk_in(allocation)
    assert bot.decode_csw(target.bulk_in(13)).status == bot.CSW_PASSED
    assert handler.counters["open_session"] >= 1
