"""The box of the power-cut campaign: its data partition on the power-cut file system, its
processes, the office that provisions it, and the hand on the power switch.

Layout below one folder (every path short: the API socket's must fit in 108 bytes)::

    bureau/                  the bureau simulator's data (a normal disk: the bureau is far away)
    devices/dev-N.json       each simulated device's own flash (a normal disk)
    office/                  signing key and trust store
    sticks/N/                the USB stick of bundle N
    box/                     the box's root: image trust store, /etc/qingka link, /run
    box/var/lib/qingka/      the data partition: the power-cut file system
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.api.client import is_running
from bench.powerfs.client import PowerFs, power_cut
from provisioning import office
from provisioning.paths import Paths
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.bureau.ready import ENDPOINTS_FILE

ROOT = Path(__file__).resolve().parent.parent
DEVICE_PIN = "88888888"  # the simulated devices' PIN
START_TIMEOUT_S = 60.0


@dataclass
class Device:
    """One simulated tax device, its state on its own flash."""

    index: int
    state: Path
    url: str

    @property
    def taxpayer_id(self) -> str:
        """Return the taxpayer the device belongs to."""
        return catalog.taxpayer(self.index).taxpayer_id


@dataclass
class Cut:
    """One power cut: where it struck and what it lost."""

    during: str
    op: str
    path: str
    keep: float
    lost: dict[str, int] = field(default_factory=dict)

    @property
    def area(self) -> str:
        """Return which part of the data partition was being written."""
        name = self.path.lstrip("/")
        for prefix, area in (
            ("qingka.db", "journal"),
            ("outbox.db", "outbox"),
            ("backups", "backups"),
            ("config", "config"),
            ("provision", "provisioning"),
            ("keys", "provisioning"),
            ("trust", "provisioning"),
            ("events", "provisioning"),
            ("pins", "pins"),
            (".owner", "owner lock"),
        ):
            if name.startswith(prefix):
                return area
        return "other" if name else "none"


def free_port() -> int:
    """Return a TCP port nothing listens on (the fleet broker the box never reaches)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PowerBox:
    """The box under test, and the switch that cuts its power."""

    def __init__(self, folder: Path, bureau: BureauProcess, latency: str, anchor: str) -> None:
        self.folder = folder
        self.bureau = bureau
        self.latency = latency
        self.anchor = anchor
        self.root = folder / "box"
        self.paths = Paths.under(self.root)
        self.log = folder / "box.log"
        # The disk below the volume: empty at first, the surviving state after the last unmount.
        (folder / "disk").mkdir()
        self.fs = PowerFs(self.paths.data_dir, backing=folder / "disk", log=folder / "powerfs.log")
        self.daemon: subprocess.Popen[bytes] | None = None
        self.applying: subprocess.Popen[str] | None = None
        self.box_id = ""
        self.enrollment = Path()
        self.office_key = Path()
        self.broker_port = free_port()
        # The switch: one cut at a time, never while a process is being started.
        self.switch = threading.Lock()
        self.cut_done = threading.Event()
        self.cuts: list[Cut] = []

    # -- setting up --------------------------------------------------------------------------

    def install(self) -> None:
        """Make the office and the box's image, mount the (empty) data partition."""
        _, self.office_key = office.keygen(self.folder / "office", "bench")
        self.paths.image_trust_dir.mkdir(parents=True)
        shutil.copy(self.folder / "office" / "trust.json", self.paths.image_trust_dir)
        (self.root / "machine-id").write_text("5eed0f0e1e2d3c4b5a69788796a5b4c3\n")
        (self.root / "etc").mkdir()
        (self.root / "etc" / "qingka").symlink_to("../var/lib/qingka/config/current")
        self.paths.api_socket.parent.mkdir(parents=True)
        (self.folder / "devices").mkdir()
        self.fs.start()

    def enroll(self) -> bool:
        """Plug an empty stick: the box makes its key and writes its request; False if cut."""
        stick = self.folder / "sticks" / "enroll"
        (stick / "QINGKA").mkdir(parents=True, exist_ok=True)
        result = self.apply(stick)
        requests = sorted((stick / "QINGKA" / "enroll").glob("*.json"))
        if result.get("result") != "enrolled" or not requests:
            return False
        self.enrollment = requests[0]
        self.box_id = json.loads(self.enrollment.read_text())["box_id"]
        return True

    def device(self, index: int) -> Device:
        """Return a new simulated device (its state file made on first use)."""
        state = self.folder / "devices" / f"dev-{index}.json"
        url = (
            f"sim://needs-clearing?state={state}&index={index}"
            f"&latency={self.latency}&now={self.anchor}"
        )
        return Device(index, state, url)

    def make_stick(self, serial: int, devices: list[Device]) -> Path:
        """Make and sign the office's bundle ``serial`` configuring ``devices``."""
        folder = self.folder / "sticks" / str(serial)
        (folder / "QINGKA").mkdir(parents=True)
        ready = self.bureau.ready
        lines = [
            'creator = "power-cut campaign"',
            f"serial = {serial}",
            "",
            "[box]",
            f'id = "{self.box_id}"',
            f'enrollment = "{self.enrollment}"',
            'site = "bench-01"',
            "",
            "[schedule]",
            'policy = "button-only"',
            "",
            "[bureau]",
            f'endpoints_file = "{self.bureau.data_dir / ENDPOINTS_FILE}"',
            f'ca_bundle = "{ready.ca_cert}"',
            f'public_key = "{ready.bureau_public_key}"',
            "connect_timeout = 2",
            "retry_deadline = 10",
            "",
            "[fleet]",
            # Nothing listens there: every event waits in the outbox, written on every event.
            f'broker = "mqtts://127.0.0.1:{self.broker_port}"',
            f'ca_file = "{ready.ca_cert}"',
            f'username = "{self.box_id}"',
            'password = "power-cut-bench"',
        ]
        for device in devices:
            lines += [
                "",
                "[[device]]",
                f'url = "{device.url}"',
                f'taxpayer_id = "{device.taxpayer_id}"',
                f'pin = "{DEVICE_PIN}"',
            ]
        settings = folder / "settings.toml"
        settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
        office.make(settings, folder)
        office.sign_stick(folder, self.office_key)
        return folder

    # -- the box's processes -----------------------------------------------------------------

    def _spawn(self, role: str, command: list[str], **options: Any) -> subprocess.Popen[Any]:
        """Start a process of the box; a cut never falls between its start and its knowing it."""
        with self.switch:
            process: subprocess.Popen[Any] = subprocess.Popen(command, cwd=ROOT, **options)
            setattr(self, role, process)
            return process

    def apply(self, stick: Path) -> dict[str, Any]:
        """Apply ``stick`` (a process the switch may cut); return its outcome, {} if cut."""
        with self.log.open("ab") as log:
            process: subprocess.Popen[str] = self._spawn(
                "applying",
                [sys.executable, "-m", "bench.power_apply", str(stick), "--root", str(self.root)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        try:
            out, _ = process.communicate(timeout=120)
        finally:
            self.applying = None
        lines = out.strip().splitlines()
        if process.returncode < 0 or not lines:
            return {}
        result: dict[str, Any] = json.loads(lines[-1])
        return result

    def start_daemon(self) -> bool:
        """Start the daemon; return whether it answers (False: cut meanwhile, or it died)."""
        config = self.root / "etc" / "qingka" / "qingka.toml"
        with self.log.open("ab") as log:
            daemon = self._spawn(
                "daemon",
                [sys.executable, "-m", "appliance", "daemon", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and daemon.poll() is None:
            if is_running(self.paths.api_socket, timeout=2.0):
                return True
            time.sleep(0.05)
        return False

    def stop_daemon(self) -> None:
        """Stop the daemon as systemd does (SIGTERM; it finishes its step and closes)."""
        daemon, self.daemon = self.daemon, None
        if daemon is None or daemon.poll() is not None:
            return
        daemon.terminate()
        try:
            daemon.wait(60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()

    def processes(self) -> list[subprocess.Popen[Any]]:
        """Return the box's running processes."""
        return [p for p in (self.daemon, self.applying) if p is not None and p.poll() is None]

    # -- the switch --------------------------------------------------------------------------

    def cut(
        self,
        during: str,
        seed: int,
        keep: float,
        where: dict[str, Any] | None,
        then: Callable[[Cut], None] | None = None,
    ) -> Cut:
        """Cut the power now (``where`` is None) or at the change that tripped (``where``).

        ``then`` looks at what survived before anything of the box runs again.
        """
        with self.switch:
            lost = power_cut(self.fs, self.processes(), seed, keep, frozen=where is not None)
            struck = where or {}
            cut = Cut(during, str(struck.get("op", "")), str(struck.get("path", "")), keep)
            cut.lost = lost
            self.cuts.append(cut)
            if then is not None:
                then(cut)
            self.cut_done.set()
            return cut

    def close(self) -> None:
        """Stop the daemon and unmount the data partition."""
        with contextlib.suppress(OSError):
            self.stop_daemon()
        self.fs.close()
