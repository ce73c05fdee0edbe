"""A device with ``state=PATH`` survives re-opening, a restart of the process and kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.protocol import commands, sense
from tests.simulators.device.clearing import valid_blob
from tests.simulators.device.conftest import OpenSim
from tests.simulators.device.host import Host

ROOT = Path(__file__).parents[3]


def test_state_file_is_written_at_once_and_after_every_change(
    open_sim: OpenSim, tmp_path: Path
) -> None:
    path = tmp_path / "ukey.json"
    backend = open_sim(state=path)
    assert json.loads(path.read_text("utf-8"))["identity"]["device_no"] == "661900000000"
    host = Host(backend)
    host.open()
    host.select("026")
    host.call("copy_tax")
    saved = json.loads(path.read_text("utf-8"))
    assert saved["types"]["026"]["monitor"]["zxbsrq"] == 20261105
    assert saved["types"]["026"]["summary"]["period"] == 202610
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_reopening_keeps_the_device_as_it_was(open_sim: OpenSim, tmp_path: Path) -> None:
    path = tmp_path / "ukey.json"
    host = Host(open_sim("wrong-pin", state=path))
    host.open(None)
    assert host.status("verify_pin", {"pin": commands.DEFAULT_PIN}) == sense.SW_PIN_WRONG | 2
    # Options that shape a new device are ignored once the file exists.
    again = Host(open_sim("already-cleared", state=path, index=7, pin="0"))
    again.open(None)
    assert again.call("identify")["device_no"] == "661900000000"
    assert again.status("verify_pin", {"pin": "00000000"}) == sense.SW_PIN_WRONG | 1
    assert again.backend.device.state["pin_tries_left"] == 1


def test_a_clearing_survives_reopening(open_sim: OpenSim, tmp_path: Path) -> None:
    path = tmp_path / "ukey.json"
    host = Host(open_sim(state=path))
    host.open()
    for code in ("007", "026"):
        host.select(code)
        host.call("copy_tax")
    data = valid_blob(host.backend.device.state)
    host.call("write_clearing", {"data": data})
    again = Host(open_sim(state=path))
    again.open()
    assert again.status("write_clearing", {"data": data}) == sense.SW_ALREADY_CLEARED
    again.select("026")
    assert again.status("read_summary") == sense.SW_NO_SUMMARY


def test_an_unusable_state_file_is_refused(open_sim: OpenSim, tmp_path: Path) -> None:
    path = tmp_path / "ukey.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        open_sim(state=path)
    open_sim(state=tmp_path / "good.json")
    state = json.loads((tmp_path / "good.json").read_text("utf-8"))
    state["types"]["026"]["stats"]["stock_end"] += 1
    path.write_text(json.dumps(state), "utf-8")
    with pytest.raises(ValueError, match="stock does not balance"):
        open_sim(state=path)
    state["version"] = 9
    path.write_text(json.dumps(state), "utf-8")
    with pytest.raises(ValueError, match="version"):
        open_sim(state=path)


KILLED_CHILD = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from simulators.device import open_backend
from tests.simulators.device.host import Host
backend = open_backend("needs-clearing", {"latency": "0", "state": sys.argv[1],
                                          "now": "2026-11-05T10:00"})
host = Host(backend)
host.open()
host.select("026")
host.call("copy_tax")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_nine_after_a_change_keeps_the_change(tmp_path: Path) -> None:
    path = tmp_path / "ukey.json"
    result = subprocess.run(
        [sys.executable, "-c", KILLED_CHILD, str(path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    saved = json.loads(path.read_text("utf-8"))
    assert saved["types"]["026"]["monitor"]["zxbsrq"] == 20261105
