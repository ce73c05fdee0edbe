"""The field-layout codec, over every layout of the command table."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import commands
from appliance.protocol.errors import BadFrame, NeedMore, ProtocolError, TooLarge
from appliance.protocol.fields import Layout
from tests.appliance.protocol.strategies import values_for

LAYOUTS = (
    [cmd.response for cmd in commands.COMMANDS if cmd.response.fields]
    + [cmd.request for cmd in commands.COMMANDS if cmd.request.fields]
    + [commands.CLEARING_LAYOUT]
)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: ",".join(layout.names)[:40])
@given(data=st.data())
def test_round_trip(layout: Layout, data: st.DataObject) -> None:
    values = data.draw(values_for(layout))
    raw = layout.encode(values)
    assert len(raw) <= layout.max_size
    assert layout.decode(raw) == values


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: ",".join(layout.names)[:40])
@given(data=st.data())
def test_every_prefix_needs_more(layout: Layout, data: st.DataObject) -> None:
    raw = layout.encode(data.draw(values_for(layout)))
    cut = data.draw(st.integers(0, len(raw) - 1)) if raw else 0
    if raw:
        with pytest.raises(NeedMore):
            layout.decode(raw[:cut])


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: ",".join(layout.names)[:40])
@given(raw=st.binary(max_size=400))
def test_garbage_fails_typed(layout: Layout, raw: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        layout.decode(raw)


def test_bcd_dates_are_bcd() -> None:
    layout = Layout((("d", "date"), ("t", "datetime")))
    raw = layout.encode({"d": 20261116, "t": 20261116235959})
    assert raw == bytes.fromhex("2026111620261116235959")


@pytest.mark.parametrize(
    "raw",
    [
        bytes.fromhex("2026131600"),  # month 13
        bytes.fromhex("2026113200"),  # day 32
        bytes.fromhex("20261A0100"),  # not BCD
    ],
)
def test_impossible_dates_are_bad(raw: bytes) -> None:
    with pytest.raises(BadFrame):
        Layout((("d", "date"), ("x", "u8"))).decode(raw)


@pytest.mark.parametrize(
    ("spec", "value", "error"),
    [
        (("a", "u8"), 256, BadFrame),
        (("a", "ascii:3"), "abcd", TooLarge),
        (("a", "ascii:3"), "中", BadFrame),
        (("a", "raw:2"), b"abc", BadFrame),
        (("a", "types"), ["04"], BadFrame),
        (("a", "types"), ["004"] * 17, TooLarge),
        (("a", "blob"), bytes(1025), TooLarge),
        (("a", "text"), "x" * 256, TooLarge),
        (("a", "date"), 20261301, BadFrame),
    ],
)
def test_encoder_refuses_bad_values(
    spec: tuple[str, str], value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Layout((spec,)).encode({"a": value})


def test_missing_field_is_named() -> None:
    with pytest.raises(BadFrame, match="pin"):
        commands.command("verify_pin").request.encode({})


def test_ascii_padding_must_be_zero() -> None:
    with pytest.raises(BadFrame):
        Layout((("a", "ascii:4"),)).decode(b"ab\x00c")


def test_unknown_kind_is_refused_when_the_table_is_built() -> None:
    with pytest.raises(ValueError, match="unknown field kind"):
        Layout((("a", "float"),))
