"""``qingka sim bureau`` (run the simulated bureau) and ``qingka sim bureau-ctl`` (steer it)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from simulators.bureau.app import BureauSimulator
from simulators.bureau.ctl import AdminCallError, AdminClient
from simulators.bureau.faults import KINDS
from simulators.bureau.ready import Ready
from simulators.bureau.store import CERT_STATUSES, DECLARATION_STATUSES
from simulators.clock import parse_moment


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bureau`` and ``bureau-ctl`` under ``qingka sim``."""
    add_serve_arguments(
        subparsers.add_parser("bureau", help="run the tax bureau simulator (HTTPS)")
    ).set_defaults(handler=serve)
    ctl = subparsers.add_parser("bureau-ctl", help="steer a running bureau simulator")
    ctl.add_argument("--data", required=True, type=Path, help="the simulator's data directory")
    actions = ctl.add_subparsers(dest="action", metavar="ACTION", required=True)
    state = actions.add_parser("state", help="show what the bureau holds about a taxpayer")
    state.add_argument("taxpayer", help="taxpayer ID or catalog index (0: the demo's)")
    declare = actions.add_parser("declaration", help="file, withdraw or spoil a declaration")
    declare.add_argument("taxpayer")
    declare.add_argument("status", choices=DECLARATION_STATUSES)
    declare.add_argument("--period", type=int, help="YYYYMM (default: last month)")
    cert = actions.add_parser("certificate", help="set the device certificate status")
    cert.add_argument("taxpayer")
    cert.add_argument("status", choices=CERT_STATUSES)
    fault = actions.add_parser("fault", help="inject a fault into the next request(s)")
    fault.add_argument("kind", choices=KINDS)
    fault.add_argument("--count", type=int, default=1, help="requests affected (-1: all)")
    fault.add_argument("--service", default="", help="only requests of this service id")
    fault.add_argument("--latency-ms", type=int, default=0)
    fault.add_argument("--status", type=int, default=503)
    fault.add_argument("--chunk", type=int, default=16)
    fault.add_argument("--interval-ms", type=int, default=200)
    fault.add_argument("--hold-s", type=float, default=30.0)
    actions.add_parser("clear-faults", help="drop every waiting fault")
    clock = actions.add_parser("clock", help="move the bureau's clock")
    clock.add_argument("now", help="e.g. 2026-11-05T10:00")
    expire = actions.add_parser("expire-sessions", help="end a taxpayer's sessions")
    expire.add_argument("taxpayer")
    reset = actions.add_parser("reset", help="forget everything about a taxpayer")
    reset.add_argument("taxpayer")
    actions.add_parser("stats", help="requests received per service")
    ctl.set_defaults(handler=control)


def add_serve_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of running the simulator to ``parser``."""
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port (0: any free one)")
    parser.add_argument("--data", required=True, type=Path, help="directory for state and CA")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--admin-port", type=int, default=0, help="loopback admin API port")
    parser.add_argument("--now", help="bureau time to start from, e.g. 2026-11-05T10:00")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser


def serve(args: argparse.Namespace) -> int:
    """Run the simulator until SIGTERM or SIGINT."""
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    simulator = BureauSimulator(
        args.data,
        host=args.host,
        port=args.port,
        admin_port=args.admin_port,
        now=parse_moment(args.now) if args.now else None,
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    ready = simulator.start()
    # The first stdout line is the machine-readable readiness notice (see ready.py).
    print(ready.to_json(), flush=True)
    print(
        f"bureau simulator at {ready.url} (CA {ready.ca_cert}), admin API {ready.admin_url},"
        f" bureau time {simulator.clock.now():%Y-%m-%d %H:%M}",
        file=sys.stderr,
        flush=True,
    )
    while not stop.wait(1.0):
        pass
    simulator.stop()
    return 0


def control(args: argparse.Namespace) -> int:
    """Run one ``bureau-ctl`` action and print its result as JSON."""
    try:
        admin = AdminClient(Ready.from_dir(args.data).admin_url)
    except (OSError, ValueError) as exc:
        print(f"no running bureau simulator in {args.data}: {exc}", file=sys.stderr)
        return 2
    try:
        result = _act(admin, args)
    except AdminCallError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _act(admin: AdminClient, args: argparse.Namespace) -> Any:
    action = args.action
    if action == "state":
        return admin.state(args.taxpayer)
    if action == "declaration":
        admin.set_declaration(args.taxpayer, args.status, args.period)
    elif action == "certificate":
        admin.set_certificate(args.taxpayer, args.status)
    elif action == "fault":
        admin.add_fault(
            args.kind,
            count=args.count,
            service=args.service,
            latency_ms=args.latency_ms,
            status=args.status,
            chunk=args.chunk,
            interval_ms=args.interval_ms,
            hold_s=args.hold_s,
        )
    elif action == "clear-faults":
        admin.clear_faults()
    elif action == "clock":
        admin.set_clock(args.now)
    elif action == "expire-sessions":
        return {"expired": admin.expire_sessions(args.taxpayer)}
    elif action == "reset":
        admin.reset(args.taxpayer)
    else:
        return admin.stats()
    return {"ok": True}
