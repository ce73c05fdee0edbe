"""Fleet, box side: health size, bytes a day on a metered link, CPU per health, daemon RSS.

* Health payload bytes for 2 and 20 devices (real readings of simulated devices). Goal: 2 → ≤ 1 KiB.
* Bytes per day per box at the default intervals, TLS and MQTT included: the real publisher
  talks to a real mosquitto through a counting TCP relay. Measured: the connection's start
  (TLS handshake, CONNECT, subscriptions, birth, retained state, discovery) and the bytes of each
  health exchange (PUBLISH and its PUBACK, in TLS records); a day = one connection + 1440 health
  messages. TCP/IP headers (52 bytes a segment, each record one segment plus an ACK) are
  estimated apart. Goal: ≤ 1 MiB/day.
* Box CPU per health message (building, encoding and publishing it; the process's CPU time).
* RSS of the real daemon with MQTT on (a simulated device, health every 60 s), and off. Goal:
  ≤ 60 MiB.

    python -m bench.fleet_box [--messages 40]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from appliance.api.client import is_running
from appliance.clearing.journal import Journal
from appliance.clearing.pins import PinGuard
from appliance.demo.fleet_broker import FleetBroker
from appliance.devices.snapshot import read_snapshot
from appliance.devices.urls import open_device
from appliance.health.config import FleetConfig
from appliance.health.payloads import BoxCounters, LastJob, build_health, dumps
from appliance.health.publisher import FleetPublisher
from appliance.health.system import read_system
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.database import Database
from bench.report import figure, finish, say
from simulators import catalog
from simulators.bureau.tls import ensure_tls

DAY_S = 86_400
DEFAULT_HEALTH_S = 60.0
TCPIP_HEADER = 52  # IPv4 20 + TCP 20 + timestamps 12
ANCHOR = "2026-11-05T10:00:00"


class CountingRelay:
    """A TCP relay that counts bytes and writes (segments) each way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.up = self.down = self.up_writes = self.down_writes = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> tuple[int, int, int, int]:
        """Return (bytes up, bytes down, writes up, writes down) so far."""
        with self.lock:
            return self.up, self.down, self.up_writes, self.down_writes

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for a, b, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(a, b, up), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with self.lock:
                    if up:
                        self.up, self.up_writes = self.up + len(data), self.up_writes + 1
                    else:
                        self.down, self.down_writes = self.down + len(data), self.down_writes + 1
                sink.sendall(data)


def device_rows(count: int, scenarios: list[str] | None = None) -> list[dict[str, Any]]:
    """Return engine status rows of ``count`` simulated devices."""
    rows = []
    # The one PIN path, over a journal of its own that lives as long as this reading.
    pins = PinGuard(Journal(Database(Path(":memory:"))), None)
    for n in range(count):
        scenario = scenarios[n] if scenarios else "needs-clearing"
        url = f"sim://{scenario}?index={n}&now={ANCHOR}&latency=0"
        with open_device(url) as device:
            snapshot = read_snapshot(
                device, lambda identity: pins.verify(device, identity.device_no, DEFAULT_PIN)
            )
        rows.append(
            {
                "url": url,
                "present": True,
                "clearing": False,
                "error": None,
                "last_outcome": None,
                "device": snapshot.to_json(),
            }
        )
    return rows


def health_bytes(rows: list[dict[str, Any]], data_dir: Path) -> int:
    """Return the size of a realistic health document for ``rows``."""
    counters = BoxCounters(outbox_depth=0, reconnects=3, bureau_at="2026-11-05T09:58:01.123+08:00")
    for row in rows:
        number = row["device"]["device_no"]
        counters.last_jobs[number] = LastJob(
            f"box-000123-9f3a12bc-{len(counters.last_jobs) + 1}",
            "done",
            "J-000",
            "2026-10-05T10:01:02.345+08:00",
        )
    health = build_health(
        site="wuhan-jianghan",
        box="box-000123",
        version="0.1.0",
        policy="auto",
        system=read_system(data_dir),
        status={"devices": rows},
        counters=counters,
    )
    return len(dumps(health))


class StaticPort:
    """The daemon's side for the measuring publisher: fixed devices, nothing to clear."""

    def __init__(self, rows: list[dict[str, Any]], data_dir: Path) -> None:
        self.rows = rows
        self.version = "0.1.0"
        self.data_dir = data_dir

    def status(self) -> dict[str, Any]:
        return {"devices": self.rows}

    def clear(self, device: str | None) -> list[str]:
        return []

    def policy(self) -> str:
        return "auto"

    def set_policy(self, policy: str) -> None:
        pass

    def refresh(self) -> None:
        pass

    def update(self, url: str, sha256: str) -> dict[str, Any]:
        return {}

    def diagnostics(self, lines: int) -> dict[str, Any]:
        return {}

    def outcomes_after(self, after: int) -> list[dict[str, Any]]:
        return []

    def last_outcome_id(self) -> int:
        return 0


