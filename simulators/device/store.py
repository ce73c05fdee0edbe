"""Keeping a simulated device's state in a file, so the device survives restarts and kill -9.

Every save writes a temporary file beside the target, fsyncs it, renames it over the target and
fsyncs the directory: at any instant the file holds either the previous state or the new one,
never a torn mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from appliance.jsonfile import load_capped
from simulators.device.core.host import StateSink
from simulators.device.core.state import check_state

# A device state is a few kilobytes; anything far larger is not one.
MAX_STATE_BYTES = 1024 * 1024


class StateFile(StateSink):
    """A device state saved atomically to one JSON file."""

    __slots__ = ("path", "saves")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.saves = 0

    def load(self) -> dict[str, Any] | None:
        """Return the saved state, ``None`` if there is no file; ``ValueError`` if unusable."""
        try:
            state = load_capped(self.path, MAX_STATE_BYTES, "device state")
        except FileNotFoundError:
            return None
        except OSError as exc:
            # A folder or a FIFO given as the state file: an option the caller got wrong.
            raise ValueError(f"cannot use the state file {self.path}: {exc.strerror}") from None
        try:
            check_state(state)
        except ValueError as exc:
            raise ValueError(f"device state {self.path}: {exc}") from exc
        loaded: dict[str, Any] = state
        return loaded

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically."""
        text = json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with temp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self.saves += 1
