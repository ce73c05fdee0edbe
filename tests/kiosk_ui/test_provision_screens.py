"""Provisioning on the touchscreen: "正在配置…" blocks taps, the result shows once and goes away."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from appliance.clock import clock
from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import tr
from kiosk_ui.gallery import GalleryLink, one_device, provision_applied, provision_working
from kiosk_ui.settings import KioskSettings
from provisioning import outbox

from .kivy_rig import button, pump, pump_until, start_app, stop_app, tap


@pytest.fixture
def link() -> GalleryLink:
    return GalleryLink()


@pytest.fixture
def status_file(tmp_path: Path) -> Path:
    return tmp_path / "run" / "provision.json"


@pytest.fixture
def app(link: GalleryLink, tmp_path: Path, status_file: Path) -> Iterator[KioskApp]:
    settings = KioskSettings(socket=tmp_path / "none", provision_status=status_file)
    kiosk = start_app(settings, lambda _l: link)
    kiosk.on_connected(True)
    kiosk.on_status(one_device(), True)
    pump()
    yield kiosk
    stop_app(kiosk)


def _working_fields() -> dict[str, Any]:
    return {k: v for k, v in provision_working().items() if k not in ("updated_at", "pid")}


def _replace(path: Path, data: bytes) -> None:
    """Replace the file whole, as provisioning does: the watcher's thread never sees half of it."""
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    part.replace(path)


def _look(app: KioskApp) -> None:
    """Have the watcher look now (its thread looks once a second) and deliver what it saw."""
    assert app.provision_watch is not None
    app.provision_watch.poll()
    pump()


def _overlays(app: KioskApp) -> tuple[Any, Any]:
    ids = app.root.ids
    return ids.provision_working, ids.provision_result


def _big(app: KioskApp) -> Any:
    return app.root.ids.screens.get_screen("home").ids.big


def _clears(link: GalleryLink) -> list[dict[str, Any]]:
    return [args for cmd, args in link.requests if cmd == "clear"]


def test_configuring_blocks_the_clear_button_then_the_result_is_dismissed(
    app: KioskApp, link: GalleryLink, status_file: Path
) -> None:
    working, result = _overlays(app)
    assert not working.active and not result.active
    # Provisioning's own writer, as an apply writes it (its pid: this process, alive).
    outbox.write_status(status_file, _working_fields())
    _look(app)
    assert working.active and working.opacity == 1
    assert working.title == "正在配置…" and working.box_line == "本机编号 qk-3f9a2c41d07e"
    tap(_big(app))
    assert _clears(link) == []  # the tap never reached 一键清卡
    assert app.current_screen().name == "home"

    outbox.write_status(status_file, provision_applied())
    _look(app)
    assert not working.active and result.active
    assert (result.title, result.code_line) == ("配置完成", "代码 P-000")
    assert result.what == "新配置已生效"
    tap(_big(app))  # under the result: nothing
    assert _clears(link) == []
    tap(button(result, tr("result.got_it", "zh")))
    assert not result.active and result.opacity == 0
    _look(app)  # the same file again: shown once per update
    assert not result.active
    tap(_big(app))
    assert _clears(link) == [{"device": "sim://shop"}]


def test_the_watcher_thread_finds_the_file_by_itself(app: KioskApp, status_file: Path) -> None:
    outbox.write_status(status_file, _working_fields())
    working, _ = _overlays(app)
    pump_until("the configuring overlay", lambda: working.active, timeout=5)


def test_garbage_does_nothing_but_a_log_line(
    app: KioskApp, status_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    status_file.parent.mkdir()
    with caplog.at_level(logging.WARNING, logger="qingka.kiosk"):
        for garbage in (b"", b"{]", b'{"state": "working"}', b'{"state": "x", "updated_at": 1}'):
            _replace(status_file, garbage)
            _look(app)
            assert not any(overlay.active for overlay in _overlays(app))
            assert app.current_screen().name == "home"
    assert sum("ignoring provisioning status" in r.getMessage() for r in caplog.records) == 4


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_stale_working_file_is_ignored(app: KioskApp, status_file: Path) -> None:
    status_file.parent.mkdir()
    killed = {**provision_working(), "pid": _dead_pid(), "updated_at": clock().stamp()}
    _replace(status_file, json.dumps(killed).encode())
    _look(app)
    assert not any(overlay.active for overlay in _overlays(app))
    old = (clock().now() - timedelta(minutes=11)).isoformat()
    _replace(status_file, json.dumps({**provision_working(), "updated_at": old}).encode())
    _look(app)
    assert not any(overlay.active for overlay in _overlays(app))
    tap(_big(app))
    assert app.current_screen().name == "progress"  # the screen is not locked


def test_the_overlays_follow_the_language(app: KioskApp, status_file: Path) -> None:
    outbox.write_status(status_file, provision_applied())
    _look(app)
    _, result = _overlays(app)
    tap(button(result, tr("header.language", "zh")))
    assert app.lang == "en"
    assert result.title == "Configured" and result.what == "The new configuration is in effect"
