"""A root file system booted under real systemd with ``systemd-nspawn --boot``, driven from outside.

The container is started with ``--register=no --keep-unit`` (no machined needed) and a read-only
root, with the data partition bound in writable, as on the box. Commands run inside through
``nsenter`` into the namespaces of the container's PID 1.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

BOOT_TIMEOUT_S = 60.0


class ContainerError(Exception):
    """The container did not boot or a command inside it failed."""


class Container:
    """One booted container; :meth:`stop` halts it."""

    def __init__(self, root: Path, data: Path, log: Path, name: str) -> None:
        self.root = root
        self.data = data
        self.log = log
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None
        self.leader: int | None = None
        self.started = 0.0

    def start(self) -> None:
        """Boot the container and wait until its PID 1 answers ``systemctl``."""
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    "systemd-nspawn",
                    "--quiet",
                    "--boot",
                    "--register=no",
                    "--keep-unit",
                    "--read-only",
                    f"--machine={self.name}",
                    f"--directory={self.root}",
                    f"--bind={self.data}:/var/lib/qingka",
                    "--console=passive",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started = time.monotonic()
        deadline = self.started + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ContainerError(f"nspawn exited {self.process.returncode}:\n{self.tail()}")
            self.leader = self._find_leader()
            if self.leader is not None:
                state = self.run("systemctl", "is-system-running", check=False).strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.2)
        raise ContainerError(f"the container did not finish booting:\n{self.tail()}")

    def _find_leader(self) -> int | None:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            pids = children.read_text().split()
        except OSError:
            return None
        for pid in pids:
            try:
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            if comm == "systemd":
                return int(pid)
        return None

    def run(
        self, *command: str, check: bool = True, timeout: float = 60.0, stderr: bool = False
    ) -> str:
        """Run ``command`` inside the container as root; return its output (and errors)."""
        if self.leader is None:
            raise ContainerError("the container is not running")
        done = subprocess.run(
            ["nsenter", f"--target={self.leader}", "--all", "--", *command],
            capture_output=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        out = done.stdout.decode("utf-8", "replace")
        if stderr:
            out += done.stderr.decode("utf-8", "replace")
        if check and done.returncode != 0:
            raise ContainerError(
                f"{' '.join(command)} exited {done.returncode}:\n{out}\n"
                f"{done.stderr.decode('utf-8', 'replace')}"
            )
        return out

    def show(self, unit: str, prop: str) -> str:
        """Return one property of ``unit`` (``systemctl show -p``)."""
        return self.run("systemctl", "show", "--value", "-p", prop, unit).strip()

    def wait_for(self, what: str, check: object, timeout: float) -> float:
        """Wait until ``check()`` is true; return the seconds it took."""
        started = time.monotonic()
        while True:
            if callable(check) and check():
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise ContainerError(f"timed out waiting for {what}:\n{self.journal()}")
            time.sleep(0.1)

    def journal(self, unit: str | None = None, lines: int = 60) -> str:
        """Return the end of the container's journal (of one unit if given)."""
        command = ["journalctl", "--no-pager", "-n", str(lines)]
        if unit:
            command += ["-u", unit]
        return self.run(*command, check=False)

    def tail(self) -> str:
        """Return the end of nspawn's console output."""
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Halt the container (SIGTERM to nspawn asks PID 1 to power off), then make sure."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
