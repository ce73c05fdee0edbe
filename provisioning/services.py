"""Restart only what a new generation changed, through a runner tests can replace.

Each generation records one digest per service of everything that service reads
(:mod:`provisioning.render`). A service whose digest differs from the previous generation's is
restarted with ``systemctl try-restart`` (which leaves a stopped unit stopped); NetworkManager
re-reads its keyfiles with ``nmcli connection reload``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Runner = Callable[[Sequence[str]], "RunResult"]

COMMANDS: dict[str, tuple[str, ...]] = {
    "daemon": ("systemctl", "try-restart", "qingka-daemon.service"),
    "kiosk": ("systemctl", "try-restart", "qingka-kiosk.service"),
    "network": ("nmcli", "connection", "reload"),
    "time": ("systemctl", "try-restart", "systemd-timesyncd.service"),
}
ORDER = ("network", "time", "daemon", "kiosk")
RUN_TIMEOUT_S = 60.0
# Enough for 200 journal lines; a command saying more is cut from the front.
MAX_OUTPUT = 256 * 1024


@dataclass(frozen=True)
class RunResult:
    """The exit code and the last words of one command."""

    code: int
    output: str = ""


def system_runner(command: Sequence[str]) -> RunResult:
    """Run ``command`` on the box; a missing program is code 127, a hang code 124."""
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        return RunResult(127, f"{command[0]}: not found")
    except subprocess.TimeoutExpired:
        return RunResult(124, f"{command[0]}: no answer in {RUN_TIMEOUT_S:.0f} s")
    return RunResult(done.returncode, (done.stdout + done.stderr)[-MAX_OUTPUT:])


def changed(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """Return the services whose inputs differ, in restart order (all if ``old`` is unknown)."""
    return [service for service in ORDER if old.get(service) != new.get(service)]


@dataclass(frozen=True)
class Restart:
    """What was done for one service."""

    service: str
    command: tuple[str, ...]
    code: int
    output: str

    @property
    def ok(self) -> bool:
        """Tell whether the command succeeded."""
        return self.code == 0

    def to_json(self) -> dict[str, object]:
        """Return the restart for the report."""
        return {
            "service": self.service,
            "command": " ".join(self.command),
            "ok": self.ok,
            "code": self.code,
        }


def restart(services: list[str], runner: Runner) -> list[Restart]:
    """Restart ``services`` in order; a failure is recorded, never raised (the config stands)."""
    done = []
    for service in services:
        command = COMMANDS[service]
        result = runner(command)
        done.append(Restart(service, command, result.code, result.output))
    return done
