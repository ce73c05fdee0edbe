"""Save a fixed sequence of files into a backup store, printing each index once it is saved.

Run as ``python -m tests.appliance.storage.crash_writer ROOT``; the crash test kills it with
SIGKILL at random moments and runs it again, as the daemon would be after a power cut.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from appliance.storage.backups import BackupStore

DEVICE = "661234567890"
COUNT = 120
FILES_PER_PERIOD = 10


def plan() -> list[tuple[int, str, bytes]]:
    """Return (period, name, content) of every save, the same on every run."""
    items = []
    for index in range(COUNT):
        rng = random.Random(index)
        # Incompressible and up to 256 KiB, so a kill often lands inside a write.
        content = rng.randbytes(rng.choice([0, 100, 4096, 65536, 262144]))
        period = 202401 + index // FILES_PER_PERIOD
        items.append((period, f"file-{index:03d}.bin", content))
    return items


def main(root: str) -> None:
    """Save the plan into ``root``, saying each index on standard output once saved."""
    store = BackupStore(Path(root), min_free_bytes=0)
    print("ready", flush=True)
    for index, (period, name, content) in enumerate(plan()):
        store.save(DEVICE, period, name, content, "raw-device")
        print(index, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
