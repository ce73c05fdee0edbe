"""Touches on the app with a stand-in for the daemon: waking, PINs, the second tap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import tr
from kiosk_ui.gallery import GalleryLink, one_device
from kiosk_ui.settings import KioskSettings

from .kivy_rig import button, pump, pump_until, start_app, stop_app, tap


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def link() -> GalleryLink:
    return GalleryLink()


def _start(link: GalleryLink, tmp_path: Path, **settings: Any) -> KioskApp:
    app = start_app(KioskSettings(socket=tmp_path / "none", **settings), lambda _l: link)
    app.on_connected(True)
    app.on_status(one_device(), True)
    pump()
    return app


@pytest.fixture
def app(link: GalleryLink, tmp_path: Path) -> Iterator[KioskApp]:
    kiosk = _start(link, tmp_path)
    yield kiosk
    stop_app(kiosk)


def _clears(link: GalleryLink) -> list[dict[str, object]]:
    return [args for cmd, args in link.requests if cmd == "clear"]


def _big(app: KioskApp) -> Any:
    return app.root.ids.screens.get_screen("home").ids.big


def test_one_tap_asks_the_daemon_once_and_shows_progress(app: KioskApp, link: GalleryLink) -> None:
    tap(_big(app))
    assert _clears(link) == [{"device": "sim://shop"}]
    assert app.current_screen().name == "progress"
    assert app.current_screen().current == tr("progress.starting", "zh")


def test_a_second_tap_never_starts_a_second_job(app: KioskApp, link: GalleryLink) -> None:
    tap(_big(app))
    app.on_event({"event": "step", "url": "sim://shop", "step": "copy-tax", "progress": 10})
    tap(button(app.root, tr("common.back", "zh")))
    assert app.current_screen().name == "home"
    assert _big(app).text == tr("home.running", "zh", percent=10)
    tap(_big(app))
    assert len(_clears(link)) == 1
    assert app.current_screen().name == "progress"
    assert app.current_screen().current == "抄税"


def test_the_touch_that_wakes_the_screen_does_nothing_else(
    link: GalleryLink, tmp_path: Path
) -> None:
    app = _start(link, tmp_path, idle_blank_s=0.3)
    try:
        pump_until("the screen to blank", lambda: app.root.blanked, timeout=5)
        assert app.root.ids.blank.opacity == 1
        tap(_big(app))
        assert not app.root.blanked
        assert _clears(link) == []
        assert app.current_screen().name == "home"
        tap(_big(app))
        assert len(_clears(link)) == 1
    finally:
        stop_app(app)


def test_five_wrong_operator_pins_lock_the_button_for_five_minutes(
    link: GalleryLink, tmp_path: Path
) -> None:
    app = _start(link, tmp_path, operator_pin="2580")
    clock = Clock()
    app.pin_gates["operator"].monotonic = clock
    try:
        tap(_big(app))
        pin = app.current_screen()
        assert pin.name == "pin"

        def enter(digits: str) -> None:
            for digit in digits:
                tap(button(app.root, digit))
            tap(button(app.root, tr("pin.ok", "zh")))

        for tries_left in (4, 3, 2, 1):
            enter("1111")
            assert pin.message == tr("pin.wrong", "zh", tries=tries_left)
        enter("1111")
        assert pin.locked
        assert pin.message == tr("pin.locked", "zh", minutes=5, seconds=0)
        enter("2580")  # the keys are dead while locked
        assert pin.entry == ""
        assert _clears(link) == []
        clock.now += 299
        app.current_screen().refresh()
        assert pin.locked
        clock.now += 2
        pump_until("the PIN pad to open again", lambda: not pin.locked, timeout=3)
        enter("2580")
        assert _clears(link) == [{"device": "sim://shop"}]
        assert app.current_screen().name == "progress"
    finally:
        stop_app(app)


def test_the_service_screen_needs_the_technician_pin(app: KioskApp, link: GalleryLink) -> None:
    tap(button(app.root, tr("header.technician", "zh")))
    assert app.current_screen().name == "pin"
    for digit in "2580":
        tap(button(app.root, digit))
    tap(button(app.root, tr("pin.ok", "zh")))
    assert app.current_screen().name == "technician"
    assert {cmd for cmd, _ in link.requests} >= {"diagnostics", "backups", "logs"}


def test_the_language_switch_changes_every_word(app: KioskApp) -> None:
    tap(button(app.root, tr("header.language", "zh")))
    assert app.lang == "en"
    assert _big(app).text == tr("home.clear", "en")
    assert list(app.root.walk())  # the tree is intact after the switch


def test_backups_export_to_the_usb_stick_folder(link: GalleryLink, tmp_path: Path) -> None:
    stick = tmp_path / "usb"
    app = _start(link, tmp_path, usb_dir=stick)
    link.answers["export_backups"] = lambda: {"path": str(stick / "qingka-backups.tar")}
    try:
        app.open_pin("technician")
        pump()  # the PIN pad is laid out on the frames after it opens
        for digit in "2580":
            tap(button(app.root, digit))
        tap(button(app.root, tr("pin.ok", "zh")))
        screen = app.current_screen()
        tap(button(app.root, tr("tech.backups", "zh")))
        tap(button(app.root, tr("tech.export", "zh")))
        assert screen.export_status == tr("tech.no_usb", "zh", path=stick)
        assert not [cmd for cmd, _ in link.requests if cmd == "export_backups"]
        stick.mkdir()
        tap(button(app.root, tr("tech.export", "zh")))
        assert ("export_backups", {"directory": str(stick)}) in link.requests
        assert screen.export_status == tr(
            "tech.export_done", "zh", path=stick / "qingka-backups.tar"
        )
    finally:
        stop_app(app)
