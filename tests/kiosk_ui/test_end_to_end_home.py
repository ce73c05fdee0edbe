"""Home after a failed attempt, against the real daemon: when it was, what happened, what next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.demo.runner import Demo
from kiosk_ui.app import KioskApp
from kiosk_ui.catalog import tr
from kiosk_ui.settings import KioskSettings

from .kivy_rig import button, pump_until, start_app, stop_app, tap
from .test_end_to_end import JOB_TIMEOUT_S, _attach


@pytest.fixture
def app(tmp_path: Path) -> Iterator[KioskApp]:
    kiosk = start_app(KioskSettings(socket=tmp_path / "api.sock"))
    yield kiosk
    stop_app(kiosk)


@pytest.fixture
def demo() -> Iterator[Demo]:
    running = Demo("network-down", "zh", None)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_back_during_a_clearing_then_home_tells_how_it_ended(app: KioskApp, demo: Demo) -> None:
    _attach(app, demo)
    home = app.root.ids.screens.get_screen("home")
    tap(home.ids.big)
    assert app.current_screen().name == "progress"
    tap(button(app.root, tr("common.back", "zh")))  # 返回 while the clearing runs
    assert app.current_screen().name == "home"
    card = pump_until(
        "the card to show the attempt",
        lambda: next((c for c in home._cards.values() if c.attempt_line), None),
        JOB_TIMEOUT_S,
    )
    assert card.attempt_line.startswith("今天 ")  # "今天 HH:MM 尝试清卡：…", never a bare time
    assert "无法连接税务局" in card.attempt_line and "[" not in card.attempt_line
    assert card.retry_line.endswith("自动再试")
    assert app.current_screen().name == "home"  # the result did not jump over the shop's home
