"""What the screens say, worked out without a window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.clock import set_clock
from kiosk_ui.board import Board, DeviceState
from kiosk_ui.gallery import (
    GALLERY_NOW,
    gallery_clock,
    history_entries,
    one_device,
    outcome_declaration,
    outcome_done,
    outcome_network,
    outcome_wrong_pin,
    several_devices,
)
from kiosk_ui.service_views import backup_lines, log_line, overview_lines
from kiosk_ui.views import (
    card_view,
    elapsed_text,
    history_rows,
    outcome_retry_helps,
    period_text,
    progress_view,
    result_view,
    when_text,
)

NOW = GALLERY_NOW  # 2026-11-05 20:03 China time


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    """The samples' times are relative to the product clock: stand it at the gallery's moment."""
    old = set_clock(gallery_clock())
    yield
    set_clock(old)


def _board(status: dict[str, object]) -> Board:
    board = Board(monotonic=lambda: 100.0)
    board.apply_status(status, sync=True)  # type: ignore[arg-type]
    return board


def _with(outcome: dict[str, object]) -> DeviceState:
    board = _board(one_device())
    board.apply_event({"event": "outcome", "url": "sim://shop", **outcome})
    return board.devices["sim://shop"]


def test_the_card_names_the_taxpayer_device_stage_and_lock_date() -> None:
    state = _board(one_device()).devices["sim://shop"]
    zh = card_view(state, "zh", NOW)
    assert zh.title == "武汉江汉示范商贸有限公司"
    assert zh.id_line == "税号 9142**********000A"
    assert zh.device_line == "税务UKey  661900000000"
    assert zh.stage == "needs" and zh.stage_text == "需要清卡"
    assert zh.lock_line == "锁定日期 2026-11-16（还有 11 天）"
    assert zh.last_line == "上次清卡 10月5日 20:03"  # 31 days before: a date, never a bare time
    en = card_view(state, "en", NOW)
    assert en.device_line == "Tax UKey  661900000000"
    assert en.lock_line == "Locks on 2026-11-16 (11 days left)"


def test_stages_of_several_devices() -> None:
    board = _board(several_devices())
    stages = [card_view(s, "zh", NOW) for s in board.devices.values()]
    assert [v.stage for v in stages] == ["cleared", "locked", "attention"]
    assert stages[1].lock_line == "已于 2026-10-27 锁定，请尽快清卡"
    assert "设备密码（PIN）错误" in stages[2].note
    # The code stays on the result and service screens; the card says it in words only.
    assert "D-101" not in stages[2].note and "[" not in stages[2].note
    assert card_view(list(board.devices.values())[2], "en", NOW).note == (
        "The device PIN is wrong, 2 tries left"
    )


def test_success_leads_with_the_new_lock_date() -> None:
    view = result_view(_with(outcome_done()), "zh", NOW)
    assert (view.tone, view.title, view.big_value) == ("success", "清卡成功", "2026-12-15")
    assert view.code_line == "" and not view.retry and view.ok_text == "完成"


def test_failures_say_what_happened_what_to_do_and_the_code() -> None:
    view = result_view(_with(outcome_declaration()), "zh", NOW)
    assert view.what.startswith("一窗式比对失败")
    assert view.todo.startswith("请先在电子税务局完成本期增值税申报")
    assert view.code_line == "代码 B-402"
    assert view.auto_line == "本机会在 今天 21:03 自动再试" and view.retry
    assert view.ok_text == "知道了"
    en = result_view(_with(outcome_network()), "en", NOW)
    assert en.title == "Cannot clear right now" and en.code_line == "Code B-007"
    assert en.auto_line == "The box tries again by itself at today 20:04"
    pin = result_view(_with(outcome_wrong_pin()), "zh", NOW)
    assert pin.tone == "error" and not pin.retry and pin.auto_line == ""
    assert pin.enter_pin and pin.ok_text == "知道了" and pin.code_line == "代码 D-101"


def test_the_daemon_says_whether_a_retry_helps() -> None:
    network = {**outcome_network(), "retry_helps": False}
    assert not result_view(_with(network), "zh", NOW).retry
    pin = {**outcome_wrong_pin(), "retry_helps": True}
    assert not result_view(_with(pin), "zh", NOW).retry  # never a retry button on a PIN


def test_retry_only_where_the_daemon_says_it_helps() -> None:
    assert outcome_retry_helps({"kind": "retry-later", "code": "B-007", "retry_helps": True})
    assert not outcome_retry_helps({"kind": "retry-later", "code": "B-007", "retry_helps": False})
    assert not outcome_retry_helps({"kind": "needs-human", "code": "B-402"})  # not said: no


def test_progress_names_every_step_and_the_current_one() -> None:
    board = _board(one_device())
    board.requested(["sim://shop"])
    state = board.devices["sim://shop"]
    starting = progress_view(state, "zh", 100.0)
    assert starting.current == "正在开始…" and starting.percent == 0
    board.apply_event({"event": "step", "url": "sim://shop", "step": "upload", "progress": 35})
    view = progress_view(state, "zh", 142.0)
    assert view.current == "上报汇总" and view.percent == 35
    assert view.elapsed == "已用时 0:42"
    assert [line.status for line in view.steps] == ["done"] * 3 + ["current"] + ["todo"] * 3
    assert view.steps[0].label == "检查设备"


def test_history_keeps_the_latest_attempt_of_the_last_twelve_periods() -> None:
    rows = history_rows(history_entries(), "zh", NOW)
    assert len(rows) == 12
    assert rows[0].period == "2026年10月" and rows[0].outcome == "成功"
    assert rows[0].when == "今天 19:56" and rows[1].when == "10月5日 10:07"
    assert rows[0].lock == "2026-12-15"
    assert rows[2].outcome == "成功"  # a failure earlier in that period is superseded
    assert rows[5].outcome == "需要处理" and rows[5].lock == ""
    assert history_rows(history_entries(), "en", NOW)[0].period == "2026-10"


def test_times_are_read_in_china_time_with_their_day() -> None:
    assert when_text("2026-11-05T09:07:00.120", NOW) == "今天 09:07"
    assert when_text("2026-11-04T09:07:00", NOW) == "昨天 09:07"
    assert when_text("2026-11-06T08:00:00+08:00", NOW, "en") == "tomorrow 08:00"
    assert when_text("2026-10-27T23:19:00", NOW) == "10月27日 23:19"
    assert when_text("2025-12-31T10:00:00", NOW, "en") == "31 Dec 2025 10:00"
    # A time with another offset is shown in China time: 23:30 UTC is 07:30 the next day there.
    assert when_text("2026-11-04T23:30:00+00:00", NOW) == "今天 07:30"
    assert when_text(None, NOW) == ""


def test_small_formats() -> None:
    assert period_text(202601, "zh") == "2026年1月"
    assert period_text(None, "en") == "—"
    assert elapsed_text(125.7) == "2:05"


def test_service_views() -> None:
    lines = overview_lines(
        {"version": "0.1.0", "python": "3.11", "addresses": []}, True, "2.3.1", "zh"
    )
    assert lines[0] == "软件版本 0.1.0，Python 3.11"
    assert "IP 地址 无网络地址" in lines
    assert "税务局：未配置地址" in lines and "运维平台（MQTT）：未配置" in lines
    assert overview_lines(None, False, "2.3.1", "en")[-1] == "Clearing service: unreachable"
    fleet = {"reachable": True, "last_publish": "2026-11-05T20:01:00+08:00"}
    lines = overview_lines({"addresses": [], "fleet": fleet}, True, "2.3.1", "zh")
    assert lines[-1] == "运维平台（MQTT）：已连接，上次上报 今天 20:01"
    down = overview_lines({"fleet": {"reachable": False}}, True, "2.3.1", "en")
    assert down[-1] == "Fleet broker (MQTT): unreachable"
    files = [{"size": 2048, "exported_at": "x"}]
    assert backup_lines([{"device_no": "6619", "period": 202610, "files": files}], "zh") == [
        "6619  2026年10月  1 个文件  2.0 KB  已导出"
    ]
    line = log_line('{"at": "2026-11-05T10:00:01.1", "level": "info", "msg": "ready", "x": 1}')
    assert line == "10:00:01  ready  x 1"
    step = '{"at": "2026-11-05T10:00:04.5", "level": "warning", "msg": "step", "step": "upload", '
    step += '"label_zh": "上报汇总", "label_en": "Upload summary", "progress": 35}'
    assert log_line(step, "zh") == "10:00:04  警告  上报汇总 35%"
    assert log_line(step, "en") == "10:00:04  warning  Upload summary 35%"
    assert log_line("not json") == "not json"
    assert len(log_line("y" * 500)) == 400
