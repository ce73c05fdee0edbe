"""``qingka daemon``: run the box's service (under systemd on the box)."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.connect import config_error_text
from appliance.cli.output import EXIT_OK, EXIT_USAGE, default_lang, print_error
from appliance.daemon import logs
from appliance.daemon.config import DEFAULT_PATH, ConfigError, load_config
from appliance.daemon.service import run_daemon


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``daemon``."""
    parser = subparsers.add_parser("daemon", help="run the clearing service")
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_PATH, help=f"configuration file ({DEFAULT_PATH})"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the configuration and serve until stopped."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_error(config_error_text(exc, default_lang()))
        return EXIT_USAGE
    logs.setup()
    run_daemon(config)
    return EXIT_OK
