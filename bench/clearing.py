"""Clearing: one job against its modeled floor, 20 devices at once, and the daemon's footprint.

* One clearing end to end, realistic device latencies (the simulator's model) and 50 ms added
  to every bureau round trip: wall time vs the floor = the device's modeled time + 50 ms per
  round trip the job made. Goal: ratio <= 1.10.
* 20 devices cleared at once by the engine: total wall time vs one device's.
* The daemon: start to READY (systemd notify), RSS once ready, CPU while idle.

    python -m bench.clearing [--idle-seconds 60] [--devices 20]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import POLICY_BUTTON, DeviceSpec, Engine
from appliance.clearing.job import ClearingJob
from appliance.clearing.journal import Journal
from appliance.clearing.pins import PinGuard
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from bench.report import figure, finish, say
from simulators import catalog
from simulators.bureau import BureauProcess, spawn
from simulators.bureau.ready import ENDPOINTS_FILE
from simulators.device import open_backend
from simulators.device.usb_backend import SimBackend

ANCHOR = datetime(2026, 11, 5, 10, 0)
BUREAU_MS = 50
FIRST_INDEX = 30000


def _requests(bureau: BureauProcess) -> int:
    return sum(bureau.admin.stats().values())


def single_clearing(bureau: BureauProcess, folder: Path, index: int) -> tuple[float, float, int]:
    """Return (wall seconds, modeled device seconds, bureau round trips) of one clearing."""
    backend = open_backend(
        "needs-clearing", {"now": ANCHOR.isoformat(), "latency": "1", "index": str(index)}
    )
    db = Database(folder / "single.db")
    device = open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)
    adapter = BureauAdapter(bureau.config())
    journal = Journal(db)
    job = ClearingJob(
        device,
        adapter,
        BackupStore(folder / "single"),
        journal,
        pins=PinGuard(journal, None),
        pin=DEFAULT_PIN,
        expected_taxpayer=catalog.taxpayer(index).taxpayer_id,
    )
    before = _requests(bureau)
    modeled_before = backend.latency.modeled_seconds
    start = time.perf_counter()
    outcome = job.run()
    wall = time.perf_counter() - start
    trips = _requests(bureau) - before
    device.close()
    adapter.close()
    db.close()
    if not outcome.kind.success:
        raise RuntimeError(f"the benchmark's clearing failed: {outcome}")
    return wall, backend.latency.modeled_seconds - modeled_before, trips


def many_clearings(bureau: BureauProcess, folder: Path, count: int) -> float:
    """Return the wall seconds the engine takes to clear ``count`` devices at once."""
    backends: dict[str, SimBackend] = {}
    specs = []
    for offset in range(count):
        index = FIRST_INDEX + 100 + offset
        url = f"sim://needs-clearing#{index}"
        backends[url] = open_backend(
            "needs-clearing", {"now": ANCHOR.isoformat(), "latency": "1", "index": str(index)}
        )
        specs.append(DeviceSpec(url, DEFAULT_PIN, catalog.taxpayer(index).taxpayer_id))

    def opener(url: str) -> NisecDevice:
        backend = backends[url]
        return open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)

    def bureau_for(identity: Identity) -> BureauAdapter:
        return BureauAdapter(bureau.config())

    outcomes: list[dict[str, Any]] = []
    db = Database(folder / "many.db")
    engine = Engine(
        specs,
        journal=Journal(db),
        backups=BackupStore(folder / "many"),
        bureau_factory=bureau_for,
        opener=opener,
        emit=lambda e: outcomes.append(e) if e["event"] == "outcome" else None,
        policy=POLICY_BUTTON,
    )
    engine.tick()  # first reading of every device
    while not engine.idle():
        time.sleep(0.01)
    start = time.perf_counter()
    engine.request_clear()
    while len(outcomes) < count:
        engine.tick()
        time.sleep(0.005)
    wall = time.perf_counter() - start
    engine.stop()
    db.close()
    failed = [o for o in outcomes if o["kind"] not in ("done", "already-cleared")]
    if failed:
        raise RuntimeError(f"{len(failed)} clearings failed: {failed[0]}")
    return wall


def daemon_figures(bureau: BureauProcess, folder: Path, idle_seconds: float) -> dict[str, float]:
    """Start the daemon under a stand-in notify socket; measure READY, RSS and idle CPU."""
    index = FIRST_INDEX + 999
    url = f"sim://already-cleared?state={folder / 'device.json'}&index={index}&latency=1"
    config = folder / "qingka.toml"
    config.write_text(
        "\n".join(
            [
                f'data_dir = "{folder / "box"}"',
                "[api]",
                f'socket = "{folder / "api.sock"}"',
                "[[device]]",
                f'url = "{url}"',
                "[bureau]",
                f'endpoints_file = "{bureau.data_dir / ENDPOINTS_FILE}"',
                f'ca_bundle = "{bureau.ready.ca_cert}"',
                f'public_key = "{bureau.ready.bureau_public_key}"',
            ]
        )
        + "\n"
    )
    notify_path = folder / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "daemon", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        ready = time.perf_counter() - start
        time.sleep(2)  # the first device reading, then idle
        rss_kib = _rss_kib(process.pid)
        cpu_before = _cpu_seconds(process.pid)
        time.sleep(idle_seconds)
        idle_cpu = (_cpu_seconds(process.pid) - cpu_before) / idle_seconds
    finally:
        process.terminate()
        process.wait(30)
        notify.close()
    return {"ready_s": ready, "rss_mib": rss_kib / 1024, "idle_cpu": idle_cpu}


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--devices", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qingka-bench-") as tmp:
        folder = Path(tmp)
        with spawn(folder / "bureau", now=ANCHOR) as bureau:
            bureau.admin.add_fault("latency", count=-1, latency_ms=BUREAU_MS)
            wall, modeled, trips = single_clearing(bureau, folder, FIRST_INDEX)
            floor = modeled + trips * BUREAU_MS / 1000
            say(f"one clearing: {wall:.3f} s wall; floor {floor:.3f} s =")
            say(f"  device model {modeled:.3f} s + {trips} bureau round trips x {BUREAU_MS} ms")
            say(f"  ratio {wall / floor:.3f} (goal <= 1.10); the box adds {wall - floor:.3f} s")
            many = many_clearings(bureau, folder, args.devices)
            say(f"{args.devices} devices at once: {many:.3f} s, {many / wall:.2f}x one device")
            bureau.admin.clear_faults()
            daemon = daemon_figures(bureau, folder, args.idle_seconds)
    say(f"daemon: READY after {daemon['ready_s']:.2f} s, RSS {daemon['rss_mib']:.1f} MiB,")
    say(f"  idle CPU {daemon['idle_cpu'] * 100:.2f} % of a core over {args.idle_seconds:.0f} s")
    finish(
        "clearing",
        {
            "one_clearing_wall": figure(wall, "s"),
            "one_clearing_floor": figure(floor, "s", bureau_round_trips=trips),
            "one_clearing_ratio": figure(wall / floor, "ratio", "<= 1.10"),
            "many_devices": figure(args.devices, "devices"),
            "many_devices_wall": figure(many, "s"),
            "many_over_one": figure(many / wall, "ratio"),
            "daemon_ready": figure(daemon["ready_s"], "s"),
            "daemon_rss": figure(daemon["rss_mib"], "MiB"),
            "daemon_idle_cpu": figure(daemon["idle_cpu"] * 100, "% of one core"),
        },
    )


if __name__ == "__main__":
    main()
