"""Entry point of ``qingka``: the commands, each loaded only when it runs.

Each command lives in a module with ``register(subparsers)``, which adds its parser and sets
``handler`` (a function taking the parsed arguments and returning the exit code). Only the module
of the command being run is imported: ``qingka daemon`` under systemd never loads the
simulators, Kivy or the fleet tools. The others are listed with their one-line help.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from appliance.cli.output import EXIT_PIPE, EXIT_USAGE, choose_lang

# Every command, in the order ``qingka --help`` lists them: (name, module, one-line help).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "devices",
        "appliance.cli.devices",
        "list the tax devices plugged in, and the configured ones",
    ),
    ("device-info", "appliance.cli.devices", "show a device's identity, stage and lock date"),
    ("clear", "appliance.cli.clear", "clear the tax device(s) now (清卡)"),
    ("status", "appliance.cli.status", "show every device's stage and lock date"),
    ("history", "appliance.cli.status", "show past clearings and their outcomes"),
    ("backup", "appliance.cli.backup", "list, verify or export the period backups"),
    ("config", "appliance.cli.config", "print an example configuration, or check a file"),
    ("daemon", "appliance.cli.daemon", "run the clearing service"),
    ("demo", "appliance.cli.demo", "run a clearing on simulated device and bureau"),
    ("sim", "appliance.cli.sim", "run a device or bureau simulator"),
    ("kiosk", "appliance.cli.kiosk", "run the touchscreen app (一键清卡)"),
    ("fleet", "appliance.cli.fleet", "watch the fleet of boxes, send them commands, collect"),
    ("provision", "appliance.cli.provision", "make, sign, check and apply provisioning sticks"),
    (
        "update",
        "appliance.cli.update",
        "install an update bundle, check health, mark the slot good",
    ),
    ("system", "appliance.cli.system", "system files generated from the code (udev rules)"),
)


def version() -> str:
    """Return the installed version of the box's software."""
    try:
        return metadata.version("qingka-box")
    except metadata.PackageNotFoundError:
        return "unknown"


def _chosen_command(argv: Sequence[str]) -> str | None:
    names = {name for name, _, _ in COMMANDS}
    for arg in argv:
        if arg in names:
            return arg
        if not arg.startswith("-") and arg not in ("zh", "en"):
            return None  # an unknown word: argparse will say so
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the parser, with the command named in ``argv`` (None: every command) loaded."""
    parser = argparse.ArgumentParser(
        prog="qingka", description="QingKa Box (清卡盒): monthly clearing of tax-control devices."
    )
    parser.add_argument("-V", "--version", action="version", version=f"qingka {version()}")
    parser.add_argument(
        "--lang",
        dest="global_lang",
        choices=("zh", "en"),
        help="language of messages (default: QINGKA_LANG, then the configuration, then zh)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = None if argv is None else _chosen_command(argv)
    modules = {name: module for name, module, _ in COMMANDS}
    for name, module, text in COMMANDS:
        if name in subparsers.choices:
            continue  # registered with a sibling from the same module
        if argv is None or module == modules.get(chosen or ""):
            importlib.import_module(module).register(subparsers)
        else:
            subparsers.add_parser(name, help=text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``qingka`` with ``argv`` and return its exit code.

    A reader that stops early (``qingka backup list | head``) closes the pipe: the command ends
    quietly with 141, as a shell's own tools do on SIGPIPE, instead of a traceback. Python
    ignores SIGPIPE, so the write (or the flush of what is buffered) raises BrokenPipeError;
    standard output then points at /dev/null so the flush at exit cannot raise it again.
    """
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # here, while a closed pipe can still be handled
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_PIPE


def _discard_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # not a real file (tests capture it): nothing is flushed to a closed pipe then


def _run(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    choose_lang(getattr(args, "lang", None) or args.global_lang)
    handler = getattr(args, "handler", None)
    if handler is None:  # a listed command whose module was not loaded: cannot happen
        print(f"qingka: {args.command}: not available", file=sys.stderr)
        return EXIT_USAGE
    try:
        code: int = handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
