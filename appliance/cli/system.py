"""``qingka system``: files the box's operating system takes from this code (udev rules)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.cli.output import EXIT_FAILED, EXIT_OK, print_error
from appliance.devices import udev_rules

# A rules file is a few KiB; the cap keeps a wrong path from being read whole.
MAX_RULES_BYTES = 256 * 1024


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``system``."""
    parser = subparsers.add_parser("system", help="files for the box's operating system")
    commands = parser.add_subparsers(dest="system_command", metavar="WHAT", required=True)
    rules = commands.add_parser(
        "udev-rules", help=f"print the udev rules ({udev_rules.RULES_NAME}) for the tax devices"
    )
    rules.add_argument(
        "--check", type=Path, metavar="FILE", help="exit 1 if FILE differs from the rules"
    )
    rules.set_defaults(handler=run_udev_rules)


def run_udev_rules(args: argparse.Namespace) -> int:
    """Print the rules, or compare them with a file."""
    text = udev_rules.render()
    if args.check is None:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        with args.check.open("rb") as handle:
            current = handle.read(MAX_RULES_BYTES + 1).decode("utf-8", "replace")
    except OSError as exc:
        print_error(f"无法读取 {args.check} / cannot read {args.check}: {exc.strerror}")
        return EXIT_FAILED
    if current != text:
        print_error(
            f"{args.check} 与设备表不一致，请重新生成 / {args.check} differs from the device "
            f"table: qingka system udev-rules > {args.check}"
        )
        return EXIT_FAILED
    return EXIT_OK
