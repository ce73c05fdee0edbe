"""Fault descriptions and the board that hands them out."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.bureau.faults import KINDS, Fault, FaultBoard, FaultError


def test_faults_strike_in_order_and_count_down() -> None:
    board = FaultBoard()
    board.add(Fault("reset", count=2, service="UPLOAD_SUMMARY"))
    board.add(Fault("latency", latency_ms=5))
    assert board.take("HANDSHAKE_HELLO") == Fault("latency", latency_ms=5)
    first = board.take("UPLOAD_SUMMARY")
    assert first is not None and first.kind == "reset"
    assert [fault.count for fault in board.pending()] == [1]
    assert board.take("UPLOAD_SUMMARY") is not None
    assert board.take("UPLOAD_SUMMARY") is None


def test_forever_faults_stay_until_cleared() -> None:
    board = FaultBoard()
    board.add(Fault("http-error", count=-1))
    for _ in range(5):
        assert board.take("ANY") is not None
    board.clear()
    assert board.take("ANY") is None


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "meteor"},
        {"kind": "reset", "count": 0},
        {"kind": "reset", "count": -2},
        {"kind": "reset", "count": True},
        {"kind": "http-error", "status": 404},
        {"kind": "trickle", "chunk": 0},
        {"kind": "latency", "latency_ms": 10**9},
        {"kind": "blackhole", "hold_s": 1e9},
        {"kind": "blackhole", "hold_s": "long"},
        {"kind": "reset", "service": 7},
        {"kind": "reset", "colour": "red"},
        ["reset"],
    ],
)
def test_bad_descriptions_are_refused(data: Any) -> None:
    with pytest.raises(FaultError):
        Fault.from_mapping(data)


def test_the_board_is_bounded() -> None:
    board = FaultBoard()
    for _ in range(64):
        board.add(Fault("reset"))
    with pytest.raises(FaultError):
        board.add(Fault("reset"))


@given(
    st.dictionaries(
        st.sampled_from(["kind", "count", "service", "latency_ms", "status", "hold_s", "x"]),
        st.one_of(st.integers(-5, 10**6), st.text(max_size=40), st.sampled_from(KINDS)),
    )
)
def test_any_json_object_is_a_fault_or_refused(data: dict[str, Any]) -> None:
    try:
        fault = Fault.from_mapping(data)
    except FaultError:
        return
    assert Fault.from_mapping(fault.to_mapping()) == fault
