"""The box as of the suite's moment: run once per moment of the date sweep (``--sweep``).

A needs-clearing device built as of that moment must read as due, locked exactly when the
moment is past its month's deadline, with the days left a person is told, and the deadline
warnings the scheduler sends; the product's today must be Beijing's whatever the system zone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from appliance.calendar.stage import Stage
from appliance.clearing.engine import POLICY_BUTTON, DeviceSpec, Engine
from appliance.clearing.journal import Journal
from appliance.clock import CHINA, clock
from appliance.devices.nisec import NisecDevice
from appliance.devices.snapshot import read_snapshot
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from simulators.device import open_backend
from tests.dates import deadline_of_month

pytestmark = pytest.mark.dates


def _beijing(moment: datetime) -> datetime:
    return moment.astimezone(CHINA).replace(tzinfo=None)


def _device(today: datetime) -> NisecDevice:
    # The simulator's host clock is the product clock, which the suite set to ``today``.
    backend = open_backend(
        "needs-clearing", {"latency": "0", "now": _beijing(today).isoformat(timespec="seconds")}
    )
    return open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)


def test_the_products_today_is_beijings_whatever_the_system_zone(today: datetime) -> None:
    assert clock().today() == _beijing(today).date()
    # A child process under a zone far from Beijing reads the same day through the shift.
    code = "from appliance.clock import clock; print(clock().today().isoformat())"
    env = {**os.environ, "TZ": "Pacific/Kiritimati"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    assert out == _beijing(today).date().isoformat()


def test_a_due_device_reads_as_due_and_locked_only_past_the_deadline(today: datetime) -> None:
    deadline = deadline_of_month(today)
    with _device(today) as device:
        snapshot = read_snapshot(device, DEFAULT_PIN)
    day = _beijing(today).date()
    assert snapshot.clock.date() == day
    for snap in snapshot.types:
        assert snap.status.stage is Stage.NEEDS_REPORT
        assert snap.status.lock_date == deadline
        assert snap.status.days_to_lock == (deadline - day).days
        assert snap.status.locked is (day > deadline)


def test_deadline_warnings_follow_the_days_left(today: datetime, tmp_path: Path) -> None:
    days_left = (deadline_of_month(today) - _beijing(today).date()).days
    device = _device(today)
    db = Database(tmp_path / "qingka.db")
    events: list[dict[str, object]] = []
    engine = Engine(
        [DeviceSpec("sim://today", DEFAULT_PIN)],
        journal=Journal(db),
        backups=BackupStore(tmp_path),
        bureau_factory=lambda identity: pytest.fail("button-only must not clear"),
        opener=lambda url: device,
        emit=events.append,
        policy=POLICY_BUTTON,
    )
    try:
        engine.tick()
        deadline = time.monotonic() + 30
        while not engine.idle():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        engine.stop(10)
        db.close()
    warnings = [e for e in events if e["event"] == "warning"]
    if 0 <= days_left <= 5:
        # One per device and lock date: both invoice types lock at the same moment.
        assert [w["days_to_lock"] for w in warnings] == [days_left]
    else:
        assert warnings == []
