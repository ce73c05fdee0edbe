"""``qingka daemon``: run the box's service (under systemd on the box)."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.connect import config_error_text, config_file_argument
from appliance.cli.output import (
    EXIT_BUSY,
    EXIT_OK,
    EXIT_STORAGE,
    EXIT_USAGE,
    default_lang,
    print_error,
)
from appliance.daemon import logs
from appliance.daemon.config import DEFAULT_PATH, ConfigError, check_startable, load_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``daemon``."""
    parser = subparsers.add_parser("daemon", help="run the clearing service")
    parser.add_argument(
        "--config",
        type=config_file_argument,
        default=DEFAULT_PATH,
        help=f"configuration file ({DEFAULT_PATH})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load the configuration and serve until stopped; a start that fails is one sentence."""
    from appliance.daemon.service import run_daemon  # noqa: PLC0415 - the whole box: only here
    from appliance.daemon.startup import BUSY, STORAGE, StartFailed  # noqa: PLC0415

    lang = default_lang()
    path: Path = args.config
    try:
        config = load_config(path)
        check_startable(config)
    except ConfigError as exc:
        print_error(config_error_text(exc, lang))
        return EXIT_USAGE
    logs.setup()
    try:
        run_daemon(config)
    except ConfigError as exc:
        print_error(config_error_text(exc, lang))
        return EXIT_USAGE
    except StartFailed as exc:
        print_error(exc.text(lang))
        # Under systemd the daemon is restarted after it exits: the code says what kind it was.
        return {BUSY: EXIT_BUSY, STORAGE: EXIT_STORAGE}.get(exc.kind, EXIT_USAGE)
    return EXIT_OK
