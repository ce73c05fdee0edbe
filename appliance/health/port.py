"""What the fleet link needs of the daemon: a narrow port, so the link never touches devices.

Fleet commands call the same functions the local API calls (the engine's ``request_clear``, its
policy, the diagnostics the technician screen shows), always on the daemon's side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class BoxPort(Protocol):
    """The daemon, as the fleet link sees it."""

    version: str
    data_dir: Path

    def status(self) -> dict[str, Any]:
        """Return the engine's status (every device, JSON-ready)."""

    def clear(self, device: str | None) -> list[str]:
        """Queue a clearing (like the local API's ``clear``); return the device URLs queued.

        Raises :class:`appliance.health.errors.FleetError` when the device is unknown or busy.
        """

    def policy(self) -> str:
        """Return the scheduling policy in force."""

    def set_policy(self, policy: str) -> None:
        """Switch the scheduling policy (``auto`` or ``button-only``)."""

    def refresh(self) -> None:
        """Have every device read again now (the next health shows what they say)."""

    def update(self, url: str, sha256: str) -> dict[str, Any]:
        """Fetch the bundle, check its SHA-256, install it into the inactive slot (slow).

        Raises :class:`appliance.update.UpdateError` with plain words when it cannot.
        """

    def diagnostics(self, lines: int) -> dict[str, Any]:
        """Return the technician screen's bundle: versions, state, recent log lines, no secret."""

    def outcomes_after(self, after: int) -> list[dict[str, Any]]:
        """Return the journal's outcomes recorded after id ``after``, oldest first, a batch.

        Each carries ``outcome_id``, ``url`` and ``at``; the fleet queues those it has not yet.
        """

    def last_outcome_id(self) -> int:
        """Return the id of the journal's latest outcome (0: none yet)."""
