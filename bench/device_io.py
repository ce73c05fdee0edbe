"""Device I/O: codec throughput (CPython and MicroPython) and the driver's per-command overhead.

The driver's overhead is measured against the simulator's latency model in the same run: the
simulated device sleeps exactly what its model says a real UKey takes, so wall time minus the
modeled time is what the host side (driver, pyusb, codecs) adds. Goal: at most 5 % + 1 ms per
command.

    python -m bench.device_io [--commands N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from bench.codec_work import one_exchange
from bench.report import figure, finish, say
from simulators.device import open_backend

ROOT = Path(__file__).resolve().parents[1]
MICROPYTHON = Path(sys.executable).parent / "micropython"
NOW = "2026-11-05T10:00"


def codec_cpython(seconds: float) -> float:
    """Return read_monitor exchanges encoded and decoded per second on CPython."""
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        one_exchange()
        count += 1
    return count / (time.perf_counter() - start)


def codec_micropython(seconds: float) -> float | None:
    """Return the same figure under the MicroPython unix port (None if it is not installed)."""
    if not MICROPYTHON.exists():
        return None
    result = subprocess.run(
        [str(MICROPYTHON), str(ROOT / "bench" / "mp_codec.py"), str(ROOT), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 10 + 30,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return float(data["exchanges"]) / float(data["seconds"])


def driver_overhead(commands: int) -> tuple[list[float], list[float]]:
    """Return per-command (wall, modeled) seconds for a mix of driver calls at realistic latency."""
    backend = open_backend("needs-clearing", {"now": NOW, "latency": "1"})
    device = open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)
    walls, modeled = [], []
    with device:
        device.identify()
        device.verify_pin(DEFAULT_PIN)
        calls: list[Callable[[], object]] = [
            device.read_clock,
            device.identify,
            lambda: device.monitor("026"),
        ]
        for index in range(commands):
            call = calls[index % len(calls)]
            before = backend.latency.modeled_seconds
            start = time.perf_counter()
            call()
            walls.append(time.perf_counter() - start)
            modeled.append(backend.latency.modeled_seconds - before)
    return walls, modeled


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    cpy = codec_cpython(args.seconds)
    say(f"codec, CPython:      {cpy:10.0f} read_monitor exchanges/s (encode + decode, all layers)")
    mpy = codec_micropython(args.seconds)
    if mpy is not None:
        say(f"codec, MicroPython:  {mpy:10.0f} exchanges/s (unix port; {cpy / mpy:.1f}x slower)")

    walls, modeled = driver_overhead(args.commands)
    overheads = [w - m for w, m in zip(walls, modeled, strict=True)]
    allowed = [0.05 * m + 0.001 for m in modeled]
    within = sum(o <= a for o, a in zip(overheads, allowed, strict=True))
    mean_wall, mean_model = statistics.fmean(walls), statistics.fmean(modeled)
    median_over = statistics.median(overheads)
    p95_over = sorted(overheads)[int(0.95 * (len(overheads) - 1))]
    say(f"driver, {len(walls)} commands at realistic latency:")
    say(f"  modeled device time  {mean_model * 1000:7.2f} ms per command (mean)")
    say(f"  wall time            {mean_wall * 1000:7.2f} ms per command (mean)")
    say(f"  host overhead        {median_over * 1000:7.2f} ms median, {p95_over * 1000:.2f} ms p95")
    say(f"  within 5 % + 1 ms    {within} of {len(walls)} commands")

    figures = {
        "codec_cpython": figure(cpy, "exchanges/s"),
        "driver_wall_over_modeled": figure(
            mean_wall / mean_model, "ratio", "<= 1.05 + 1 ms/command", baseline="simulator model"
        ),
        "driver_overhead_median": figure(median_over * 1000, "ms/command", "<= 5 % + 1 ms"),
        "driver_overhead_p95": figure(p95_over * 1000, "ms/command"),
        "commands_within_goal": figure(within / len(walls), "fraction", "1.0"),
    }
    if mpy is not None:
        figures["codec_micropython"] = figure(mpy, "exchanges/s")
        figures["codec_cpython_over_micropython"] = figure(cpy / mpy, "ratio")
    finish("device_io", figures)


if __name__ == "__main__":
    main()
