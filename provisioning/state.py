"""Anti-rollback: the serial of the last bundle applied, kept where a wipe of config cannot reach.

The serial is recorded twice: in the generation it made (``provisioning.json``, switched in
atomically with the configuration) and in ``provision/state.json`` right after. The last
applied serial is the larger of the two, so a crash between the switch and the state write
still refuses a replay of older bundles, and a stale generation cannot lower it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from provisioning import fileops
from provisioning.errors import Busy

STATE_FILE = "state.json"
LOCK_FILE = "lock"
MAX_STATE_BYTES = 16 * 1024


def read_state(state_dir: Path) -> dict[str, Any]:
    """Return the recorded state (empty if none or unreadable)."""
    try:
        with (state_dir / STATE_FILE).open("rb") as handle:
            data = json.loads(handle.read(MAX_STATE_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _serial(data: dict[str, Any]) -> int:
    value = data.get("serial")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def last_serial(state_dir: Path, current_meta: dict[str, Any]) -> int:
    """Return the serial of the last bundle applied (0 if none)."""
    return max(_serial(read_state(state_dir)), _serial(current_meta))


def record(state_dir: Path, data: dict[str, Any]) -> None:
    """Write the state atomically and durably."""
    ensure_dir(state_dir)
    body = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    fileops.replace_file(state_dir / STATE_FILE, body, 0o600)


def ensure_dir(state_dir: Path) -> None:
    """Make provisioning's folder (root only) if missing."""
    fileops.make_dirs(state_dir, 0o700)


@contextmanager
def exclusive(state_dir: Path) -> Iterator[None]:
    """Hold provisioning's lock: one apply at a time; :class:`Busy` if another holds it."""
    ensure_dir(state_dir)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy() from None
        yield
    finally:
        os.close(fd)
