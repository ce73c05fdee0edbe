"""``qingka demo``: the scenarios the README names end as they should, with no set-up at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.dates import lock_after_clearing

QINGKA = Path(sys.executable).parent / "qingka"


def demo(
    scenario: str, lang: str = "zh", *, today: datetime | None = None
) -> subprocess.CompletedProcess[str]:
    moment = ["--today", today.isoformat(timespec="seconds")] if today else []
    return subprocess.run(
        [str(QINGKA), "demo", "--scenario", scenario, "--lang", lang, "--json", *moment],
        capture_output=True,
        text=True,
        timeout=180,
        env={k: v for k, v in os.environ.items() if k != "QINGKA_API_SOCKET"},
        check=False,
    )


def final_line(out: str) -> dict[str, object]:
    """Return the demo's JSON line."""
    lines = [line for line in out.splitlines() if line.startswith('{"scenario"')]
    assert len(lines) == 1, out
    return dict(json.loads(lines[0]))


@pytest.mark.dates
def test_default_demo_clears_and_shows_before_and_after(today: datetime) -> None:
    result = demo("needs-clearing", today=today)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("清卡前") < out.index("开始一键清卡") < out.index("清卡后")
    before = out.split("清卡前")[1].split("开始一键清卡")[0]
    after = out.split("清卡后")[1]
    assert "待抄报清卡" in before
    assert f"锁定日期 {lock_after_clearing(today)}" not in before
    assert "已清卡" in after
    assert f"锁定日期 {lock_after_clearing(today)}" in after
    for label in ("抄税", "备份本期数据", "上报汇总", "申请清卡", "写入清卡数据", "核对结果"):
        assert label in out
    final = final_line(out)
    assert final["ok"] is True
    assert final["outcome"]["kind"] == "done"  # type: ignore[index]


@pytest.mark.parametrize(
    ("scenario", "kind", "words"),
    [
        ("declaration-missing", "needs-human", "一窗式比对失败"),
        pytest.param("locked", "done", "设备已解锁，可以重新开票", marks=pytest.mark.dates),
    ],
)
def test_named_scenarios(scenario: str, kind: str, words: str, today: datetime) -> None:
    result = demo(scenario, today=today)
    assert result.returncode == 0, result.stdout + result.stderr
    assert words in result.stdout
    final = final_line(result.stdout)
    assert final["outcome"]["kind"] == kind  # type: ignore[index]


def test_declaration_missing_says_what_to_do_in_english() -> None:
    result = demo("declaration-missing", "en")
    assert result.returncode == 0
    assert "declaration" in result.stdout.lower()
    assert "[B-402]" in result.stdout


def test_a_demo_without_today_runs_on_the_fifth_of_the_clock_month(today: datetime) -> None:
    # The suite's clock reaches the demo through the environment; the demo's device then sits
    # inside the filing window of that month, whatever the day.
    result = demo("needs-clearing")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"设备时钟 {today:%Y-%m}-05 10:00" in result.stdout


@pytest.mark.parametrize("bad", ["2027-02-30", "tomorrow", "2027-13-01T10:00"])
def test_an_impossible_today_is_refused_in_a_sentence(bad: str) -> None:
    result = subprocess.run(
        [str(QINGKA), "demo", "--today", bad],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--today" in result.stderr
    assert bad in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("moment", "device_clock"),
    [
        # Los Angeles time; Beijing is 16 hours ahead: already March in both cases. A locked
        # device of that month sits three days past its deadline (the 15th, by the fallback).
        ("2027-03-01 10:00:00", "2027-03-18 10:00"),
        ("2028-02-29 23:00:00", "2028-03-18 10:00"),
    ],
)
def test_the_demo_runs_under_a_really_shifted_system_clock(moment: str, device_clock: str) -> None:
    # libfaketime moves the system clock of the demo and every process it starts (monotonic
    # too), with no help from the product's own clock shift.
    env = {
        k: v for k, v in os.environ.items() if k not in ("QINGKA_API_SOCKET", "QINGKA_CLOCK_SHIFT")
    }
    result = subprocess.run(
        ["faketime", moment, str(QINGKA), "demo", "--scenario", "locked", "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**env, "TZ": "America/Los_Angeles"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    final = final_line(result.stdout)
    assert final["outcome"]["kind"] == "done"  # type: ignore[index]
    assert f"设备时钟 {device_clock}" in result.stdout
