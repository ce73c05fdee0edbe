"""The home card tells the whole story: last attempt, next automatic try, what a tap does.

Pure view logic on dicts shaped like the daemon's ``status`` rows and ``outcome`` events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appliance.clock import set_clock
from kiosk_ui.board import Board, DeviceState
from kiosk_ui.gallery import (
    GALLERY_NOW,
    gallery_clock,
    one_device,
    outcome_network,
    outcome_wrong_pin,
    several_devices,
)
from kiosk_ui.pin_views import device_pin_view, pin_reply
from kiosk_ui.views import (
    ACT_CLEAR,
    ACT_NONE,
    ACT_PIN,
    ACT_PROGRESS,
    by_urgency,
    card_view,
    home_button,
)

NOW = GALLERY_NOW  # 2026-11-05 20:03 China time
URL = "sim://shop"


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    old = set_clock(gallery_clock())
    yield
    set_clock(old)


def _board(status: dict[str, Any] | None = None) -> Board:
    board = Board(monotonic=lambda: 100.0)
    board.apply_status(status or one_device(), sync=True)
    return board


def _state(**row: Any) -> DeviceState:
    board = _board()
    state = board.devices[URL]
    board.apply_status({"devices": [{**state.row, **row}]}, sync=False)
    return state


def _outcome(kind: str, code: str, at: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "code": code,
        "message_zh": "多次尝试后仍无法连接税务局",
        "message_en": "The bureau could not be reached",
        "action_zh": "",
        "action_en": "",
        "at": at,
        **extra,
    }


def test_a_failed_attempt_and_the_next_automatic_try_are_on_the_card() -> None:
    outcome = _outcome(
        "retry-later", "B-007", "2026-11-05T20:01:00+08:00", retry_at="2026-11-05T20:04:30+08:00"
    )
    view = card_view(_state(last_outcome=outcome, retry_in_s=30), "zh", NOW)
    assert view.attempt_line == "今天 20:01 尝试清卡：多次尝试后仍无法连接税务局"
    assert view.retry_line == "今天 20:04 自动再试"
    assert view.last_line == "上次清卡 10月5日 20:03"
    assert view.action == ACT_CLEAR
    en = card_view(_state(last_outcome=outcome), "en", NOW)
    assert en.attempt_line == "Tried today 20:01: The bureau could not be reached"
    assert en.retry_line == "Tries again by itself today 20:04"


def test_no_promise_of_a_retry_when_nothing_will_retry() -> None:
    # Button-only: the daemon says retry_at null; an old retry_in_s must not make one up.
    outcome = _outcome("retry-later", "B-007", "2026-11-05T20:01:00+08:00", retry_at=None)
    view = card_view(_state(last_outcome=outcome, retry_in_s=60), "zh", NOW)
    assert view.attempt_line and view.retry_line == ""
    past = _outcome(
        "retry-later", "B-007", "2026-11-05T19:01:00+08:00", retry_at="2026-11-05T19:02"
    )
    assert card_view(_state(last_outcome=past), "zh", NOW).retry_line == ""


def test_after_back_during_a_clearing_home_shows_how_it_ended() -> None:
    board = _board()
    board.requested([URL])
    board.apply_event({"event": "step", "url": URL, "step": "upload", "progress": 35})
    running = card_view(board.devices[URL], "zh", NOW)
    assert running.action == ACT_PROGRESS and running.attempt_line == ""
    board.apply_event(
        {"event": "outcome", "url": URL, **outcome_network(), "at": "2026-11-05T20:02:00.1+08:00"}
    )
    view = card_view(board.devices[URL], "zh", NOW)
    assert view.attempt_line.startswith("今天 20:02 尝试清卡：")
    assert view.retry_line == "今天 20:04 自动再试"  # the sample's retry_at: a minute from now


def test_the_last_outcome_comes_back_from_status_and_a_newer_one_wins() -> None:
    old = _outcome("retry-later", "B-007", "2026-11-05T19:00:00+08:00")
    new = _outcome("needs-human", "B-402", "2026-11-05T20:00:00+08:00")
    board = _board()
    board.apply_status({"devices": [{**one_device()["devices"][0], "last_outcome": new}]}, True)
    assert board.devices[URL].outcome == new  # a kiosk started after the attempt sees it
    board.apply_status({"devices": [{**one_device()["devices"][0], "last_outcome": old}]}, False)
    assert board.devices[URL].outcome == new  # an older one never replaces it


def test_a_tap_that_cannot_help_is_greyed_or_says_what_it_does() -> None:
    cleared = one_device()["devices"][0]
    cleared["device"] = {
        **cleared["device"],
        "types": [dict(t, stage="cleared") for t in cleared["device"]["types"]],
    }
    view = card_view(_board({"devices": [cleared]}).devices[URL], "zh", NOW)
    assert (view.action, view.button_text) == (ACT_NONE, "本期已清卡")
    assert home_button([view], "zh").action == ACT_NONE
    wrong = card_view(_state(pin={"state": "rejected", "tries_left": 2}), "zh", NOW)
    assert (wrong.action, wrong.button_text) == (ACT_PIN, "输入设备密码")
    assert home_button([wrong], "zh").text == "输入设备密码"
    from_outcome = card_view(_state(last_outcome=outcome_wrong_pin()), "zh", NOW)
    assert from_outcome.action == ACT_PIN  # a daemon without the pin row: read the code
    locked = card_view(_state(pin={"state": "locked", "tries_left": 0}), "zh", NOW)
    assert locked.action == ACT_NONE and "税务机关" in locked.button_text
    training = dict(one_device()["devices"][0])
    training["device"] = {**training["device"], "training": True}
    assert card_view(_board({"devices": [training]}).devices[URL], "zh", NOW).action == ACT_NONE
    zombie = dict(one_device()["devices"][0])
    zombie["device"] = {
        **zombie["device"],
        "types": [dict(t, zombie=True) for t in zombie["device"]["types"]],
    }
    view = card_view(_board({"devices": [zombie]}).devices[URL], "zh", NOW)
    assert (view.action, view.button_text) == (ACT_NONE, "需到税务机关办理")
    hopeless = _outcome("needs-human", "B-102", "2026-11-05T20:00:00+08:00", retry_helps=False)
    assert card_view(_state(last_outcome=hopeless), "zh", NOW).action == ACT_NONE
    fixable = _outcome("needs-human", "B-402", "2026-11-05T20:00:00+08:00", retry_helps=True)
    assert card_view(_state(last_outcome=fixable), "zh", NOW).action == ACT_CLEAR


def test_several_devices_most_urgent_first() -> None:
    board = _board(several_devices())
    order = [s.url for s in by_urgency(list(board.devices.values()))]
    assert order == ["sim://b", "sim://c", "sim://a"]  # locked, needs a person, cleared
    due_later = one_device()["devices"][0]
    due_sooner = {**one_device()["devices"][0], "url": "sim://soon"}
    due_sooner["device"] = {
        **due_sooner["device"],
        "device_no": "661900000009",
        "types": [dict(t, days_to_lock=2) for t in due_sooner["device"]["types"]],
    }
    board = _board({"devices": [due_later, due_sooner]})
    assert [s.url for s in by_urgency(list(board.devices.values()))] == ["sim://soon", URL]
    views = [card_view(s, "zh", NOW) for s in board.devices.values()]
    assert home_button(views, "zh").urls == (URL, "sim://soon")


def test_the_device_pin_screen_counts_tries_and_warns_before_the_last() -> None:
    two = device_pin_view(_state(pin={"state": "rejected", "tries_left": 2}), "zh", None)
    assert two.tries_line == "设备还可以试 2 次" and two.warning == "" and not two.locked
    one = device_pin_view(_state(pin={"state": "rejected", "tries_left": 1}), "zh", None)
    assert one.warning.startswith("注意：只剩最后 1 次机会")
    locked = device_pin_view(_state(pin={"state": "locked", "tries_left": 0}), "en", None)
    assert locked.locked and "tax office" in locked.state_line
    assert pin_reply({"stored": True, "verified": True, "tries_left": 3}, "zh").done
    wrong = pin_reply({"stored": True, "verified": False, "tries_left": 1}, "zh")
    assert not wrong.done and wrong.tries_left == 1 and "1 次" in wrong.message
    later = pin_reply({"stored": True, "verified": None, "tries_left": None}, "zh")
    assert later.done and later.state_name is None
