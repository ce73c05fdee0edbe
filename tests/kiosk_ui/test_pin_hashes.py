"""PIN pads against the scrypt hashes a provisioning bundle writes: checked off the UI thread."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import tr
from kiosk_ui.gallery import GalleryLink, one_device
from kiosk_ui.settings import KioskSettings
from provisioning.pinhash import hash_pin, is_pin_hash, verify_pin

from .kivy_rig import button, pump, pump_until, start_app, stop_app, tap

SERVICE_PIN = "4826"
SERVICE_HASH = hash_pin(SERVICE_PIN)
OPERATOR_PIN = "1357"
OPERATOR_HASH = hash_pin(OPERATOR_PIN)


def _start(link: GalleryLink, tmp_path: Path, **settings: Any) -> KioskApp:
    app = start_app(KioskSettings(socket=tmp_path / "none", **settings), lambda _l: link)
    app.on_connected(True)
    app.on_status(one_device(), True)
    pump()
    return app


def _enter(app: KioskApp, digits: str) -> None:
    for digit in digits:
        tap(button(app.root, digit))
    tap(button(app.root, tr("pin.ok", "zh")))


def _checked(app: KioskApp) -> None:
    pad = app.root.ids.screens.get_screen("pin")
    pump_until("the PIN check", lambda: not pad.checking, timeout=10)
    pump()


def test_the_service_pin_hash_opens_the_service_screen_and_2580_does_not(
    tmp_path: Path,
) -> None:
    link = GalleryLink()
    app = _start(link, tmp_path, technician_pin_hash=SERVICE_HASH)
    try:
        tap(button(app.root, tr("header.technician", "zh")))
        pad = app.current_screen()
        assert pad.name == "pin"
        _enter(app, "2580")  # the default PIN means nothing beside a hash
        _checked(app)
        assert app.current_screen().name == "pin"
        assert pad.message == tr("pin.wrong", "zh", tries=4)
        _enter(app, SERVICE_PIN)
        _checked(app)
        assert app.current_screen().name == "technician"
    finally:
        stop_app(app)


def test_the_operator_pin_hash_guards_the_clear_button(tmp_path: Path) -> None:
    link = GalleryLink()
    app = _start(link, tmp_path, operator_pin_hash=OPERATOR_HASH)
    try:
        tap(app.root.ids.screens.get_screen("home").ids.big)
        assert app.current_screen().name == "pin"
        _enter(app, OPERATOR_PIN)
        _checked(app)
        assert [args for cmd, args in link.requests if cmd == "clear"] == [{"device": "sim://shop"}]
        assert app.current_screen().name == "progress"
    finally:
        stop_app(app)


def _largest_hash(pin: str) -> str:
    """Return ``pin`` hashed with the costliest parameters the settings accept (32 MiB, p=4)."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=2**15, r=8, p=4, maxmem=2**26, dklen=32)
    return f"scrypt$15$8$4${salt.hex()}${digest.hex()}"


def test_a_hash_check_leaves_the_screen_drawing(tmp_path: Path) -> None:
    """The tap returns at once; the check runs aside while frames go on, the keys wait."""
    heavy = _largest_hash(SERVICE_PIN)
    assert is_pin_hash(heavy)
    link = GalleryLink()
    app = _start(link, tmp_path, technician_pin_hash=heavy)
    try:
        app.open_pin("technician")
        pump()
        pad = app.current_screen()
        for digit in SERVICE_PIN:
            pad.press(digit)
        started = time.perf_counter()
        pad.confirm()
        on_ui_thread = time.perf_counter() - started
        assert pad.checking and pad.message == tr("pin.checking", "zh")
        keypad = pad.ids.keypad
        assert keypad.locked and keypad.confirm_locked
        pad.press("9")
        assert pad.entry == ""  # no key counts while a check runs
        frames = 0
        while pad.checking:
            pump(1)
            frames += 1
        pump()
        assert app.current_screen().name == "technician"
        # One check, timed in this run: the UI thread carried none of it, and kept drawing.
        started = time.perf_counter()
        assert verify_pin(SERVICE_PIN, heavy)
        one_check = time.perf_counter() - started
        assert on_ui_thread < one_check / 4, (on_ui_thread, one_check)
        assert frames >= 3, frames
    finally:
        stop_app(app)


def test_a_verdict_for_a_pad_left_meanwhile_is_dropped(tmp_path: Path) -> None:
    link = GalleryLink()
    app = _start(link, tmp_path, technician_pin_hash=SERVICE_HASH)
    try:
        app.open_pin("technician")
        pump()
        pad = app.current_screen()
        for digit in SERVICE_PIN:
            pad.press(digit)
        pad.confirm()
        app.go_home()  # 返回 while the check runs
        time.sleep(1.0)  # long enough for the check to end here (about 0.1 s)
        pump(5)
        assert app.current_screen().name == "home"
    finally:
        stop_app(app)
