"""Shared helpers of the command line: language, JSON output, plain error lines, exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# Exit codes of every qingka command (the README lists them).
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and its outcome is a failure (see the command's help)
EXIT_USAGE = 2  # bad arguments or configuration (argparse's own code for bad arguments)
EXIT_DEVICE = 3  # the device could not be read or refused
EXIT_STORAGE = 4  # the data partition or a backup could not be used
EXIT_BUSY = 5  # another process owns the box's devices, or the daemon is too busy to answer
EXIT_PIPE = 141  # standard output was closed early (| head): 128 + SIGPIPE, as a shell says

_chosen: str | None = None


def choose_lang(lang: str | None) -> None:
    """Use ``lang`` (from ``--lang``) for every message of this run."""
    global _chosen  # noqa: PLW0603 - one run, one language, set from the command line
    _chosen = lang


def default_lang(configured: str | None = None) -> str:
    """Return the language: ``--lang``, else ``QINGKA_LANG``, else the config's, else zh."""
    if _chosen in ("zh", "en"):
        return _chosen
    env = os.environ.get("QINGKA_LANG", "").lower()
    if env.startswith("en"):
        return "en"
    if env.startswith("zh"):
        return "zh"
    return configured if configured in ("zh", "en") else "zh"


def say(zh: str, en: str, lang: str | None = None) -> str:
    """Return the sentence in the language of this run."""
    return zh if (lang or default_lang()) == "zh" else en


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON with Chinese kept readable."""
    print(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))


def print_error(text: str) -> None:
    """Print a plain error line to standard error."""
    print(text, file=sys.stderr)
