"""Shared helpers of the command line: language, JSON output, plain error lines, exit codes."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# Exit codes of every qingka command.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and its outcome is a failure (see the command's help)
EXIT_USAGE = 2  # argparse's own code for bad arguments
EXIT_DEVICE = 3  # the device could not be read or refused
EXIT_STORAGE = 4  # the data partition or a backup could not be used


def default_lang() -> str:
    """Return the language of messages: ``QINGKA_LANG`` if set to en, else Chinese."""
    return "en" if os.environ.get("QINGKA_LANG", "").lower().startswith("en") else "zh"


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON with Chinese kept readable."""
    print(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))


def print_error(text: str) -> None:
    """Print a plain error line to standard error."""
    print(text, file=sys.stderr)
