"""Reading a JSON file from outside (a USB stick, a configuration folder) with a size cap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class JsonFileError(ValueError):
    """The file is too large or not JSON; the message names it."""


def load_capped(path: Path, cap: int, what: str) -> Any:
    """Return the JSON in ``path``, reading at most ``cap`` bytes; ``what`` names it in errors.

    ``OSError`` (missing file, no permission) passes through for the caller to word.
    """
    with path.open("rb") as handle:
        raw = handle.read(cap + 1)
    if len(raw) > cap:
        raise JsonFileError(f"{what} {path} is larger than {cap} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonFileError(f"{what} {path} is not JSON: {exc}") from None
