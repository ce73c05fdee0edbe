"""``qingka sim ...``: run a simulator in the foreground (for training, the demo and tests)."""

from __future__ import annotations

import argparse
import importlib

# Simulator commands, each a module with ``register(subparsers)`` under ``qingka sim``.
SIM_MODULES: tuple[str, ...] = ("simulators.bureau.cli", "simulators.device.cli")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``qingka sim``."""
    parser = subparsers.add_parser("sim", help="run a device or bureau simulator")
    sims = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", required=True)
    for name in SIM_MODULES:
        importlib.import_module(name).register(sims)
