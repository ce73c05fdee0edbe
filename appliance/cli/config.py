"""``qingka config example | check FILE``: a commented example, and a check that starts nothing."""

from __future__ import annotations

import argparse
from importlib import resources

from appliance.cli.connect import config_error_text, config_file_argument
from appliance.cli.output import EXIT_OK, EXIT_USAGE, default_lang, print_error, say
from appliance.daemon.config import ConfigError, check_startable, load_config

EXAMPLE = "qingka.example.toml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``config`` with ``example`` and ``check``."""
    parser = subparsers.add_parser("config", help="print an example configuration, or check a file")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    example = actions.add_parser("example", help="print a commented example configuration")
    example.set_defaults(handler=run_example)
    check = actions.add_parser("check", help="check a configuration file; start nothing")
    check.add_argument(
        "file", type=config_file_argument, help="the file, e.g. /etc/qingka/qingka.toml"
    )
    check.set_defaults(handler=run_check)


def example_text() -> str:
    """Return the example configuration shipped with the box."""
    return resources.files("appliance.daemon").joinpath(EXAMPLE).read_text("utf-8")


def run_example(args: argparse.Namespace) -> int:
    """Print the example."""
    print(example_text(), end="")
    return EXIT_OK


def run_check(args: argparse.Namespace) -> int:
    """Check every key of the file (the daemon's and the kiosk's) and say what is wrong.

    The daemon's own start checks run too: a file that passes here starts the daemon.
    """
    lang = default_lang()
    try:
        config = load_config(args.file)
        check_startable(config)
    except ConfigError as exc:
        print_error(config_error_text(exc, lang))
        return EXIT_USAGE
    from kiosk_ui.settings import SettingsError, load  # noqa: PLC0415 - no Kivy: settings only

    try:
        load(args.file)
    except SettingsError as exc:
        print_error(
            say(f"配置有误：{exc.key}：{exc.problem}", f"Configuration problem: {exc}", lang)
        )
        return EXIT_USAGE
    print(
        say(
            f"配置正确：{len(config.devices)} 台设备，策略 {config.policy}，"
            f"数据目录 {config.data_dir}",
            f"The configuration is good: {len(config.devices)} device(s), policy "
            f"{config.policy}, data in {config.data_dir}",
            lang,
        )
    )
    return EXIT_OK
