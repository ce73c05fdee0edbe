"""Run the bureau simulator as a child process, the way the demo, tests and benchmarks do.

Readiness is the JSON line the simulator prints once it listens; nothing here sleeps for a
fixed time.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.bureau.config import BureauConfig
from simulators.bureau.ctl import AdminClient
from simulators.bureau.ready import Ready

# The readiness line is a few hundred bytes of JSON (the endpoint table is the bulk of it).
_MAX_READY_LINE = 64 * 1024


class BureauProcess:
    """A running simulator process; stop it with :meth:`stop` or a ``with`` block."""

    def __init__(self, process: subprocess.Popen[bytes], ready: Ready, data_dir: Path) -> None:
        self.process = process
        self.ready = ready
        self.data_dir = data_dir
        self.admin = AdminClient(ready.admin_url)

    def config(self, **overrides: Any) -> BureauConfig:
        """Return a client configuration for this simulator."""
        return self.ready.client_config(**overrides)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> BureauProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def spawn(
    data_dir: Path,
    *,
    now: datetime | None = None,
    port: int = 0,
    timeout: float = 30.0,
    log: Path | None = None,
) -> BureauProcess:
    """Start ``python -m simulators.bureau`` on ``data_dir`` and wait until it is ready."""
    command = [sys.executable, "-m", "simulators.bureau", "--data", str(data_dir)]
    command += ["--port", str(port), "--admin-port", "0"]
    if now is not None:
        command += ["--now", now.isoformat(timespec="seconds")]
    data_dir.mkdir(parents=True, exist_ok=True)
    stderr = (log or data_dir / "bureau.log").open("ab")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=env)
    stderr.close()
    try:
        ready = _await_ready(process, timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return BureauProcess(process, ready, data_dir)


def _await_ready(process: subprocess.Popen[bytes], timeout: float) -> Ready:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffered = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffered:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"bureau simulator not ready within {timeout} s")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"bureau simulator exited with {process.wait()} before ready")
            buffered += chunk
            if len(buffered) > _MAX_READY_LINE:
                raise RuntimeError("bureau simulator printed no readiness line")
    return Ready.from_json(buffered.split(b"\n", 1)[0])
