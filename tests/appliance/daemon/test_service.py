"""The daemon as systemd runs it: READY, watchdog pings from the working loop, the local API,
a clearing driven through it, and SIGTERM in the middle of a job."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError
from simulators.bureau import BureauProcess
from tests.appliance.daemon.service_rig import DaemonRig
from tests.simulators.bureau.fixtures import _scenario_restored, bureau

__all__ = ["_scenario_restored", "bureau"]

_indices = itertools.count(7000)


@pytest.fixture
def daemon(tmp_path: Path, bureau: BureauProcess) -> Iterator[Any]:
    made: list[DaemonRig] = []

    def make(scenario: str = "needs-clearing", latency: str = "0") -> DaemonRig:
        folder = tmp_path / f"d{len(made)}"
        folder.mkdir()
        rig = DaemonRig(folder, bureau, next(_indices), scenario, latency)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def follow(client: ApiClient, url: str) -> list[dict[str, Any]]:
    """Clear ``url`` and return its events up to the outcome."""
    events = client.subscribe(["step", "outcome"])
    try:
        assert client.call("clear", device=url)["queued"] == [url]
        seen = []
        for event in events:
            seen.append(event)
            if event["event"] == "outcome":
                return seen
    finally:
        events.close()
    raise AssertionError("no outcome")


def test_ready_watchdog_api_and_a_clearing(daemon: Any) -> None:
    rig = daemon()
    rig.start(watchdog_usec=1_000_000)
    # Every tick of the working loop pings, about once a second; a loaded machine stretches
    # the ticks, so wait for three rather than count what came in a fixed time.
    received = rig.receive(15, lambda got: sum("WATCHDOG=1" in m for m in got) >= 3)
    assert sum("WATCHDOG=1" in m for m in received) >= 3
    with ApiClient(rig.socket) as client:
        status = client.call("status")
        assert status["policy"] == "button-only"
        assert status["devices"][0]["url"] == rig.url
        events = follow(client, rig.url)
        steps = [e["step"] for e in events if e["event"] == "step"]
        assert steps[0] == "precheck"
        assert steps[-1] == "done"
        outcome = events[-1]
        assert outcome["kind"] == "done"
        assert outcome["new_lock_date"] == "2026-12-15"
        history = client.call("history", limit=5)
        assert history[0]["kind"] == "done"
        assert client.call("backups")[0]["period"] == 202610
        with pytest.raises(ApiError) as caught:
            client.call("clear", device="sim://no-such-device")
        assert caught.value.code == "A-404"
        diagnostics = client.call("diagnostics")
        assert diagnostics["bureau"][0]["reachable"] is True
        assert any('"event": "outcome"' in line for line in client.call("logs", lines=50))
    assert rig.stop() == 0
    rig.wait_for("STOPPING=1", 5)
    assert not rig.socket.exists()


def test_sigterm_mid_job_stops_at_a_step_boundary_and_resumes(daemon: Any) -> None:
    rig = daemon(latency="1")
    rig.start()
    with ApiClient(rig.socket) as client:
        events = client.subscribe(["step"])
        client.call("clear", device=rig.url)
        for event in events:
            if event["step"] == "backup":
                break
        events.close()
    assert rig.stop() == 0
    db = sqlite3.connect(rig.folder / "box" / "qingka.db")
    step, finished = db.execute("SELECT step, finished FROM jobs").fetchone()
    outcome = db.execute("SELECT kind, code FROM outcomes").fetchone()
    db.close()
    assert finished == 0
    assert step in ("backup", "upload", "clear-request")
    assert outcome == ("retry-later", "J-401")
    # Next start: the interrupted job resumes by itself, even with the button-only policy.
    rig.start()
    with ApiClient(rig.socket) as client:
        events = client.subscribe(["outcome"])
        status = client.call("status")["devices"][0]
        if not (status["last_outcome"] and status["last_outcome"]["kind"] == "done"):
            outcome_event = next(iter(events))
            assert outcome_event["kind"] == "done"
        events.close()
    assert rig.stop() == 0
    state = rig.bureau.admin.state(rig.taxpayer.taxpayer_id)
    assert state["clearings"] == 1
    assert len(state["uploads"]) == 2


def test_backups_are_exported_only_below_the_export_location(daemon: Any) -> None:
    rig = daemon()
    rig.start()
    media = rig.folder / "media"
    (media / "stick").mkdir(parents=True)
    (rig.folder / "elsewhere").mkdir()
    (media / "sneaky").symlink_to(rig.folder / "elsewhere")
    with ApiClient(rig.socket) as client:
        follow(client, rig.url)
        exported = Path(client.call("export_backups", directory=str(media / "stick"))["path"])
        assert exported.parent == media / "stick" and exported.is_file()
        for outside in (rig.folder / "elsewhere", media / "sneaky", Path("relative")):
            with pytest.raises(ApiError) as caught:
                client.call("export_backups", directory=str(outside))
            assert caught.value.code == "A-403", outside
    assert list((rig.folder / "elsewhere").iterdir()) == []
    assert rig.stop() == 0
