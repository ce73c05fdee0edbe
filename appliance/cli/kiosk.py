"""``qingka kiosk``: the touchscreen app (full screen on the box, a window on a desktop)."""

from __future__ import annotations

import argparse

from appliance.cli.output import EXIT_USAGE, print_error, say
from kiosk_ui.main import add_arguments
from kiosk_ui.main import run as run_kiosk


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``kiosk``."""
    parser = subparsers.add_parser("kiosk", help="run the touchscreen app (一键清卡)")
    add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the kiosk (Kivy loads only now, so other commands stay light)."""
    if args.config is not None and not args.config.is_file():
        # Said before Kivy opens a window: a mistyped path must not start an empty kiosk.
        zh = f"没有配置文件 {args.config}（不指定 --config 时使用 /etc/qingka/qingka.toml）"
        en = f"There is no configuration file {args.config} (the default: /etc/qingka/qingka.toml)"
        print_error(say(zh, en))
        return EXIT_USAGE
    return run_kiosk(args.config, args.socket, args.windowed)
