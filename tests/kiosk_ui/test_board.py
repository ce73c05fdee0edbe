"""The board: what the daemon said, turned into per-device state."""

from __future__ import annotations

from typing import Any

from kiosk_ui.board import Board
from kiosk_ui.gallery import one_device


def _step(step: str, percent: int) -> dict[str, Any]:
    return {"event": "step", "url": "sim://shop", "step": step, "progress": percent}


def test_a_job_runs_from_its_first_step_to_its_outcome() -> None:
    board = Board(monotonic=lambda: 50.0)
    board.apply_status(one_device(), sync=True)
    state = board.devices["sim://shop"]
    assert not state.running
    board.apply_event(_step("precheck", 0))
    board.apply_event(_step("copy-tax", 10))
    assert state.running and state.step == "copy-tax" and state.percent == 10
    assert state.steps_seen == ["precheck", "copy-tax"]
    assert state.started_at == 50.0
    board.apply_event({"event": "outcome", "url": "sim://shop", "kind": "done", "seq": 9})
    assert not state.running
    assert state.outcome == {"kind": "done"}


def test_a_status_read_just_after_the_outcome_does_not_restart_the_job() -> None:
    board = Board()
    board.apply_status(one_device(), sync=True)
    board.apply_event(_step("verify", 90))
    board.apply_event({"event": "outcome", "url": "sim://shop", "kind": "done"})
    busy = one_device()
    busy["devices"][0].update(busy=True, clearing=True, progress=_step("done", 100))
    board.apply_status(busy, sync=False)
    assert not board.devices["sim://shop"].running


def test_connecting_during_a_job_shows_it() -> None:
    busy = one_device()
    busy["devices"][0].update(busy=True, clearing=True, progress=_step("upload", 35))
    board = Board()
    board.apply_status(busy, sync=True)
    state = board.devices["sim://shop"]
    assert state.running and state.step == "upload" and state.percent == 35


def test_a_missed_outcome_ends_the_job_when_the_daemon_is_idle() -> None:
    board = Board()
    board.apply_status(one_device(), sync=True)
    board.apply_event(_step("upload", 35))
    board.apply_status(one_device(), sync=False)
    assert not board.devices["sim://shop"].running


def test_device_events_update_the_reading_and_presence() -> None:
    board = Board()
    board.apply_status(one_device(), sync=True)
    board.apply_event({"event": "device", "url": "sim://shop", "present": False})
    assert board.present() == []
    reading = {"device_no": "661900000009", "taxpayer_name": "新名字", "types": []}
    board.apply_event({"event": "device", "url": "sim://shop", "present": True, **reading})
    state = board.devices["sim://shop"]
    assert state.present and state.reading is not None
    assert state.reading["taxpayer_name"] == "新名字"


def test_a_refused_request_is_undone_but_a_started_job_stays() -> None:
    board = Board()
    board.apply_status(one_device(), sync=True)
    board.requested(["sim://shop"])
    assert board.running()
    board.request_failed(["sim://shop"])
    assert not board.running()
    board.requested(["sim://shop"])
    board.apply_event(_step("precheck", 0))
    board.request_failed(["sim://shop"])
    assert board.running()


def test_devices_the_daemon_no_longer_lists_are_dropped() -> None:
    board = Board()
    board.apply_status(one_device(), sync=True)
    board.apply_status({"devices": []}, sync=False)
    assert board.devices == {}


def test_coming_back_mid_job_counts_from_when_the_job_began() -> None:
    from datetime import timedelta  # noqa: PLC0415

    from appliance.clock import clock  # noqa: PLC0415

    # With its offset, as the daemon writes it: read right whatever the system's time zone.
    began = (clock().now() - timedelta(seconds=42)).isoformat(timespec="seconds")
    busy = one_device()
    progress = {**_step("upload", 35), "started_at": began}
    busy["devices"][0].update(busy=True, clearing=True, progress=progress)
    board = Board(monotonic=lambda: 1000.0)
    board.apply_status(busy, sync=True)
    started = board.devices["sim://shop"].started_at
    assert started is not None
    assert 1000.0 - 44 <= started <= 1000.0 - 41
