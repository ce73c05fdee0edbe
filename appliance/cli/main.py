"""Entry point of ``qingka``: builds the argument parser from the command modules and runs one.

Each command lives in its own module with ``register(subparsers)``, which adds its parser and
sets ``handler`` (a function taking the parsed arguments and returning the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Command modules, in the order ``qingka --help`` lists them.
COMMAND_MODULES = (
    "appliance.cli.devices",
    "appliance.cli.clear",
    "appliance.cli.status",
    "appliance.cli.backup",
    "appliance.cli.daemon",
    "appliance.cli.demo",
    "appliance.cli.sim",
    "appliance.cli.kiosk",
    "appliance.cli.update",
    "appliance.cli.system",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="qingka", description="QingKa Box (清卡盒): monthly clearing of tax-control devices."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qingka`` with ``argv`` and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
