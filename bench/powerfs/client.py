"""Mount a power-cut volume in its own process, and cut the power of the processes using it.

    with PowerFs(mountpoint) as fs:
        ...                      # run the box with its data directory below mountpoint
        power_cut(fs, [daemon], seed=7)

A power cut is: freeze the volume (every change from now on waits), kill every process of the
box (SIGKILL), lose what was not synced (the held changes fail, to processes already dead), and
wait until the processes are gone. Nothing a process did after the instant of the cut reached the
disk, and no process saw a failed write and acted on it. The instant is either now
(:func:`power_cut`) or the n-th change the box makes (:meth:`PowerFs.arm`, then
:meth:`PowerFs.wait_trip`).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.powerfs.server import unmount

ROOT = Path(__file__).resolve().parents[2]
MOUNT_TIMEOUT_S = 20.0
REPLY_TIMEOUT_S = 60.0


class PowerFsError(Exception):
    """The power-cut file system did not mount or did not answer."""


class PowerFs:
    """A mounted power-cut volume, served by a child process."""

    def __init__(self, mountpoint: Path, backing: Path | None = None, log: Path | None = None):
        self.mountpoint = Path(mountpoint)
        self.backing = backing
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        # One command at a time: a reply belongs to the thread that sent the command.
        self._calls = threading.Lock()
        self.trips: queue.Queue[dict[str, Any]] = queue.Queue()

    def start(self) -> PowerFs:
        """Mount, and return once the kernel serves the mount."""
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "bench.powerfs", str(self.mountpoint)]
        if self.backing is not None:
            command += ["--backing", str(self.backing)]
        with contextlib.ExitStack() as stack:
            stderr = stack.enter_context(self.log.open("a")) if self.log else subprocess.DEVNULL
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=ROOT,
                env={**os.environ, "FUSE_LIBRARY_NAME": "fuse3"},
            )
        threading.Thread(target=self._read, name="powerfs replies", daemon=True).start()
        try:
            reply = self._reply(MOUNT_TIMEOUT_S)
        except PowerFsError:
            self.close()
            raise
        if not reply.get("ready"):
            self.close()
            raise PowerFsError(f"the power-cut file system did not mount: {reply}")
        return self

    def _read(self) -> None:
        """Sort the server's lines: trips as they happen, replies in order."""
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == "tripped":
                self.trips.put(message)
            else:
                self._replies.put(message)
        self._replies.put({"ok": False, "error": "the power-cut file system stopped"})

    def _reply(self, timeout: float) -> dict[str, Any]:
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            raise PowerFsError("no answer from the power-cut file system") from None

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one command and return its reply."""
        with self._calls:
            if self.process is None or self.process.stdin is None:
                raise PowerFsError("the power-cut file system is not running")
            self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
            self.process.stdin.flush()
            reply = self._reply(REPLY_TIMEOUT_S)
        if not reply.get("ok"):
            raise PowerFsError(f"{op}: {reply.get('error')}")
        return reply

    def freeze(self) -> None:
        """Hold every change from now on."""
        self.call("freeze")

    def thaw(self) -> None:
        """Let held changes go on."""
        self.call("thaw")

    def arm(self, after: int) -> None:
        """Freeze at the ``after``-th change the box makes from now."""
        while not self.trips.empty():
            self.trips.get_nowait()
        self.call("arm", after=after)

    def wait_trip(self, timeout: float) -> dict[str, Any] | None:
        """Return where the armed cut struck (op, path), or ``None`` if not within ``timeout``."""
        try:
            return self.trips.get(timeout=timeout)
        except queue.Empty:
            return None

    def disarm(self) -> dict[str, Any] | None:
        """Stop waiting; return the trip if it happened meanwhile (then the cut is still due)."""
        tripped: dict[str, Any] | None = self.call("disarm")["tripped"]
        while not self.trips.empty():
            self.trips.get_nowait()
        return tripped

    def cut(self, seed: int, keep: float = 0.5) -> dict[str, int]:
        """Lose what was not synced (each part kept with ``keep``); return what was lost."""
        report: dict[str, int] = self.call("cut", seed=seed, keep=keep)["cut"]
        return report

    def sync(self) -> None:
        """Make everything durable."""
        self.call("sync")

    def stats(self) -> dict[str, int]:
        """Return counts of what the volume holds and what is not synced."""
        return {k: v for k, v in self.call("stats").items() if k != "ok"}

    def close(self) -> None:
        """Sync, write back to the backing directory, unmount and stop the process."""
        process, self.process = self.process, None
        if process is None:
            return
        try:
            if process.poll() is None and process.stdin is not None:
                self.process = process
                with contextlib.suppress(PowerFsError, OSError, ValueError):
                    self.call("quit")
                self.process = None
                process.stdin.close()
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            if os.path.ismount(self.mountpoint):
                unmount(self.mountpoint)
            if process.stdout is not None:
                process.stdout.close()

    def __enter__(self) -> PowerFs:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def power_cut(
    fs: PowerFs,
    processes: Iterable[subprocess.Popen[Any]],
    seed: int,
    keep: float = 0.5,
    frozen: bool = False,
    timeout: float = 30.0,
) -> dict[str, int]:
    """Cut the power of ``processes`` and of the volume at one instant; return what was lost.

    The instant is now, or, with ``frozen``, when the volume froze (an armed cut that tripped).
    """
    if not frozen:
        fs.freeze()
    alive = [p for p in processes if p.poll() is None]
    for process in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    # A killed process blocked in a held change only dies once the cut has failed that change.
    report = fs.cut(seed, keep)
    deadline = time.monotonic() + timeout
    for process in alive:
        process.wait(max(0.1, deadline - time.monotonic()))
    return report
