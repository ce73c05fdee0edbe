"""The daemon as a :class:`~appliance.health.port.BoxPort`, and the publisher it starts.

The daemon calls :func:`start_fleet` only when ``[fleet]`` is configured; this module imports
paho (through the publisher), so nothing else in the daemon does.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.clearing.engine import JobRunning, UnknownDevice
from appliance.daemon import diagnostics, logs
from appliance.health.errors import FleetError
from appliance.health.publisher import FleetPublisher
from appliance.taxpayer import mask_taxpayer_id

if TYPE_CHECKING:
    from appliance.daemon.service import Daemon

OUTBOX_FILE = "outbox.db"
UPDATES_DIR = "updates"
# Keys whose values never leave the box, whatever structure carries them.
_SECRET_WORDS = ("pin", "password", "secret", "credential", "private")
# The taxpayer's identity leaves the box masked only.
_HIDDEN = ("taxpayer_id", "taxpayer_name")


def _version() -> str:
    try:
        return metadata.version("qingka-box")
    except metadata.PackageNotFoundError:
        return "unknown"


def scrub(value: Any) -> Any:
    """Return ``value`` without secrets and with taxpayer identities masked."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).lower()
            if any(word in name for word in _SECRET_WORDS):
                clean[key] = "***"
            elif name == "taxpayer_id" and isinstance(item, str):
                clean[key] = mask_taxpayer_id(item)
            elif name in _HIDDEN:
                clean[key] = "***"
            else:
                clean[key] = scrub(item)
        return clean
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def scrub_line(line: str) -> str:
    """Return a JSON log line scrubbed like any structure (a line that is not JSON is withheld)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return "(withheld: not a structured line)"
    return json.dumps(scrub(record), ensure_ascii=False)


class DaemonPort:
    """What the fleet may ask of the daemon: the local API's functions, nothing more."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.version = _version()
        self.data_dir: Path = daemon.config.data_dir

    def status(self) -> dict[str, Any]:
        """Return the engine's status."""
        return self.daemon.engine.status()

    def clear(self, device: str | None) -> list[str]:
        """Queue a clearing, as the local API's ``clear`` does."""
        try:
            return self.daemon.engine.request_clear(device, "fleet")
        except UnknownDevice as exc:
            raise FleetError(f"no such device: {exc}", f"没有这个设备：{exc}", "F-404") from None
        except JobRunning as exc:
            raise FleetError(
                f"a clearing is already running on {exc}", "该设备正在清卡，请稍候", "F-409"
            ) from None

    def policy(self) -> str:
        """Return the policy in force."""
        return self.daemon.engine.policy

    def set_policy(self, policy: str) -> None:
        """Switch the engine's policy (read at its next check)."""
        self.daemon.engine.policy = policy

    def refresh(self) -> None:
        """Have every device read again at the next tick."""
        self.daemon.engine.request_check()

    def update(self, url: str, sha256: str) -> dict[str, Any]:
        """Fetch and install an update bundle into the inactive slot."""
        from appliance.update import fetch_bundle, install_bundle  # noqa: PLC0415 - rare, slow

        bundle = fetch_bundle(url, sha256, dest_dir=self.data_dir / UPDATES_DIR)
        try:
            result = install_bundle(bundle)
        finally:
            bundle.unlink(missing_ok=True)
        # The new slot is tried at the next boot and marked good only after the daemon
        # reached READY and the health check passed (qingka-mark-good.service).
        return {**result.to_json(), "takes_effect": "next-boot"}

    def outcomes_after(self, after: int) -> list[dict[str, Any]]:
        """Return the journal's outcomes after id ``after``, oldest first."""
        return self.daemon.engine.journal.outcomes_after(after)

    def last_outcome_id(self) -> int:
        """Return the id of the journal's latest outcome."""
        return self.daemon.engine.journal.last_outcome_id()

    def diagnostics(self, lines: int) -> dict[str, Any]:
        """Return the technician screen's bundle, without secrets."""
        bundle = diagnostics.collect(self.daemon.config, self.daemon.started)
        bundle["status"] = self.status()
        bundle["logs"] = [scrub_line(line) for line in list(logs.recent.lines)[-lines:]]
        return dict(scrub(bundle))


def start_fleet(daemon: Daemon) -> FleetPublisher:
    """Create and start the publisher of a daemon whose configuration has ``[fleet]``."""
    config = daemon.config.fleet
    assert config is not None
    publisher = FleetPublisher(config, DaemonPort(daemon), daemon.config.data_dir / OUTBOX_FILE)
    publisher.start()
    return publisher
