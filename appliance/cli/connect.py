"""How a command finds the box: its configuration, its daemon, and how it says it cannot.

Every command that works with the daemon when one runs, and on its own otherwise, decides the
same way: the socket from ``--socket``, else the configuration's, else the default; the daemon
is *running* (it answers), *busy* (it is there but turns new clients away) or *absent*.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient, DaemonStatus, status_of
from appliance.api.protocol import default_socket_path
from appliance.cli.output import EXIT_USAGE, default_lang, print_error, print_json
from appliance.daemon.config import DEFAULT_PATH, ConfigError, DaemonConfig, load_config

CONFIG_ENV = "QINGKA_CONFIG"


def default_config_path() -> Path:
    """Return ``QINGKA_CONFIG`` or the box's configuration file."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_PATH)


def socket_argument(text: str) -> Path:
    """Return the path of ``--socket`` (argparse type); an empty one is refused, not "."."""
    if not text.strip():
        raise argparse.ArgumentTypeError("套接字路径为空 / the socket's path is empty [C-001]")
    return Path(text)


def config_file_argument(text: str) -> Path:
    """Return the path of ``--config`` (argparse type); an empty one is refused, not "."."""
    if not text:
        raise argparse.ArgumentTypeError(
            "配置文件路径为空 / the configuration file's path is empty [C-001]"
        )
    return Path(text)


def path_argument(text: str) -> Path:
    """Return a path argument (argparse type); an empty one is refused, never taken as "."."""
    if not text:
        raise argparse.ArgumentTypeError("路径为空 / the path is empty")
    return Path(text)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --config and --socket (shared by the commands that talk to the daemon)."""
    parser.add_argument(
        "--config",
        type=config_file_argument,
        default=None,
        help=f"configuration file (default: {CONFIG_ENV} or {DEFAULT_PATH})",
    )
    parser.add_argument("--socket", type=socket_argument, help="the daemon's API socket")


def config_path(args: argparse.Namespace) -> Path:
    """Return the configuration file the command was pointed at."""
    given = getattr(args, "config", None)
    return Path(given) if given is not None else default_config_path()


def load_or_fail(args: argparse.Namespace) -> DaemonConfig | None:
    """Load the configuration, or print why not (in the run's language) and return None."""
    try:
        return load_config(config_path(args))
    except ConfigError as exc:
        fail(args, exc.code, config_error_text(exc, "zh"), config_error_text(exc, "en"), 0)
        return None


def config_error_text(exc: ConfigError, lang: str) -> str:
    """Return a configuration problem as one sentence of ``lang``."""
    if lang == "zh":
        return f"配置有误：{exc.located('zh')} [{exc.code}]"
    return f"Configuration problem: {exc.located('en')} [{exc.code}]"


def daemon_socket(args: argparse.Namespace) -> tuple[Path | None, str]:
    """Return the daemon's socket and whether the daemon is running, busy or absent."""
    path: Path | None = getattr(args, "socket", None)
    if path is None:
        try:
            path = load_config(config_path(args)).api_socket
        except ConfigError:
            path = Path(default_socket_path())
    return path, daemon_state(path)


def from_daemon(args: argparse.Namespace, cmd: str, **params: Any) -> tuple[str, Any]:
    """Ask the daemon ``cmd``: ("running", result), or ("busy" | "absent", None).

    Raises ApiError for an error the daemon answered.
    """
    path, state = daemon_socket(args)
    if state != "running" or path is None:
        return state, None
    with ApiClient(path) as client:
        return state, client.call(cmd, **params)


def daemon_state(path: Path) -> str:
    """Return "running", "busy" or "absent" for the daemon at ``path``.

    A socket this user may not use counts as absent here: the command then works on its own,
    and the box's owner lock refuses it if a daemon holds the box.
    """
    state = status_of(path, timeout=3.0)
    if state is DaemonStatus.RUNNING:
        return "running"
    if state is DaemonStatus.BUSY:
        return "busy"
    return "absent"


def fail(args: argparse.Namespace, code: str, zh: str, en: str, exit_code: int) -> int:
    """Say why the command cannot go on (JSON with ``--json``); return ``exit_code``."""
    lang = default_lang()
    text = zh if lang == "zh" else en
    if getattr(args, "json", False):
        print_json({"error": {"code": code, "message": text}})
    print_error(text if text.endswith("]") else f"{text} [{code}]")
    return exit_code or EXIT_USAGE
