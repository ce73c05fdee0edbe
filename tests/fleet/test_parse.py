"""The fleet's readers of box messages: good ones read, anything else refused with PayloadError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.board import Board, render
from fleet.errors import PayloadError
from fleet.parse import (
    MAX_HEALTH_BYTES,
    parse_alert,
    parse_event,
    parse_health,
    parse_result,
    parse_status,
)

HEALTH = {
    "v": 1,
    "box": "box-1",
    "site": "s",
    "at": "2026-11-05T10:00:00.000+08:00",
    "sw": "0.1.0",
    "policy": "auto",
    "outbox": {"n": 2, "age_s": 5},
    "reconnects": 1,
    "devs": {
        "661100000001": {"tp": "9142**********000A", "fam": "ukey", "stage": "needs-report",
                         "lock": "2026-11-16", "days": 2, "locked": False, "present": True,
                         "busy": False, "attn": True,
                         "job": {"id": "e1", "outcome": "done", "code": "J-000", "at": "x"}},
        "661100000002": {"stage": "cleared", "lock": "2026-12-15", "days": 40},
    },
}  # fmt: skip
EVENT = {"v": 1, "id": "box-1-ab-1", "seq": 1, "box": "box-1", "site": "s", "event": "step",
         "at": "2026-11-05T10:00:00.000+08:00", "device_no": "661100000001"}  # fmt: skip
ALERT = {"name": "disk-low", "since": "2026-11-05T10:00:00+08:00", "severity": "critical",
         "code": "F-102", "message_zh": "x", "message_en": "y"}  # fmt: skip
RESULT = {"id": "r-1", "box": "box-1", "ok": True, "state": "done", "command": "refresh"}


def test_good_messages() -> None:
    health = parse_health(json.dumps(HEALTH).encode())
    assert health.devices["661100000001"].attention and health.outbox == 2
    assert parse_event(json.dumps(EVENT).encode()).device_no == "661100000001"
    assert parse_status(b"online") == "online" and parse_status(b"") is None
    assert parse_alert(json.dumps(ALERT).encode()).code == "F-102"  # type: ignore[union-attr]
    assert parse_alert(b"") is None
    assert parse_result(json.dumps(RESULT).encode()).ok


@pytest.mark.parametrize(
    ("reader", "raw"),
    [
        (parse_health, b" " * (MAX_HEALTH_BYTES + 1)),
        (parse_health, json.dumps({**HEALTH, "v": 2}).encode()),
        (parse_health, json.dumps({**HEALTH, "at": "2026-11-05T10:00:00"}).encode()),
        (parse_health, json.dumps({**HEALTH, "box": "a/b"}).encode()),
        (parse_health, json.dumps({**HEALTH, "devs": {"x": {"stage": "bogus"}}}).encode()),
        (parse_health, json.dumps({**HEALTH, "devs": {"x": {"days": "2"}}}).encode()),
        (parse_health, json.dumps({**HEALTH, "devs": {"x": {"lock": "soon"}}}).encode()),
        (parse_health, json.dumps({**HEALTH, "outbox": {"age_s": float("nan")}}).encode()),
        (parse_event, json.dumps({**EVENT, "seq": -1}).encode()),
        (parse_event, json.dumps({k: v for k, v in EVENT.items() if k != "id"}).encode()),
        # Another box's id (box-2's event 1), or one that is not this event's own seq.
        (parse_event, json.dumps({**EVENT, "id": "box-2-ab-1"}).encode()),
        (parse_event, json.dumps({**EVENT, "id": "box-1-ab-2"}).encode()),
        (parse_event, json.dumps({**EVENT, "box": "box-1-ab", "id": "box-1-ab-1"}).encode()),
        (parse_status, b"maybe"),
        (parse_alert, json.dumps({**ALERT, "severity": "meh"}).encode()),
        (parse_result, json.dumps({**RESULT, "state": "pending"}).encode()),
    ],
)
def test_bad_messages_are_refused(reader, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PayloadError):
        reader(raw)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=15,
)


def _mutations(base: dict) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.dictionaries(st.sampled_from(sorted(base)), _json, max_size=len(base)).map(
            lambda changes: json.dumps({**base, **changes}).encode()
        ),
    )


@settings(max_examples=250, deadline=None)
@given(_mutations(HEALTH), _mutations(EVENT), _mutations(ALERT), _mutations(RESULT))
def test_garbage_is_read_or_refused_never_crashes(h: bytes, e: bytes, a: bytes, r: bytes) -> None:
    for reader, raw in ((parse_health, h), (parse_event, e), (parse_alert, a), (parse_result, r)):
        try:
            reader(raw)  # type: ignore[operator]
        except PayloadError:
            pass
    board = Board()
    for topic, raw in (
        ("qingka/s/b/health", h),
        ("qingka/s/b/alerts/x", a),
        ("qingka/s/b/status", r),
    ):
        try:
            board.apply(topic, raw)
        except PayloadError:
            pass
    render(board.rows(), "zh")


def test_the_board_sorts_by_urgency() -> None:
    board = Board()
    calm = {**HEALTH, "box": "calm", "devs": {"1": {"stage": "cleared", "days": 40}}}
    board.apply("qingka/s/calm/health", json.dumps(calm).encode())
    board.apply("qingka/s/calm/status", b"online")
    board.apply("qingka/s/box-1/health", json.dumps(HEALTH).encode())
    board.apply("qingka/s/box-1/status", b"online")
    board.apply("qingka/s/gone/status", b"offline")
    rows = board.rows()
    assert [(r["box"], r["device"]) for r in rows] == [
        ("box-1", "661100000001"),
        ("gone", None),
        ("box-1", "661100000002"),
        ("calm", "1"),
    ]
    text = render(rows, "en")
    assert "to report" in text.splitlines()[1] and "NO" in text.splitlines()[2]
    board.apply("qingka/s/gone/status", b"")
    assert "gone" not in {r["box"] for r in board.rows()}
