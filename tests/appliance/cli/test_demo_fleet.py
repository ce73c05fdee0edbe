"""`qingka demo --fleet`: a real mosquitto, the bureau simulator and three real daemons."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.waiting import wait_until

QINGKA = Path(sys.executable).parent / "qingka"


def _processes_under(folder: Path) -> list[str]:
    """Return the command lines of running processes that name ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # ended meanwhile
        if str(folder) in command:
            found.append(command)
    return found


def _demo(folder: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "QINGKA_API_SOCKET"}
    return subprocess.Popen(
        [str(QINGKA), "demo", "--fleet", "--lang", "en", "--dir", str(folder), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_the_fleet_clears_a_box_and_sees_only_the_alarms_that_hold(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    demo = _demo(folder)
    out, _ = demo.communicate(timeout=240)
    assert demo.returncode == 0, out
    assert "Demo finished: cleared from the fleet" in out
    before, after = out.split("Clearing box-001 from the fleet")
    row = next(line for line in after.splitlines() if line.startswith("wuhan-demo  box-001"))
    assert "cleared" in row and "done J-000" in row, after
    # The locked box holds its alarm; the boxes' clocks agree with their devices', so no box
    # reports a drift the demo made up.
    locked = next(line for line in before.splitlines() if line.startswith("wuhan-demo  box-002"))
    assert "lock-soon-661900000001" in locked, before
    assert "clock-drift" not in out
    wait_until(lambda: not _processes_under(folder), 10, "the demo's processes to end")


def test_a_kept_demo_stops_everything_when_it_is_terminated(tmp_path: Path) -> None:
    folder = tmp_path / "kept"
    demo = _demo(folder, "--keep")
    assert demo.stdout is not None
    seen = []
    for line in demo.stdout:
        seen.append(line)
        if line.startswith("Press Ctrl-C"):
            break
    assert seen and seen[-1].startswith("Press Ctrl-C"), "".join(seen)
    assert any("mosquitto" in command for command in _processes_under(folder))
    demo.send_signal(signal.SIGTERM)
    demo.wait(60)
    assert demo.returncode == 128 + signal.SIGTERM
    wait_until(lambda: not _processes_under(folder), 10, "the demo's processes to end")
