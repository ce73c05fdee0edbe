"""The scheduler: policies, retries with backoff, hourly declaration checks, deadline warnings,
several devices at once, and a device unplugged mid-job. Real devices (simulated), a real
bureau, real threads; only the scheduler's monotonic clock is a fake one, moved by the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import POLICY_AUTO, POLICY_BUTTON, DeviceSpec, Engine, JobRunning
from appliance.clearing.journal import Journal
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.device import open_backend
from simulators.device.usb_backend import SimBackend
from tests.appliance.clearing.conftest import _indices
from tests.simulators.bureau.fixtures import ANCHOR, FAST_RETRY, PERIOD
from tests.simulators.device.conftest import FrozenClock


class FakeTime:
    """The scheduler's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Box:
    """An engine over simulated devices, with the events it emitted."""

    def __init__(self, folder: Path, bureau: BureauProcess, policy: str) -> None:
        folder.mkdir()
        self.folder = folder
        self.bureau = bureau
        self.time = FakeTime()
        self.db = Database(folder / "qingka.db")
        self.journal = Journal(self.db)
        self.backends: dict[str, SimBackend] = {}
        self.events: list[dict[str, Any]] = []
        self.engine = Engine(
            [],
            journal=self.journal,
            backups=BackupStore(folder),
            bureau_factory=self._bureau,
            opener=self._open,
            emit=self.events.append,
            policy=policy,
            monotonic=self.time,
        )

    def _bureau(self, identity: Identity) -> BureauAdapter:
        return BureauAdapter(self.bureau.config(retry=FAST_RETRY, connect_timeout=2.0))

    def _open(self, url: str) -> NisecDevice:
        backend = self.backends[url]
        return open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)

    def add(self, scenario: str = "needs-clearing", **options: Any) -> tuple[str, int]:
        """Add a simulated device; return its URL key and catalog index."""
        index = int(options.pop("index", next(_indices)))
        now = options.pop("now", ANCHOR.isoformat())
        opts = {"latency": "0", "now": now, "index": str(index), **options}
        backend = open_backend(scenario, opts, host_clock=FrozenClock(ANCHOR))
        url = f"sim://{scenario}#{index}"
        self.backends[url] = backend
        self.engine.add(DeviceSpec(url, DEFAULT_PIN, catalog.taxpayer(index).taxpayer_id))
        return url, index

    def settle(self, timeout: float = 30.0) -> None:
        """Tick once and wait until every device's work is finished."""
        self.engine.tick()
        deadline = time.monotonic() + timeout
        while not self.engine.idle():
            assert time.monotonic() < deadline, "device work did not finish"
            time.sleep(0.01)

    def outcomes(self, url: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "outcome" and e.get("url") == url]

    def close(self) -> None:
        self.engine.stop(10)
        self.db.close()


@pytest.fixture
def box(tmp_path: Path, bureau: BureauProcess) -> Iterator[Any]:
    made: list[Box] = []

    def make(policy: str = POLICY_AUTO) -> Box:
        built = Box(tmp_path / f"box{len(made)}", bureau, policy)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()


def kinds(box: Box, url: str) -> list[str]:
    return [e["kind"] for e in box.outcomes(url)]


def test_auto_clears_on_start(box: Any) -> None:
    b = box(POLICY_AUTO)
    url, _ = b.add()
    b.settle()
    assert kinds(b, url) == ["done"]
    status = b.engine.status()["devices"][0]
    assert status["device"]["types"][0]["stage"] == "cleared"
    assert status["last_outcome"]["kind"] == "done"
    assert status["busy"] is False
    # Nothing more to do at the next checks.
    b.time.now += 900
    b.settle()
    assert kinds(b, url) == ["done"]


def test_button_only_waits_for_the_button(box: Any) -> None:
    b = box(POLICY_BUTTON)
    url, _ = b.add()
    b.settle()
    assert kinds(b, url) == []
    assert any(e["event"] == "device" and e.get("device_no") for e in b.events)
    assert b.engine.request_clear(url) == [url]
    b.settle()
    assert kinds(b, url) == ["done"]


