"""The bench device firmware under the MicroPython unix port, attached to a real pty."""

from __future__ import annotations

import os
import subprocess
import sys
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MICROPYTHON = Path(sys.executable).parent / "micropython"
FIRMWARE = ROOT / "simulators" / "device" / "firmware" / "main.py"


@contextmanager
def bench_device(state: Path) -> Iterator[str]:
    """Run the firmware on ``state``; yield the serial port path the host opens."""
    master, slave = os.openpty()
    # Raw before the firmware starts: a cooked pty would echo the firmware's replies back to it.
    tty.setraw(slave)
    proc = subprocess.Popen(
        [str(MICROPYTHON), str(FIRMWARE), str(ROOT), str(state)],
        stdin=master,
        stdout=master,
        stderr=subprocess.PIPE,
    )
    try:
        yield os.ttyname(slave)
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        os.close(master)
        os.close(slave)
        assert b"Traceback" not in err, err.decode(errors="replace")