def wire_bytes(
    broker: FleetBroker, rows: list[dict[str, Any]], folder: Path, messages: int
) -> dict[str, float]:
    """Measure a connection's start and each health exchange through the counting relay."""
    box = "box-wire"
    identity = broker.add_box(box)
    relay = CountingRelay(("127.0.0.1", broker.password_port))
    interval = 0.25
    config = FleetConfig(
        host="localhost",
        port=relay.port,
        ca_file=broker.ca_file,
        site="wuhan-jianghan",
        box_id=box,
        password=identity.password,
        health_interval_s=interval,
    )
    publisher = FleetPublisher(config, StaticPort(rows, folder), folder / "outbox.db")
    publisher.start()
    deadline = time.monotonic() + 20
    while publisher.last_publish is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the start: handshake, birth, retained state, discovery, first health
    start = relay.snapshot()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(interval * messages)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    end = relay.snapshot()
    publisher.stop()
    sent = messages  # the timer ran `messages` intervals
    per = [(e - s) / sent for s, e in zip(start, end, strict=True)]
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / sent
    return {
        "start_bytes": float(start[0] + start[1]),
        "start_writes": float(start[2] + start[3]),
        "per_health_bytes": per[0] + per[1],
        "per_health_writes": per[2] + per[3],
        "cpu_s": cpu,
    }


def daemon_rss(broker: FleetBroker | None, folder: Path) -> float:
    """Return the RSS (MiB) of the real daemon, ready and reporting, with or without [fleet]."""
    folder.mkdir(parents=True, exist_ok=True)
    taxpayer = catalog.taxpayer(0)
    lines = [
        f'data_dir = "{folder / "data"}"',
        "[api]",
        f'socket = "{folder / "api.sock"}"',
        "[[device]]",
        f'url = "sim://needs-clearing?state={folder / "dev.json"}&now={ANCHOR}&latency=0"',
        f'taxpayer_id = "{taxpayer.taxpayer_id}"',
        "[bureau]",
        'base_url = "https://127.0.0.1:9"',
        f'ca_bundle = "{ensure_tls(folder, ["127.0.0.1"]).ca_cert}"',
        'public_key = "04' + "11" * 64 + '"',
        "",
    ]
    fleet = ""
    if broker is not None:
        broker.add_box("box-rss")
        fleet = broker.box_config("box-rss", "wuhan-jianghan")
    (folder / "qingka.toml").write_text("\n".join(lines) + fleet)
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "daemon", "--config", str(folder / "qingka.toml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not is_running(folder / "api.sock") and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(3.0)  # the device read, the first health and discovery
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    """Run the measurements and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_box", description=__doc__)
    parser.add_argument("--messages", type=int, default=40, help="health messages to measure")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qingka-bench-fleet-box-"))
    broker = FleetBroker(folder / "broker", certificates=False)
    try:
        two = device_rows(2, ["multi-type", "needs-clearing"])
        twenty = device_rows(20)
        size2, size20 = health_bytes(two, folder), health_bytes(twenty, folder)
        say(f"health: {size2} bytes with 2 devices, {size20} with 20")
        broker.start()
        wire = wire_bytes(broker, two, folder, args.messages)
        per_day = DAY_S / DEFAULT_HEALTH_S
        day = wire["start_bytes"] + per_day * wire["per_health_bytes"]
        segments = wire["start_writes"] + per_day * wire["per_health_writes"]
        day_tcpip = day + 2 * segments * TCPIP_HEADER
        say(
            f"wire: start {wire['start_bytes']:.0f} B, each health exchange "
            f"{wire['per_health_bytes']:.0f} B (TLS+MQTT) → {day / 1024:.0f} KiB/day; "
            f"with TCP/IP headers ~{day_tcpip / 1024:.0f} KiB/day"
        )
        say(f"CPU per health message: {wire['cpu_s'] * 1000:.2f} ms")
        rss_on = daemon_rss(broker, folder / "rss-on")
        rss_off = daemon_rss(None, folder / "rss-off")
        say(f"daemon RSS: {rss_on:.1f} MiB with MQTT, {rss_off:.1f} MiB without")
        finish(
            "fleet_box",
            {
                "health_bytes_2_devices": figure(size2, "bytes", "<= 1024"),
                "health_bytes_20_devices": figure(size20, "bytes"),
                "bytes_per_day_tls_mqtt": figure(day / 1024 / 1024, "MiB/day", "<= 1"),
                "bytes_per_day_with_tcpip_estimate": figure(day_tcpip / 1024 / 1024, "MiB/day"),
                "connection_start_bytes": figure(wire["start_bytes"], "bytes"),
                "health_exchange_bytes": figure(wire["per_health_bytes"], "bytes"),
                "cpu_per_health_ms": figure(wire["cpu_s"] * 1000, "ms"),
                "daemon_rss_mqtt_on": figure(rss_on, "MiB", "<= 60"),
                "daemon_rss_mqtt_off": figure(rss_off, "MiB"),
                "rss_ratio_on_off": figure(rss_on / rss_off, "ratio"),
            },
        )
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