def test_retry_later_is_retried_within_a_minute(box: Any) -> None:
    b = box(POLICY_AUTO)
    url, _ = b.add(fault="busy:copy_tax")
    b.settle()
    assert kinds(b, url) == ["retry-later"]
    assert b.engine.status()["devices"][0]["retry_in_s"] <= 60
    assert b.outcomes(url)[0]["retry_at"] is not None
    b.time.now += 10
    b.settle()
    assert kinds(b, url) == ["retry-later"]  # not yet
    b.time.now += 50
    b.settle()
    assert kinds(b, url) == ["retry-later", "done"]


def test_declaration_refusal_is_checked_again_every_hour(box: Any) -> None:
    b = box(POLICY_AUTO)
    url, index = b.add()
    taxpayer = catalog.taxpayer(index).taxpayer_id
    b.bureau.admin.set_declaration(taxpayer, "missing", PERIOD)
    b.settle()
    assert kinds(b, url) == ["needs-human"]
    b.bureau.admin.set_declaration(taxpayer, "filed", PERIOD)
    b.time.now += 1800
    b.settle()
    assert kinds(b, url) == ["needs-human"]
    b.time.now += 1800
    b.settle()
    assert kinds(b, url) == ["needs-human", "done"]


def test_a_rejected_pin_is_never_tried_again_by_itself(box: Any) -> None:
    b = box(POLICY_AUTO)
    url, _ = b.add("wrong-pin")
    for _ in range(4):
        b.settle()
        b.time.now += 3600
    backend = b.backends[url]
    assert backend.device.counters["verify_pin"] == 1
    error = b.engine.status()["devices"][0]["error"]
    assert error["code"] == "D-101"
    assert "2 tries left" in error["message_en"]
    assert "不会自动重试" in error["action_zh"]


def test_deadline_warnings_once_per_threshold(box: Any) -> None:
    b = box(POLICY_BUTTON)
    b.add(now="2026-11-13T10:00")  # 3 days before the lock on 16 November
    b.settle()
    b.time.now += 900
    b.settle()
    warnings = [e for e in b.events if e["event"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["days_to_lock"] == 3
    assert "3 天" in warnings[0]["message_zh"]


def test_several_devices_clear_independently(box: Any) -> None:
    b = box(POLICY_BUTTON)
    urls = [b.add()[0] for _ in range(3)] + [b.add("wrong-pin")[0]]
    b.settle()
    b.engine.request_clear()
    b.engine.tick()
    with pytest.raises(JobRunning):
        b.engine.request_clear(urls[0])
    b.settle()
    assert [kinds(b, url) for url in urls] == [["done"], ["done"], ["done"], ["needs-human"]]


def test_unplugged_mid_job_resumes_when_plugged_in(box: Any) -> None:
    b = box(POLICY_AUTO)
    url, index = b.add(fault="unplug:write_clearing")
    b.settle()
    assert kinds(b, url) == ["retry-later"]
    assert b.engine.status()["devices"][0]["present"] is True
    b.time.now += 60
    b.settle()  # still unplugged: the open fails
    assert b.engine.status()["devices"][0]["present"] is False
    b.backends[url].replug()
    b.time.now += 60
    b.settle()
    assert kinds(b, url)[-1] == "done"
    assert b.bureau.admin.state(catalog.taxpayer(index).taxpayer_id)["clearings"] == 1


def test_clear_pressed_while_unplugged_says_so_once_and_runs_on_replug(box: Any) -> None:
    b = box(POLICY_BUTTON)
    url, _ = b.add()
    b.settle()
    b.backends[url].unplug()
    b.engine.request_clear(url)
    b.settle()
    assert kinds(b, url) == ["retry-later"]
    assert b.outcomes(url)[0]["code"] == "D-002"
    assert "插入" in b.outcomes(url)[0]["action_zh"]
    for _ in range(3):
        b.time.now += 6
        b.settle()
    assert kinds(b, url) == ["retry-later"]  # no repeat while it stays unplugged
    b.backends[url].replug()
    b.time.now += 6
    b.settle()
    assert kinds(b, url) == ["retry-later", "done"]


def test_progress_says_when_the_job_began(box: Any) -> None:
    b = box(POLICY_BUTTON)
    url, _ = b.add()
    seen: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        b.events.append(event)
        if event.get("step") == "upload":
            seen.append(b.engine.status())

    b.engine.emit = emit
    b.engine.request_clear(url)
    b.settle()
    assert kinds(b, url) == ["done"]
    row = seen[0]["devices"][0]
    assert row["clearing"] is True
    assert row["progress"]["step"] == "upload"
    assert row["progress"]["started_at"] <= seen[0]["now"]
