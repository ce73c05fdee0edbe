"""``qingka clear``, ``status`` and ``history``: in-process without a daemon, and through one."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.bureau import BureauProcess
from tests.appliance.daemon.service_rig import DaemonRig
from tests.simulators.bureau.fixtures import _scenario_restored, bureau

__all__ = ["_scenario_restored", "bureau"]

QINGKA = Path(sys.executable).parent / "qingka"
_indices = itertools.count(8000)


def qingka(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QINGKA), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QINGKA_LANG": "zh"},
        check=False,
    )


@pytest.fixture
def setup(tmp_path: Path, bureau: BureauProcess) -> Iterator[Any]:
    made: list[DaemonRig] = []

    def make(scenario: str = "needs-clearing", latency: str = "0") -> DaemonRig:
        folder = tmp_path / f"c{len(made)}"
        folder.mkdir()
        rig = DaemonRig(folder, bureau, next(_indices), scenario, latency)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.close()


def test_clear_in_process_then_status_and_history(setup: Any) -> None:
    rig = setup()
    cfg = str(rig.config)
    cleared = qingka("clear", "--config", cfg)
    assert cleared.returncode == 0, cleared.stderr
    assert "清卡成功" in cleared.stdout
    assert "新的锁定日期: 2026-12-15" in cleared.stdout
    assert "[J-000]" in cleared.stdout
    again = qingka("clear", "--config", cfg, "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)[0]["kind"] == "already-cleared"
    status = qingka("status", "--config", cfg)
    assert status.returncode == 0, status.stderr
    assert "未运行" in status.stdout
    assert "已清卡" in status.stdout
    assert "2026-12-15" in status.stdout
    history = json.loads(qingka("history", "--config", cfg, "--json").stdout)
    assert [row["kind"] for row in history] == ["already-cleared", "done"]
    device_no = history[0]["device_no"]
    for name in (device_no, rig.url):  # by number, or by the configured URL
        mine = qingka("history", "--config", cfg, "--device", name, "--json")
        assert mine.returncode == 0, mine.stderr
        assert len(json.loads(mine.stdout)) == 2
    unknown = qingka("history", "--config", cfg, "--device", "zzz")
    assert unknown.returncode == 2
    assert "没有这个设备：zzz" in unknown.stderr and "[A-404]" in unknown.stderr
    assert "还没有清卡记录" not in unknown.stdout


@pytest.mark.parametrize(
    ("scenario", "code", "words"),
    [("wrong-pin", 30, "还剩 2 次机会"), ("training", 30, "培训")],
)
def test_exit_codes_of_outcome_classes(setup: Any, scenario: str, code: int, words: str) -> None:
    rig = setup(scenario)
    result = qingka("clear", "--config", str(rig.config))
    assert result.returncode == code
    assert words in result.stdout


def test_retry_later_exit_code(setup: Any) -> None:
    rig = setup()
    rig.bureau.admin.add_fault("http-error", count=-1, status=503)
    result = qingka("clear", "--config", str(rig.config))
    assert result.returncode == 20
    assert "稍后自动重试" in result.stdout
    assert "[B-007]" in result.stdout


def test_clear_through_the_daemon(setup: Any) -> None:
    rig = setup()
    rig.start()
    result = qingka("clear", "--config", str(rig.config))
    assert result.returncode == 0, result.stderr
    assert "完成" in result.stdout  # the progress lines of the steps
    assert "清卡成功" in result.stdout
    status = json.loads(qingka("status", "--config", str(rig.config), "--json").stdout)
    assert status["daemon"] is True
    assert status["devices"][0]["last_outcome"]["kind"] == "done"
    unknown = qingka("clear", "--config", str(rig.config), "--device", "sim://nothing")
    assert unknown.returncode == 2
    assert "A-404" in unknown.stderr
    nobody = qingka("history", "--config", str(rig.config), "--device", "zzz")
    assert nobody.returncode == 2
    assert "没有这个设备：zzz" in nobody.stderr
    by_url = qingka("history", "--config", str(rig.config), "--device", rig.url, "--json")
    assert [row["kind"] for row in json.loads(by_url.stdout)] == ["done"]
    assert rig.stop() == 0


def test_without_daemon_or_configuration(tmp_path: Path) -> None:
    result = qingka("clear", "--config", str(tmp_path / "none.toml"))
    assert result.returncode == 2
    assert "没有配置文件" in result.stderr or "no configuration file" in result.stderr
    assert "qingka config example" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "-inf", "soon"])
def test_follow_timeout_must_be_seconds(tmp_path: Path, value: str) -> None:
    result = qingka("clear", "--config", str(tmp_path / "none.toml"), f"--follow-timeout={value}")
    assert result.returncode == 2
    assert "--follow-timeout" in result.stderr and "0 or more" in result.stderr
    assert "后台" not in result.stdout + result.stderr
    assert "没有配置文件" not in result.stderr  # refused before anything else was looked at


def test_follow_timeout_zero_means_no_limit() -> None:
    from appliance.cli.clear import follow_timeout  # noqa: PLC0415

    assert follow_timeout("0") == float("inf")
    assert follow_timeout("2.5") == 2.5


def test_a_timeout_without_the_service_never_says_it_goes_on(setup: Any) -> None:
    rig = setup()
    result = qingka("clear", "--config", str(rig.config), "--follow-timeout", "0.01")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "后台进行" not in result.stdout + result.stderr
    assert "清卡服务未运行" in result.stderr and "不会在后台继续" in result.stderr


def test_a_clearing_this_command_paused_says_one_thing(setup: Any) -> None:
    """No "retries by itself" when no service runs, and the history names no service."""
    rig = setup(latency="1")  # each device step takes a second: the job is mid-way at 0.5 s
    result = qingka("clear", "--config", str(rig.config), "--follow-timeout", "0.5")
    assert result.returncode == 1, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "本命令已让清卡在安全的步骤暂停" in result.stderr and "数据未丢失" in result.stderr
    assert "稍后自动重试" not in said and "下次自动重试" not in said, said
    assert "服务重新启动后" not in said and "J-401" not in said
    history = json.loads(qingka("history", "--config", str(rig.config), "--json").stdout)
    assert history[0]["code"] == "J-401"
    assert "service is stopping" not in history[0]["message_en"]
    assert "正在停止" not in history[0]["message_zh"]


@pytest.mark.parametrize("value", ["0", "501", "-1", "many"])
def test_history_limit_is_said_plainly(tmp_path: Path, value: str) -> None:
    result = qingka("history", "--config", str(tmp_path / "none.toml"), f"--limit={value}")
    assert result.returncode == 2
    assert "--limit must be between 1 and 500" in result.stderr
    assert "invalid choice" not in result.stderr and "499" not in result.stderr
