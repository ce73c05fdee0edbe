"""The fleet store, the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
from datetime import datetime

from appliance.clock import CHINA
from fleet.parse import parse_event, parse_health
from fleet.store import open_store


def _health(box: str, at: str, stage: str) -> bytes:
    return json.dumps(
        {"v": 1, "box": box, "site": "s", "at": at,
         "devs": {"d1": {"stage": stage, "lock": "2026-11-16", "days": 2, "attn": True}}}
    ).encode()  # fmt: skip


def _event(box: str, seq: int, epoch: str = "e1") -> bytes:
    return json.dumps(
        {"v": 1, "id": f"{box}-{epoch}-{seq}", "seq": seq, "box": box, "site": "s",
         "at": "2026-11-05T10:00:00.000+08:00", "event": "step", "device_no": "d1"}
    ).encode()  # fmt: skip


def test_events_once_each_in_order(store_url: str) -> None:
    with open_store(store_url) as store:
        for seq in (3, 1, 2, 2, 3):
            store.event(parse_event(_event("b1", seq)), 1.0)
        assert not store.event(parse_event(_event("b1", 1)), 2.0), "a repeat is not stored"
        assert [e["seq"] for e in store.events("s", "b1")] == [1, 2, 3]
        assert store.event_count() == 3
        assert store.lags(0.0)


# The collector's clock in these tests: a few seconds after the healths below.
NOW = datetime(2026, 11, 5, 10, 0, 5, tzinfo=CHINA).timestamp()


def test_state_only_moves_forward(store_url: str) -> None:
    with open_store(store_url) as store:
        store.health(parse_health(_health("b1", "2026-11-05T10:00:02+08:00", "cleared")), NOW)
        store.health(parse_health(_health("b1", "2026-11-05T10:00:01+08:00", "needs-report")), NOW)
        (view,) = store.boxes()
        assert view.health is not None and view.health.devices["d1"].stage == "cleared"
        # Statuses: a newer session wins; within one session "offline" (the will) wins.
        store.status("s", "b1", "online", "2026-11-05T10:00:00", 1.0)
        store.status("s", "b1", "offline", "2026-11-05T09:00:00", 2.0)  # an old will, late
        assert store.boxes()[0].status == "online"
        store.status("s", "b1", "offline", "2026-11-05T10:00:00", 3.0)
        assert store.boxes()[0].status == "offline"
        store.status("s", "b1", "online", "2026-11-05T10:00:00", 4.0)  # a late birth, same session
        assert store.boxes()[0].status == "offline"
        store.status("s", "b1", "online", "2026-11-05T11:00:00", 5.0)
        assert store.boxes()[0].status == "online"


def test_a_health_dated_far_ahead_does_not_freeze_the_box(store_url: str) -> None:
    with open_store(store_url) as store:
        store.health(parse_health(_health("b1", "9999-12-31T23:59:59+14:00", "cleared")), NOW)
        store.health(parse_health(_health("b1", "2026-11-05T10:00:04+08:00", "needs-report")), NOW)
        (view,) = store.boxes()
        assert view.health is not None and view.health.devices["d1"].stage == "needs-report"
        # Within a day ahead it still counts as newer (boxes' clocks differ a little).
        ahead = "2026-11-05T12:00:00+08:00"
        store.health(parse_health(_health("b1", ahead, "cleared")), NOW)
        store.health(parse_health(_health("b1", "2026-11-05T10:00:05+08:00", "needs-report")), NOW)
        assert store.boxes()[0].health.devices["d1"].stage == "cleared"  # type: ignore[union-attr]


def test_alerts_availability_and_rows(store_url: str) -> None:
    alert = json.dumps(
        {"name": "disk-low", "since": "2026-11-05T10:00:00+08:00", "severity": "critical"}
    ).encode()
    with open_store(store_url) as store:
        store.health(parse_health(_health("b1", "2026-11-05T10:00:00+08:00", "needs-report")), 1.0)
        store.status("s", "b1", "online", "x", 1.0)
        store.alert("s", "b1", "disk-low", alert)
        store.availability("s", "b1", "d1", "online")
        (row,) = store.rows()
        assert row["alerts"] == ["disk-low"] and row["days_left"] == 2 and row["online"]
        store.alert("s", "b1", "disk-low", b"")
        store.availability("s", "b1", "d1", None)
        (view,) = store.boxes()
        assert not view.alerts and not view.availability
