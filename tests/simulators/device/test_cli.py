"""``qingka sim device``: registered under ``qingka sim``, prints the device, refuses bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import sim
from appliance.cli.main import main


def test_registered_under_qingka_sim() -> None:
    assert "simulators.device.cli" in sim.SIM_MODULES
    assert list(sim.SIM_MODULES) == sorted(sim.SIM_MODULES)


def test_prints_identity_and_monitor_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "device", "multi-type", "--now", "2026-11-05T10:00"]) == 0
    out = capsys.readouterr().out
    assert "91420103MA0000000A" in out
    assert "1432:07d0" in out
    assert "clock     2026-11-05 10:00:00" in out
    for code in ("004", "007", "026"):
        assert f"type {code}  needs-report" in out
    assert "lock 2026-11-16 23:59:59" in out
    assert "window 2026-10-01..2026-10-31" in out


def test_state_file_is_written_and_shown_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "zombie.json"
    assert main(["sim", "device", "zombie", "--state", str(path), "--now", "2026-11-05"]) == 0
    first = capsys.readouterr().out
    assert "ZOMBIE" in first
    assert json.loads(path.read_text("utf-8"))["version"] == 1
    assert main(["sim", "device", "zombie", "--state", str(path)]) == 0
    assert "ZOMBIE" in capsys.readouterr().out


def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "device", "needs-clearing", "--now", "someday"]) == 2
    assert "someday" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sim", "device", "no-such-scenario"])
