"""One process owns the box: the commands go through the daemon, or refuse in a sentence.

Also what a person running ``qingka clear`` is told when the daemon dies under it: the request
was journaled, so it runs after the restart and the command reports how it ended.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.api.client import ApiClient
from simulators.bureau import BureauProcess
from tests.appliance.daemon.service_rig import DaemonRig
from tests.simulators.bureau.fixtures import _scenario_restored, bureau

__all__ = ["_scenario_restored", "bureau"]

QINGKA = Path(sys.executable).parent / "qingka"
_indices = itertools.count(9000)


def qingka(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(QINGKA), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "QINGKA_LANG": "zh"},
        check=False,
    )


@pytest.fixture
def rig(tmp_path: Path, bureau: BureauProcess) -> Iterator[Any]:
    made: list[DaemonRig] = []

    def make(scenario: str = "needs-clearing", latency: str = "0") -> DaemonRig:
        folder = tmp_path / f"o{len(made)}"
        folder.mkdir()
        built = DaemonRig(folder, bureau, next(_indices), scenario, latency)
        made.append(built)
        return built

    yield make
    for built in made:
        built.close()


def test_a_command_beside_an_unreachable_daemon_refuses_and_touches_nothing(rig: Any) -> None:
    r = rig()
    r.start()
    deadline = time.monotonic() + 30
    while not (r.folder / "device.json").exists():  # the daemon's first reading made it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    device_before = (r.folder / "device.json").read_text()
    nowhere = str(r.folder / "nowhere.sock")  # the daemon cannot be reached there
    for command in (["clear"], ["status"], ["device-info", r.url]):
        result = qingka(*command, "--config", str(r.config), "--socket", nowhere)
        assert result.returncode == 5, (command, result.stdout, result.stderr)
        assert "另一个清卡程序" in result.stderr
        assert str(r.proc.pid) in result.stderr
        assert "Traceback" not in result.stderr
    assert (r.folder / "device.json").read_text() == device_before
    assert r.bureau.admin.state(r.taxpayer.taxpayer_id)["uploads"] == []
    assert r.stop() == 0


def test_status_has_one_shape_with_and_without_the_daemon(rig: Any) -> None:
    r = rig()
    here = json.loads(qingka("status", "--config", str(r.config), "--json").stdout)
    r.start()
    there = json.loads(qingka("status", "--config", str(r.config), "--json").stdout)
    assert here["daemon"] is False and there["daemon"] is True
    assert set(there) - set(here) == {"uptime_s"}
    assert set(here) <= set(there)
    assert set(here["devices"][0]) == set(there["devices"][0])
    # The same reading (the device's clock moves on between the two).
    read_here, read_there = here["devices"][0]["device"], there["devices"][0]["device"]
    assert {**read_here, "clock": None} == {**read_there, "clock": None}
    assert r.stop() == 0


def test_a_tap_survives_a_daemon_killed_right_after_acknowledging_it(rig: Any) -> None:
    r = rig(latency="1")
    r.start()
    with ApiClient(r.socket) as client:
        assert client.call("clear", device=r.url)["queued"] == [r.url]
    r.proc.send_signal(signal.SIGKILL)  # before the job could journal anything, most likely
    r.proc.wait()
    r.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with ApiClient(r.socket) as client:
            last = client.call("status")["devices"][0]["last_outcome"]
        if last and last["kind"] == "done":
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the tap was lost; log:\n{r.log()}")
    assert r.bureau.admin.state(r.taxpayer.taxpayer_id)["clearings"] == 1
    assert r.stop() == 0


def test_clear_follows_the_request_across_a_daemon_restart(rig: Any) -> None:
    r = rig(latency="1")
    r.start()
    follower = subprocess.Popen(
        [str(QINGKA), "clear", "--config", str(r.config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the daemon has the request, then kill it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and '"clear"' not in r.log():
        with ApiClient(r.socket) as client:
            if client.call("status")["devices"][0]["clearing"]:
                break
        time.sleep(0.05)
    r.proc.send_signal(signal.SIGKILL)
    r.proc.wait()
    r.start()
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 0, (out, err)
    assert json.loads(out)[0]["kind"] == "done"
    assert r.stop() == 0


def test_a_busy_device_ends_the_command_with_retry_later(rig: Any) -> None:
    r = rig("busy")
    result = qingka("clear", "--config", str(r.config), "--json", timeout=60)
    assert result.returncode == 20, result.stderr
    assert json.loads(result.stdout)[0]["code"] == "D-003"
    r.start()
    through = qingka("clear", "--config", str(r.config), "--json", timeout=60)
    assert through.returncode == 20, through.stderr
    assert json.loads(through.stdout)[0]["code"] == "D-003"
    assert r.stop() == 0


def test_a_newcomers_mistakes_get_a_sentence_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "qingka.toml"
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[api]\nsocket = "api.sock"\n'
        '[bureau]\nbase_url = "https://b.example"\nca_bundle = "ca.pem"\n'
        f'public_key = "04{"11" * 64}"\n'
    )
    cases = [
        (["clear", "--config", str(config), "--device", "999"], "999"),
        (["clear", "--config", str(config), "--device", ""], "the device is empty"),
        (["clear", "--config", str(config), "--device", "usb://zzzz"], "VID:PID"),
        (["kiosk", "--config", str(tmp_path / "nope.toml")], "nope.toml"),
        (["daemon", "--config", str(tmp_path / "nope.toml")], "qingka config example"),
        (["backup", "verify", "--data-dir", str(tmp_path / "nowhere")], "nowhere"),
        (["device-info", "usb://zzzz"], "usb://VID:PID"),
        (["demo", "--scenario", "no-such"], "invalid choice"),
        (["demo", "--today", ""], "--today"),
        (["status", "--socket", ""], "--socket"),
        (["devices", "--socket", " "], "--socket"),
    ]
    for args, words in cases:
        result = qingka(*args, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_clear_json_reports_its_error_as_json(tmp_path: Path) -> None:
    result = qingka("clear", "--config", str(tmp_path / "nope.toml"), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "C-001"


def test_version_and_language() -> None:
    for flag in ("--version", "-V"):
        result = qingka(flag)
        assert result.returncode == 0 and result.stdout.startswith("qingka ")
    english = qingka("--lang", "en", "backup", "verify", "--data-dir", "/nonexistent/x")
    assert "There is no data folder" in english.stderr
    assert "没有" not in english.stderr


def test_without_the_daemon_status_only_reads_and_clear_does_what_it_was_asked(rig: Any) -> None:
    """A job left unfinished is the daemon's to resume, not every command's that opens the box."""
    r = rig(latency="1")
    cut = qingka("clear", "--config", str(r.config), "--json", "--follow-timeout", "0.5")
    assert json.loads(cut.stdout)[0]["code"] == "J-401", cut.stdout  # paused safely
    history = json.loads(qingka("history", "--config", str(r.config), "--json").stdout)
    bureau_before = r.bureau.admin.state(r.taxpayer.taxpayer_id)

    started = time.monotonic()
    status = qingka("status", "--config", str(r.config), "--json")
    assert status.returncode == 0, status.stderr
    assert time.monotonic() - started < 20
    wrong = qingka("clear", "--config", str(r.config), "--device", "999999", "--json")
    assert wrong.returncode == 2 and "999999" in wrong.stdout + wrong.stderr
    assert r.bureau.admin.state(r.taxpayer.taxpayer_id) == bureau_before
    assert json.loads(qingka("history", "--config", str(r.config), "--json").stdout) == history

    done = qingka("clear", "--config", str(r.config), "--json")
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)[0]["kind"] == "done"
    assert r.bureau.admin.state(r.taxpayer.taxpayer_id)["clearings"] == 1
