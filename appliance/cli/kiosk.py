"""``qingka kiosk``: the touchscreen app (full screen on the box, a window on a desktop)."""

from __future__ import annotations

import argparse

from kiosk_ui.main import add_arguments
from kiosk_ui.main import run as run_kiosk


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kiosk``."""
    parser = subparsers.add_parser("kiosk", help="run the touchscreen app (一键清卡)")
    add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the kiosk (Kivy loads only now, so other commands stay light)."""
    return run_kiosk(args.config, args.socket, args.windowed)
