"""Events other parts of the box leave for the fleet while the daemon may not run.

Provisioning runs as its own unit (often while the daemon restarts) and writes each event it
wants the fleet to hear as one JSON file in ``data_dir/events/spool/`` (written durably, see
provisioning/outbox.py). The publisher moves them into its outbox in file-name order, which is
time order. A file is the box's own, but it may be cut short by a power loss: it is read with a
size cap and checked like anything from outside.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from appliance.storage import fsio
from appliance.storage.errors import StorageError

SPOOL_DIR = Path("events") / "spool"
# An event is a few hundred bytes; a larger file is not one of ours.
MAX_SPOOLED_BYTES = 16 * 1024
_KIND = re.compile(r"[a-z][a-z-]{0,31}")


class SpoolError(ValueError):
    """A spooled file that is not an event."""


def spooled_event(path: Path) -> dict[str, Any]:
    """Return the event in ``path``; :class:`SpoolError` if it is not one."""
    try:
        raw = fsio.read_capped(path, MAX_SPOOLED_BYTES)
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SpoolError(f"{path.name} is not JSON: {exc}") from None
    except (OSError, StorageError) as exc:  # gone meanwhile, a link, a FIFO, too large
        raise SpoolError(f"{path.name} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not _KIND.fullmatch(str(data.get("event", ""))):
        raise SpoolError(f"{path.name} is not an event")
    return data
