"""``qingka sim device SCENARIO``: build (or load) a simulated device and show what it holds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from appliance.calendar import derive_status
from appliance.devices.models import FAMILY_NAMES, to_date, to_datetime
from appliance.protocol import commands
from simulators.device.opener import open_backend
from simulators.device.scenarios import SCENARIOS
from simulators.device.usb_backend import SimBackend, describe


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``qingka sim device``."""
    parser = subparsers.add_parser(
        "device",
        help="show a simulated tax device (scenario state, monitor data per invoice type)",
        description="Scenarios: " + "; ".join(f"{s.name}: {s.summary}" for s in SCENARIOS.values()),
    )
    parser.add_argument("scenario", choices=list(SCENARIOS), metavar="SCENARIO")
    parser.add_argument("--state", help="device state file: loaded if present, else written")
    parser.add_argument("--now", help="device clock at the anchor, e.g. 2026-11-05T10:00")
    parser.add_argument("--index", help="simulated taxpayer number (catalog index)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the scenario's device; exit 2 on a bad option."""
    options = {"latency": "0"}
    for name in ("state", "now", "index"):
        value = getattr(args, name)
        if value is not None:
            options[name] = str(value)
    try:
        backend = open_backend(args.scenario, options)
    except ValueError as exc:
        print(f"qingka sim device: {exc}", file=sys.stderr)
        return 2
    print(render(args.scenario, backend))
    return 0


def _day(value: int) -> str:
    day = to_date(value)
    return day.isoformat() if day else "-"


def render(scenario: str, backend: SimBackend) -> str:
    """Return the plain-text picture of a simulated device."""
    state: dict[str, Any] = backend.device.state
    who = state["identity"]
    usb = describe(backend)
    clock = backend.device.clock()
    kind = "general" if who["taxpayer_kind"] == commands.KIND_GENERAL else "small-scale"
    flags = [name for name, on in sorted(state["flags"].items()) if on]
    if who["training"]:
        flags.insert(0, "training")
    lines = [
        f"scenario  {scenario}: {SCENARIOS[scenario].summary}",
        f"device    {who['device_no']}  {FAMILY_NAMES.get(who['family'], who['family'])}"
        f"  firmware {who['firmware']}  cert {who['cert_serial']}",
        f"taxpayer  {who['taxpayer_id']}  {who['taxpayer_name']}  region {who['region']}  {kind}",
        f"usb       {usb['vid_pid']}  {usb['manufacturer']}  {usb['product']}"
        f"  serial {usb['serial']}",
        f"clock     {clock.isoformat(sep=' ')}",
        f"pin       {state['pin_tries_left']} of {state['pin_tries_max']} tries left",
        f"flags     {', '.join(flags) if flags else 'none'}",
    ]
    for code in sorted(state["types"]):
        record = state["types"][code]
        monitor = record["monitor"]
        lock = to_datetime(monitor["kpjzsj"])
        assert lock is not None  # check_state refuses a state without a lock moment
        status = derive_status(code, clock, lock, to_date(monitor["zxbsrq"]))
        if record["summary"] is None:
            summary = "none"
        elif record["cleared"]:
            summary = f"{record['summary']['period']} cleared"
        else:
            summary = f"{record['summary']['period']} waiting to be cleared"
        stats = record["stats"]
        lines += [
            f"type {code}  {status.stage.value}{'  LOCKED' if status.locked else ''}"
            f"{'  ZOMBIE' if status.zombie else ''}",
            f"  lock {lock.isoformat(sep=' ')}  window {_day(monitor['bsqsrq'])}"
            f"..{_day(monitor['bszzrq'])}  last report {_day(monitor['zxbsrq'])}",
            f"  offline pending {monitor['offline_pending']}  capacity {monitor['syrl']}"
            f"  single limit {monitor['dzkpxe'] / 100:.2f} yuan  summary {summary}",
            f"  window: issued {stats['issued_count']}"
            f" ({stats['issued_amount'] / 100:.2f} yuan), red {stats['negative_count']},"
            f" void {stats['void_count']}, stock {stats['stock_start']} -> {stats['stock_end']}",
        ]
    return "\n".join(lines)
