"""Device PIN entry on the kiosk: behind the guard PIN, tries shown, one send per tap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appliance.api.errors import ApiError
from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import tr
from kiosk_ui.gallery import GalleryLink, one_device, outcome_wrong_pin
from kiosk_ui.settings import KioskSettings

from .kivy_rig import button, pump, shown, start_app, stop_app, tap

URL = "sim://shop"


def _wrong_pin_status(tries: int) -> dict[str, Any]:
    row = one_device()["devices"][0]
    pin = {"state": "rejected", "tries_left": tries}
    return {"devices": [{**row, "last_outcome": outcome_wrong_pin(), "pin": pin}]}


class PinLink(GalleryLink):
    """The gallery's answers, and ``set_pin`` answered from a list the test fills."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[dict[str, Any] | ApiError] = []

    def request(self, cmd: str, done: Any = None, failed: Any = None, **args: Any) -> None:
        if cmd != "set_pin":
            super().request(cmd, done, failed, **args)
            return
        self.requests.append((cmd, args))
        reply = self.replies.pop(0)
        if isinstance(reply, ApiError):
            failed(reply)
        else:
            done(reply)


def _start(link: PinLink, tmp_path: Path, tries: int, **settings: Any) -> KioskApp:
    app = start_app(KioskSettings(socket=tmp_path / "none", **settings), lambda _l: link)
    app.on_connected(True)
    app.on_status(_wrong_pin_status(tries), True)
    pump()
    return app


@pytest.fixture
def link() -> PinLink:
    return PinLink()


def _sent(link: PinLink) -> list[dict[str, Any]]:
    return [args for cmd, args in link.requests if cmd == "set_pin"]


def _type(app: KioskApp, digits: str) -> None:
    for digit in digits:
        tap(button(app.root, digit))


def _big(app: KioskApp) -> Any:
    return app.root.ids.screens.get_screen("home").ids.big


def test_a_wrong_pin_leads_to_pin_entry_behind_the_service_pin(
    link: PinLink, tmp_path: Path
) -> None:
    app = _start(link, tmp_path, tries=2)
    try:
        assert _big(app).text == tr("home.enter_pin", "zh")
        tap(_big(app))
        assert app.current_screen().name == "pin"  # the guard first
        _type(app, "1111")
        tap(button(app.root, tr("pin.ok", "zh")))
        assert app.current_screen().name == "pin"  # a wrong guard PIN opens nothing
        _type(app, "2580")
        tap(button(app.root, tr("pin.ok", "zh")))
        screen = app.current_screen()
        assert screen.name == "device_pin"
        assert screen.tries_line == "设备还可以试 2 次" and screen.warning == ""
        link.replies.append(
            {"device_no": "661900000000", "stored": True, "verified": False, "tries_left": 1}
        )
        _type(app, "888888")
        tap(button(app.root, tr("devpin.send", "zh")))
        assert _sent(link) == [{"device": URL, "pin": "888888"}]
        assert screen.message == tr("devpin.rejected_tries", "zh", tries=1)
        assert screen.warning.startswith("注意：只剩最后 1 次机会")
        pump(10)
        assert len(_sent(link)) == 1  # never sent again by itself
        # The last try needs a second, deliberate tap.
        _type(app, "88888888")
        tap(button(app.root, tr("devpin.send", "zh")))
        assert len(_sent(link)) == 1
        link.replies.append(
            {"device_no": "661900000000", "stored": True, "verified": True, "tries_left": 5}
        )
        tap(button(app.root, tr("devpin.send_last", "zh")))
        assert _sent(link)[-1] == {"device": URL, "pin": "88888888"}
        assert screen.message == tr("devpin.verified", "zh")
        tap(button(app.root, tr("progress.home", "zh")))
        assert app.current_screen().name == "home"
        assert [cmd for cmd, _ in link.requests].count("clear") == 0  # no clearing by itself
    finally:
        stop_app(app)


def test_a_busy_device_is_said_and_not_retried(link: PinLink, tmp_path: Path) -> None:
    app = _start(link, tmp_path, tries=3)
    try:
        app.open_device_pin(URL, checked=True)
        pump()
        link.replies.append(ApiError("A-409", "device busy", "设备正忙"))
        _type(app, "1234")
        tap(button(app.root, tr("devpin.send", "zh")))
        assert app.current_screen().message == tr("devpin.busy", "zh")
        pump(10)
        assert len(_sent(link)) == 1
    finally:
        stop_app(app)


def test_the_operator_pin_opens_it_where_the_settings_say_so(link: PinLink, tmp_path: Path) -> None:
    app = _start(link, tmp_path, tries=2, operator_pin="1357", device_pin_by_operator=True)
    try:
        tap(_big(app))
        assert app.current_screen().prompt == tr("pin.operator_first", "zh")
        _type(app, "1357")
        tap(button(app.root, tr("pin.ok", "zh")))
        assert app.current_screen().name == "device_pin"
    finally:
        stop_app(app)


def test_failure_screens_say_got_it_and_offer_the_way_out(link: PinLink, tmp_path: Path) -> None:
    app = _start(link, tmp_path, tries=2)
    try:
        app.open_result(URL)
        pump()
        assert button(app.root, tr("result.got_it", "zh"))
        assert not list(b for b in [*app.root.walk()] if getattr(b, "text", None) == "完成")
        tap(button(app.root, tr("result.enter_pin", "zh")))
        assert app.current_screen().name == "pin"
    finally:
        stop_app(app)


def test_nothing_to_do_greys_the_big_button(link: PinLink, tmp_path: Path) -> None:
    app = _start(link, tmp_path, tries=2)
    try:
        row = one_device()["devices"][0]
        row["device"] = {
            **row["device"],
            "types": [dict(t, stage="cleared") for t in row["device"]["types"]],
        }
        app.board = type(app.board)()
        app.on_status({"devices": [row]}, True)
        pump()
        big = _big(app)
        assert big.disabled and big.text == tr("home.cleared", "zh")
        tap(big)
        assert app.current_screen().name == "home"
        assert not [cmd for cmd, _ in link.requests if cmd == "clear"]
    finally:
        stop_app(app)


def test_the_pad_says_it_takes_digits_and_where_letters_go(link: PinLink, tmp_path: Path) -> None:
    app = _start(link, tmp_path, tries=2)
    try:
        app.open_device_pin(URL, checked=True)
        pump()
        for lang in ("zh", "en"):
            app.set_language(lang)
            pump()
            said = [w.text for w in app.current_screen().walk() if shown(w) and hasattr(w, "text")]
            assert tr("devpin.digits_only", lang) in said
        assert "[pin] file" in tr("devpin.digits_only", "zh")
        keys = {w.text for w in app.current_screen().ids.keypad.children}
        assert {k for k in keys if len(k) == 1} == set("0123456789")
    finally:
        stop_app(app)
