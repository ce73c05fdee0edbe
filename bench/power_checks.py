"""What the power-cut campaign checks after each cut, each round and at the end; its figures.

Right after a cut, before anything of the box runs again: the configuration in effect loads,
and every backup period verifies (a technician may run ``qingka backup verify`` then). After each
round, per period: the bureau holds one upload per invoice type and one clearing, the device's
lock date moved, ``qingka backup verify`` passes, the acknowledged request reached an outcome.
At the end: both databases pass SQLite's integrity check and no request is left unanswered.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.daemon.config import ConfigError, load_config
from appliance.storage.backups import BackupStore
from bench.power_box import Cut, Device, PowerBox
from provisioning.generations import ConfigStore
from simulators.device import open_backend

EXPECTED_LOCK = 20261215235959
SUCCESS = ("done", "already-cleared")
VERIFY = [sys.executable, "-m", "appliance", "backup", "verify", "--json"]


@dataclass
class Period:
    """One device's clearing of one period, as the person and the checks see it."""

    device: Device
    requested_at: str | None = None
    outcome: dict[str, Any] | None = None
    asked: int = 0


@dataclass
class Report:
    """What the campaign found."""

    cuts: int = 0
    rounds: int = 0
    periods: int = 0
    done: int = 0
    uploads: int = 0
    clearings: int = 0
    duplicate_uploads: int = 0
    duplicate_clearings: int = 0
    locks_moved: int = 0
    backups_verified: int = 0
    unverifiable: int = 0
    unverifiable_after_cut: int = 0
    acknowledged: int = 0
    lost: int = 0
    broken_config: int = 0
    outcomes_recorded: int = 0
    outcome_events: int = 0
    outcomes_without_event: int = 0
    outcome_events_twice: int = 0
    where: Counter[str] = field(default_factory=Counter)
    during: Counter[str] = field(default_factory=Counter)
    lost_parts: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)
    cut_log: list[Cut] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every promise held."""
        return not self.failures and self.done == self.periods


class Inspector:
    """Looks at the box between its runs and records what it finds in the report."""

    def __init__(self, box: PowerBox, report: Report) -> None:
        self.box = box
        self.report = report

    def fail(self, text: str) -> None:
        """Record a broken promise."""
        self.report.failures.append(f"round {self.report.rounds}: {text}")

    # -- right after a cut --------------------------------------------------------------------

    def after_cut(self, cut: Cut) -> None:
        """The configuration loads and every backup verifies, before the box runs again."""
        self.current_serial()
        for check in BackupStore(self.box.paths.data_dir).verify().periods:
            if not check.ok:
                self.report.unverifiable_after_cut += 1
                self.fail(f"after a cut at {cut.op} {cut.path}: backup {check.to_json()}")

    def current_serial(self) -> int | None:
        """Return the serial of the configuration in effect; record it if it does not load."""
        store = ConfigStore(self.box.paths.config_dir)
        current = store.current()
        if current is None:
            return None
        try:
            load_config(self.box.paths.config_file)
        except ConfigError as exc:
            self.report.broken_config += 1
            self.fail(f"configuration {current.name} does not load: {exc}")
        serial = store.meta(current).get("serial")
        return serial if isinstance(serial, int) else None

    # -- after a round ------------------------------------------------------------------------

    def periods(self, periods: list[Period]) -> None:
        """Check every period of a round: request, bureau, device, backups."""
        for period in periods:
            self.report.periods += 1
            self.period(period)
        self.backups(periods)

    def period(self, period: Period) -> None:
        """Check one period's request, bureau state and device."""
        report, device = self.report, period.device
        if period.requested_at is not None and period.outcome is None:
            report.lost += 1
            self.fail(f"device {device.index}: acknowledged at {period.requested_at}, no outcome")
        if period.outcome is not None and period.outcome["kind"] in SUCCESS:
            report.done += 1
        state = self.box.bureau.admin.state(device.taxpayer_id)
        uploads = Counter((u["period"], u["type"]) for u in state["uploads"])
        report.uploads += sum(uploads.values())
        report.clearings += int(state["clearings"])
        if not uploads or any(n != 1 for n in uploads.values()):
            report.duplicate_uploads += any(n > 1 for n in uploads.values())
            self.fail(f"device {device.index}: uploads {state['uploads']}")
        if state["clearings"] != 1:
            report.duplicate_clearings += int(state["clearings"] > 1)
            self.fail(f"device {device.index}: {state['clearings']} clearings")
        if not device.state.exists():
            self.fail(f"device {device.index}: never opened")
            return
        locks = {r["monitor"]["kpjzsj"] for r in device_state(device)["types"].values()}
        if locks == {EXPECTED_LOCK}:
            report.locks_moved += 1
        else:
            self.fail(f"device {device.index}: lock moments {locks}")

    def backups(self, periods: list[Period]) -> None:
        """Run ``qingka backup verify`` on the data partition; check these periods in it."""
        result = subprocess.run(
            [*VERIFY, "--data-dir", str(self.box.paths.data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        try:
            checks = json.loads(result.stdout)["periods"]
        except (ValueError, KeyError, TypeError):
            self.fail(f"backup verify said: {result.stdout[-500:]} {result.stderr[-500:]}")
            self.report.unverifiable += len(periods)
            return
        for period in periods:
            number = str(device_state(period.device)["identity"]["device_no"])
            mine = [item for item in checks if item.get("device_no") == number]
            if not mine or any(not item.get("ok") or not item.get("verified") for item in mine):
                self.report.unverifiable += 1
                self.fail(f"backup of device {number} does not verify: {mine}")
            else:
                self.report.backups_verified += 1
        if result.returncode != 0:
            self.fail(f"backup verify exited {result.returncode}: {result.stdout[-1500:]}")

    # -- at the end ---------------------------------------------------------------------------

    def databases(self) -> None:
        """With the daemon stopped: integrity of both databases, no request left open."""
        data = self.box.paths.data_dir
        self.fleet_events(data)
        for name in ("qingka.db", "outbox.db"):
            with _read_only(data / name) as conn:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
                if verdict != "ok":
                    self.fail(f"{name}: {verdict}")
                if name == "qingka.db":
                    count = conn.execute(
                        "SELECT COUNT(*) FROM clear_requests WHERE answered_at IS NULL"
                    ).fetchone()[0]
                    if count:
                        self.fail(f"{count} requests never answered")

    def fleet_events(self, data: Path) -> None:
        """Match the journal's outcomes with the outcome events waiting in the fleet outbox.

        No broker answers in the campaign, so every event the outbox took is still there; each
        outcome event names the journal record it came from (``outcome_id``).
        """
        with _read_only(data / "qingka.db") as journal:
            recorded = {int(row[0]) for row in journal.execute("SELECT id FROM outcomes")}
        with _read_only(data / "outbox.db") as outbox:
            events = [
                json.loads(payload) for (payload,) in outbox.execute("SELECT payload FROM events")
            ]
        queued = [int(e["outcome_id"]) for e in events if e.get("event") == "outcome"]
        self.report.outcomes_recorded = len(recorded)
        self.report.outcome_events = len(queued)
        self.report.outcomes_without_event = len(recorded - set(queued))
        self.report.outcome_events_twice = len(queued) - len(set(queued))
        if self.report.outcomes_without_event:
            self.fail(f"{self.report.outcomes_without_event} outcomes never became a fleet event")
        if self.report.outcome_events_twice:
            self.fail(f"{self.report.outcome_events_twice} outcomes queued twice for the fleet")


def device_state(device: Device) -> dict[str, Any]:
    """Return a simulated device's state, as its own flash holds it."""
    backend = open_backend("needs-clearing", {"state": str(device.state), "latency": "0"})
    state: dict[str, Any] = backend.device.state
    return state


def _read_only(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """Return a read-only SQLite connection that closes on leaving the ``with``."""
    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
