"""``qingka devices`` and ``qingka device-info`` as a person or a script runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

QINGKA = Path(sys.executable).parent / "qingka"
NOW = "now=2026-11-05T10:00&latency=0"


@pytest.fixture(autouse=True)
def box_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give each test a box configuration of its own (its data folder remembers PINs)."""
    config = tmp_path / "box" / "qingka.toml"
    config.parent.mkdir()
    config.write_text('data_dir = "data"\n[api]\nsocket = "api.sock"\n')
    monkeypatch.setenv("QINGKA_CONFIG", str(config))
    yield config


def qingka(*args: str, lang: str = "zh") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QINGKA_LANG": lang}
    return subprocess.run(
        [str(QINGKA), *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_multi_type_json_shows_three_types_with_lock_dates_and_stages() -> None:
    result = qingka("device-info", f"sim://multi-type?{NOW}", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["taxpayer_id"] == "91420103MA0000000A"
    assert [t["type"] for t in data["types"]] == ["004", "007", "026"]
    for row in data["types"]:
        assert row["stage"] == "needs-report"
        assert row["lock_date"] == "2026-11-16"
        assert row["days_to_lock"] == 11


def test_readable_text() -> None:
    result = qingka("device-info", f"sim://already-cleared?{NOW}")
    assert result.returncode == 0, result.stderr
    assert "武汉江汉示范商贸有限公司" in result.stdout
    assert "已清卡" in result.stdout
    assert "2026-12-15" in result.stdout
    english = qingka("device-info", f"sim://already-cleared?{NOW}", lang="en")
    assert "cleared" in english.stdout
    assert "Locks on: 2026-12-15" in english.stdout


def test_wrong_pin_fails_plainly_with_tries_left() -> None:
    result = qingka("device-info", f"sim://wrong-pin?{NOW}")
    assert result.returncode == 3
    assert "还剩 2 次机会" in result.stderr
    assert "[D-101]" in result.stderr
    assert "Traceback" not in result.stderr
    english = qingka("device-info", f"sim://wrong-pin?{NOW}", lang="en")
    assert "2 tries left" in english.stderr


def test_wrong_pin_json_error() -> None:
    result = qingka("device-info", f"sim://wrong-pin?{NOW}", "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["error"]["code"] == "D-101"


def test_pin_file(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("13572468\n")
    pin.chmod(0o600)
    result = qingka("device-info", f"sim://wrong-pin?{NOW}", "--pin-file", str(pin), "--json")
    assert result.returncode == 0, result.stderr


def test_bad_address_and_unknown_scenario() -> None:
    for url in ("ftp://x", "usb://zz:01", "usb://zzzz", "sim://no-such-scenario"):
        result = qingka("device-info", url)
        assert result.returncode == 2, (url, result.stderr)
        assert "[D-006]" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    listed = qingka("device-info", "ftp://x")
    assert "usb://VID:PID" in listed.stderr and "serial:///dev/ttyACM0" in listed.stderr


def test_a_missing_capture_file_is_named(tmp_path: Path) -> None:
    result = qingka("device-info", f"replay://{tmp_path / 'gone.jsonl'}")
    assert result.returncode == 2
    assert "gone.jsonl" in result.stderr
    assert "插" not in result.stderr  # not "plug in the device"


def test_a_rejected_pin_is_not_sent_again_by_a_second_run(tmp_path: Path) -> None:
    # A device that keeps its state, as a real one does: each wrong PIN costs a try.
    state = tmp_path / "device.json"
    url = f"sim://wrong-pin?{NOW}&state={state}"
    first = qingka("device-info", url)
    assert first.returncode == 3
    assert json.loads(state.read_text())["pin_tries_left"] == 2
    second = qingka("device-info", url)
    assert second.returncode == 3
    assert "还剩 2 次机会" in second.stderr
    # The second run said what it knew without trying the PIN again.
    assert json.loads(state.read_text())["pin_tries_left"] == 2


def test_no_usb_device_plugged_in() -> None:
    result = qingka("devices", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    gone = qingka("device-info", "usb://1432:07d0")
    assert gone.returncode == 3
    assert "[D-002]" in gone.stderr


def test_capture_flag(tmp_path: Path) -> None:
    capture = tmp_path / "c.jsonl"
    live = qingka("device-info", f"sim://needs-clearing?{NOW}", "--json", "--capture", str(capture))
    replay = qingka("device-info", f"replay://{capture}", "--json")
    assert replay.returncode == 0, replay.stderr
    live_data, replay_data = json.loads(live.stdout), json.loads(replay.stdout)
    live_data.pop("url")
    replay_data.pop("url")
    assert live_data == replay_data


def test_configured_devices_are_listed_with_their_presence(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "qingka.toml"
    config.write_text(
        f'[[device]]\nurl = "sim://needs-clearing?{NOW}"\n'
        '[[device]]\nurl = "usb://1432:07dc"\n'
        '[bureau]\nbase_url = "https://b.example"\nca_bundle = "ca.pem"\n'
        f'public_key = "04{"11" * 64}"\n'
    )
    result = qingka("devices", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["source"], r["present"]) for r in rows] == [("config", True), ("config", False)]
    assert rows[0]["device_no"] == "661900000000"
    assert rows[1]["error"] == "D-002"


def test_a_capture_that_cannot_be_written_is_refused_before_any_device_work(
    tmp_path: Path,
) -> None:
    os.mkfifo(tmp_path / "fifo")
    cases = {
        str(tmp_path): "it is a folder",
        str(tmp_path / "none" / "x.jsonl"): f"its folder {tmp_path / 'none'} does not exist",
        str(tmp_path / "fifo"): "FIFO",
    }
    for capture, why in cases.items():
        result = qingka(
            "device-info", "--capture", capture, f"sim://needs-clearing?{NOW}", lang="en"
        )
        assert result.returncode == 2, result.stderr
        assert f"cannot write the capture file {capture}: " in result.stderr
        assert why in result.stderr
        assert "Traceback" not in result.stderr and "device work failed" not in result.stderr
    chinese = qingka("device-info", "--capture", str(tmp_path), f"sim://needs-clearing?{NOW}")
    assert f"无法写入录制文件 {tmp_path}：这是一个文件夹" in chinese.stderr
    # The same address option in the URL is refused the same way.
    option = qingka("device-info", f"sim://needs-clearing?{NOW}&capture={tmp_path}", lang="en")
    assert option.returncode == 2
    assert f"cannot write the capture file {tmp_path}: it is a folder" in option.stderr


def test_a_state_file_that_is_a_folder_or_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for state, why in ((tmp_path, "it is a folder"), (tmp_path / "fifo", "FIFO")):
        result = qingka("device-info", f"sim://needs-clearing?{NOW}&state={state}", lang="en")
        assert result.returncode == 2, result.stderr
        assert f"cannot use the state file {state}: " in result.stderr
        assert why in result.stderr
        assert "Traceback" not in result.stderr and "device work failed" not in result.stderr


def test_a_replay_of_a_folder_or_a_fifo_says_what_it_is(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    for target, why in ((tmp_path, "it is a folder"), (tmp_path / "fifo", "FIFO")):
        result = qingka("device-info", f"replay://{target}", lang="en")
        assert result.returncode == 2, result.stderr
        assert f"cannot read the capture file {target}: " in result.stderr
        assert why in result.stderr
        assert "does not exist" not in result.stderr


def test_a_capture_file_that_cannot_be_written_is_not_called_a_bad_address() -> None:
    result = qingka(
        "device-info", f"sim://needs-clearing?{NOW}", "--capture", "/proc/version", lang="en"
    )
    assert result.returncode == 2, result.stderr
    assert "cannot write the capture file /proc/version" in result.stderr, result.stderr
    assert "device address" not in result.stderr and "[D-006]" in result.stderr


def test_a_bad_configuration_is_said_in_the_chosen_language(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("x = \n")
    result = qingka("devices", "--config", str(bad), lang="en")
    assert result.returncode == 2
    assert result.stderr.startswith(f"Configuration problem: {bad} is not valid TOML")
    assert "配置" not in result.stderr and "(file)" not in result.stderr


def test_an_empty_address_lists_the_forms_once() -> None:
    result = qingka("device-info", "", lang="en")
    assert result.returncode == 2
    assert result.stderr.count("replay://CAPTURE.jsonl") == 1, result.stderr


def test_an_empty_config_path_is_called_empty() -> None:
    for command in (["status"], ["device-info", "sim://needs-clearing"], ["daemon"]):
        result = qingka(*command, "--config", "", lang="en")
        assert result.returncode == 2, (command, result.stderr)
        assert "the configuration file's path is empty" in result.stderr
        assert "is a folder" not in result.stderr
    check = qingka("config", "check", "", lang="en")
    assert check.returncode == 2
    assert "the configuration file's path is empty" in check.stderr
