"""The daemon as its own process, with a stand-in for systemd's notify socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.bureau.ready import ENDPOINTS_FILE
from tests.simulators.bureau.fixtures import ANCHOR


class DaemonRig:
    """Config, state and process of one daemon under test."""

    def __init__(
        self, folder: Path, bureau: BureauProcess, index: int, scenario: str, latency: str
    ) -> None:
        self.folder = folder
        self.bureau = bureau
        self.index = index
        self.taxpayer = catalog.taxpayer(index)
        self.socket = folder / "api.sock"
        self.url = (
            f"sim://{scenario}?state={folder / 'device.json'}&index={index}"
            f"&latency={latency}&now={ANCHOR.isoformat()}"
        )
        self.config = folder / "qingka.toml"
        self.config.write_text(
            "\n".join(
                [
                    f'data_dir = "{folder / "box"}"',
                    "[schedule]",
                    'policy = "button-only"',
                    "[api]",
                    f'socket = "{self.socket}"',
                    'mode = "0600"',
                    "[[device]]",
                    f'url = "{self.url}"',
                    f'taxpayer_id = "{self.taxpayer.taxpayer_id}"',
                    "[bureau]",
                    f'endpoints_file = "{bureau.data_dir / ENDPOINTS_FILE}"',
                    f'ca_bundle = "{bureau.ready.ca_cert}"',
                    f'public_key = "{bureau.ready.bureau_public_key}"',
                    "connect_timeout = 2",
                    "retry_deadline = 5",
                    "[backup]",
                    f'export_dir = "{folder / "media"}"',
                ]
            )
            + "\n"
        )
        self.notify_path = folder / "notify.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.2)
        self.messages: list[str] = []
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, watchdog_usec: int = 1_000_000) -> None:
        """Start the daemon and wait for READY=1."""
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(self.notify_path),
            "WATCHDOG_USEC": str(watchdog_usec),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("WATCHDOG_PID", None)
        self.messages.clear()
        log = (self.folder / "daemon.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "daemon", "--config", str(self.config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self.wait_for("READY=1", 30)

    def receive(
        self, timeout: float, enough: Callable[[list[str]], bool] | None = None
    ) -> list[str]:
        """Collect notify datagrams for up to ``timeout`` seconds, or until ``enough(got)``."""
        end = time.monotonic() + timeout
        got: list[str] = []
        while time.monotonic() < end and not (enough is not None and enough(got)):
            try:
                data = self.notify.recv(4096)
            except TimeoutError:
                continue
            got.append(data.decode())
            self.messages.append(data.decode())
        return got

    def wait_for(self, message: str, timeout: float) -> None:
        """Wait until a datagram containing ``message`` arrived."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(message in m for m in self.messages):
                return
            exited = self.proc is None or self.proc.poll() is not None
            try:
                data = self.notify.recv(4096)
            except TimeoutError:
                # Datagrams sent before the process exited are still readable; after that, no.
                assert not exited, f"daemon exited without {message}; log:\n{self.log()}"
                continue
            self.messages.append(data.decode())
        raise AssertionError(f"no {message} from the daemon; log:\n{self.log()}")

    def log(self) -> str:
        """Return the daemon's log."""
        return (self.folder / "daemon.log").read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait; return the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def close(self) -> None:
        """Kill whatever still runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
