"""``qingka demo``: a whole clearing on simulators, no hardware and no configuration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.cli.output import default_lang
from appliance.clock import ClockError, parse_moment
from appliance.demo.runner import run_demo
from appliance.demo.scenarios import SCENARIOS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    lines = [f"  {name:<24} {s.zh} / {s.en} → {s.expect.value}" for name, s in SCENARIOS.items()]
    parser = subparsers.add_parser(
        "demo",
        help="run a clearing on simulated device and bureau",
        description="Scenarios:\n" + "\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scenario", default="needs-clearing", choices=sorted(SCENARIOS))
    parser.add_argument("--dir", type=Path, help="keep the demo's files in this folder")
    parser.add_argument(
        "--lang", choices=("zh", "en"), help="language (default: QINGKA_LANG or zh)"
    )
    parser.add_argument("--json", action="store_true", help="end with a JSON line of the outcome")
    parser.add_argument(
        "--today",
        metavar="YYYY-MM-DD[THH:MM]",
        help="run as of that day (Beijing time; a day alone means 10:00), e.g. a deadline day",
    )
    parser.add_argument(
        "--fleet", action="store_true", help="a mosquitto and three boxes, then the fleet table"
    )
    parser.add_argument("--keep", action="store_true", help="with --fleet: leave them running")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo."""
    if args.fleet:
        from appliance.demo.fleet import run_fleet_demo  # noqa: PLC0415 - paho only here

        return run_fleet_demo(args.lang or default_lang(), args.dir, args.keep)
    today = None
    if args.today is not None:  # an empty --today is refused, not ignored
        try:
            today = parse_moment(args.today)
        except ClockError as exc:
            print(f"--today: {exc}", file=sys.stderr)
            return 2
    return run_demo(args.scenario, args.lang or default_lang(), args.dir, args.json, today)
