"""Start the kiosk: settings, Kivy set-up, font, then the app's loop."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk_ui import boot
from kiosk_ui.fonts import FontMissing, find_font
from kiosk_ui.settings import KioskSettings, SettingsError, load


def on_desktop() -> bool:
    """Tell whether a desktop session runs (then the kiosk opens a window, not full screen)."""
    return bool(os.environ.get("XDG_CURRENT_DESKTOP"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the kiosk's options to ``parser``."""
    parser.add_argument("--config", type=Path, help="configuration file (/etc/qingka/qingka.toml)")
    parser.add_argument("--socket", type=Path, help="the daemon's API socket")
    parser.add_argument(
        "--windowed", action="store_true", help="open an 800x480 window instead of full screen"
    )


def launch(settings: KioskSettings, fullscreen: bool) -> int:
    """Open the kiosk with ``settings`` and run it until its window closes."""
    try:
        font = find_font(settings.font)
    except FontMissing as exc:
        print(exc, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    boot.prepare(fullscreen=fullscreen)
    boot.register_font(font)
    from kiosk_ui.app import KioskApp  # noqa: PLC0415 - Kivy may load only after prepare()

    KioskApp(settings).run()
    return 0


def run(config: Path | None, socket: Path | None, windowed: bool) -> int:
    """Run the kiosk with the box's settings; return the exit code."""
    try:
        settings = load(config, socket)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    return launch(settings, settings.fullscreen and not windowed and not on_desktop())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the kiosk."""
    parser = argparse.ArgumentParser(prog="python -m kiosk_ui", description="QingKa Box kiosk")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.config, args.socket, args.windowed)
