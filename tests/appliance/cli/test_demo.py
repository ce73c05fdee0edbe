"""``qingka demo``: the scenarios the README names end as they should, with no set-up at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

QINGKA = Path(sys.executable).parent / "qingka"


def demo(scenario: str, lang: str = "zh") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QINGKA), "demo", "--scenario", scenario, "--lang", lang, "--json"],
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


def test_default_demo_clears_and_shows_before_and_after() -> None:
    result = demo("needs-clearing")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("清卡前") < out.index("开始一键清卡") < out.index("清卡后")
    before, after = out.split("清卡后")
    assert "锁定日期 2026-" in before
    assert "待抄报清卡" in before.split("清卡前")[1]
    assert "已清卡" in after
    for label in ("抄税", "备份本期数据", "上报汇总", "申请清卡", "写入清卡数据", "核对结果"):
        assert label in out
    final = final_line(out)
    assert final["ok"] is True
    assert final["outcome"]["kind"] == "done"  # type: ignore[index]


@pytest.mark.parametrize(
    ("scenario", "kind", "words"),
    [
        ("declaration-missing", "needs-human", "一窗式比对失败"),
        ("locked", "done", "设备此前已锁定"),
    ],
)
def test_named_scenarios(scenario: str, kind: str, words: str) -> None:
    result = demo(scenario)
    assert result.returncode == 0, result.stdout + result.stderr
    assert words in result.stdout
    final = final_line(result.stdout)
    assert final["outcome"]["kind"] == kind  # type: ignore[index]


def test_declaration_missing_says_what_to_do_in_english() -> None:
    result = demo("declaration-missing", "en")
    assert result.returncode == 0
    assert "declaration" in result.stdout.lower()
    assert "[B-402]" in result.stdout
