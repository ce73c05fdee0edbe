"""The kiosk against the real daemon with the device and bureau simulators: one tap each.

Each scenario runs a real clearing (about five seconds of simulated device latency); the tap is
a synthetic touch on 一键清卡, and the assertions read what the screens show.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from appliance.clearing.steps import JobStep
from appliance.demo.runner import Demo
from kiosk_ui.app import KioskApp
from kiosk_ui.board import Board
from kiosk_ui.catalog import tr
from kiosk_ui.settings import KioskSettings
from tests.dates import lock_after_clearing

from .kivy_rig import pump_until, start_app, stop_app, tap

JOB_TIMEOUT_S = 45.0


# One app per test: pytest-xdist may interleave tests of other kiosk modules in this process.
@pytest.fixture
def app(tmp_path: Path) -> Iterator[KioskApp]:
    kiosk = start_app(KioskSettings(socket=tmp_path / "api.sock"))
    yield kiosk
    stop_app(kiosk)


@pytest.fixture
def demo(request: pytest.FixtureRequest, today: datetime) -> Iterator[Demo]:
    # As of the suite's moment exactly (not the demo's usual 5th of the month): the sweep
    # runs these at year ends, deadlines and leap days.
    running = Demo(request.param, "zh", None, today)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _attach(app: KioskApp, demo: Demo) -> None:
    """Point the app at ``demo``'s daemon and wait until home shows its device."""
    app.link.stop()
    app.settings = replace(app.settings, socket=demo.socket)
    app.board = Board()
    app.link = app._daemon_link(app)
    app.link.start()
    app.go_home()
    pump_until(
        "the device on the home screen",
        lambda: (
            app.online
            and any(d.reading or d.row.get("error") for d in app.board.present())
            and not any(d.row.get("busy") for d in app.board.present())
        ),
        timeout=20,
    )


def _clear_and_follow(app: KioskApp) -> list[str]:
    """Tap 一键清卡; return the steps the progress screen showed, once the result shows."""
    progress = app.root.ids.screens.get_screen("progress")
    shown: list[str] = []

    def record(_screen: Any, text: str) -> None:
        if not shown or shown[-1] != text:
            shown.append(text)

    progress.bind(current=record)
    home = app.root.ids.screens.get_screen("home")
    assert home.ids.big.text == tr("home.clear", "zh")
    tap(home.ids.big)
    assert app.current_screen().name == "progress"
    try:
        pump_until(
            "the result screen", lambda: app.current_screen().name == "result", JOB_TIMEOUT_S
        )
    finally:
        progress.unbind(current=record)
    return shown


def _labels(*steps: JobStep) -> list[str]:
    return [step.label_zh for step in steps]


ALL_STEPS = [step for step in JobStep if step is not JobStep.DONE]


@pytest.mark.dates
@pytest.mark.parametrize("demo", ["needs-clearing"], indirect=True)
def test_one_tap_clears_and_shows_the_new_lock_date(
    app: KioskApp, demo: Demo, today: datetime
) -> None:
    _attach(app, demo)
    shown = _clear_and_follow(app)
    assert [s for s in shown if s in _labels(*ALL_STEPS)] == _labels(*ALL_STEPS)
    result = app.current_screen()
    assert result.title == tr("result.done", "zh")
    assert result.big_value == lock_after_clearing(today).isoformat()
    assert result.ids.retry.parent is None


@pytest.mark.dates
@pytest.mark.parametrize("demo", ["locked"], indirect=True)
def test_a_locked_device_is_cleared_and_unlocked(
    app: KioskApp, demo: Demo, today: datetime
) -> None:
    _attach(app, demo)
    card = next(iter(app.root.ids.screens.get_screen("home")._cards.values()))
    assert card.stage == "locked"
    shown = _clear_and_follow(app)
    assert [s for s in shown if s in _labels(*ALL_STEPS)] == _labels(*ALL_STEPS)
    result = app.current_screen()
    assert result.big_value == lock_after_clearing(today).isoformat()
    assert "设备已解锁，可以重新开票" in result.what


@pytest.mark.parametrize("demo", ["declaration-missing"], indirect=True)
def test_a_missing_declaration_says_to_file_it(app: KioskApp, demo: Demo) -> None:
    _attach(app, demo)
    shown = _clear_and_follow(app)
    assert shown[-1] == JobStep.CLEAR_REQUEST.label_zh
    result = app.current_screen()
    assert result.title == tr("result.needs_human", "zh")
    assert result.big_value == ""
    assert "一窗式比对失败" in result.what
    assert "电子税务局" in result.todo
    assert result.code_line == tr("result.code", "zh", code="B-402")
    assert "自动再试" in result.auto_line
    assert result.ids.retry.parent is not None  # filing on the e-tax site, then retry, helps


@pytest.mark.parametrize("demo", ["wrong-pin"], indirect=True)
def test_a_wrong_pin_is_never_offered_a_retry(app: KioskApp, demo: Demo) -> None:
    _attach(app, demo)
    # The daemon's reading already met the wrong PIN: home offers PIN entry, not a clear.
    assert app.root.ids.screens.get_screen("home").ids.big.text == tr("home.enter_pin", "zh")
    app.press_clear(app.board.present()[0].url)
    pump_until("the result screen", lambda: app.current_screen().name == "result", JOB_TIMEOUT_S)
    result = app.current_screen()
    assert "设备密码（PIN）错误" in result.what
    assert result.code_line == tr("result.code", "zh", code="D-101")
    assert result.auto_line == ""
    assert result.ids.retry.parent is None


@pytest.mark.parametrize("demo", ["network-down"], indirect=True)
def test_a_network_failure_says_when_the_box_tries_again(app: KioskApp, demo: Demo) -> None:
    _attach(app, demo)
    _clear_and_follow(app)
    result = app.current_screen()
    assert result.title == tr("result.retry_later", "zh")
    assert "无法连接税务局" in result.what
    assert result.code_line == tr("result.code", "zh", code="B-007")
    assert "自动再试" in result.auto_line
    assert result.ids.retry.parent is not None


@pytest.mark.parametrize("demo", ["needs-clearing"], indirect=True)
def test_the_kiosk_reconnects_after_a_daemon_restart(app: KioskApp, demo: Demo) -> None:
    _attach(app, demo)
    assert demo.daemon is not None
    demo.daemon.send_signal(signal.SIGTERM)
    demo.daemon.wait(30)
    overlay = app.root.ids.offline
    pump_until("the unavailable notice", lambda: overlay.active and overlay.opacity == 1)
    assert any(getattr(w, "text", "") == tr("conn.down", "zh") for w in overlay.walk(restrict=True))
    log = (demo.dir / "daemon.log").open("ab")
    demo.daemon = subprocess.Popen(
        [sys.executable, "-m", "appliance", "daemon", "--config", str(demo.config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    pump_until("the kiosk back online", lambda: app.online and not overlay.active, timeout=30)
    pump_until("the device again", lambda: bool(app.board.present()), timeout=20)
    assert app.current_screen().name == "home"


def test_home_shows_a_plug_in_picture_without_devices(app: KioskApp) -> None:
    app.on_status({"devices": []}, True)
    home = app.root.ids.screens.get_screen("home")
    app.go_home()
    assert home.ids.hint.parent is not None
    assert home.ids.big.parent is None
