"""What the daemon has said about each device, kept up to date from ``status`` and events.

Plain Python (no Kivy): the link hands every reply and event to the board on the UI thread, the
screens read it. A job is "running" from its first ``step`` event (or the tap that asked for it)
to its ``outcome``; a ``status`` read right after the outcome may still say the device is busy,
so periodic reads can end a job the board missed but never start one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from appliance.clock import clock

FINAL_STEP = "done"
# Envelope and identity keys of a ``device`` event that are not reading fields.
_EVENT_KEYS = {"event", "at", "seq", "url", "present", "plugged", "error"}


@dataclass
class DeviceState:
    """One device as the kiosk knows it."""

    url: str
    row: dict[str, Any] = field(default_factory=dict)
    running: bool = False
    step: str | None = None
    percent: int = 0
    started_at: float | None = None
    steps_seen: list[str] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    outcome_seq: int = 0

    @property
    def present(self) -> bool:
        """Tell whether the device answered the last time the daemon opened it."""
        return bool(self.row.get("present"))

    @property
    def reading(self) -> dict[str, Any] | None:
        """Return the daemon's last reading of the device, or None."""
        value = self.row.get("device")
        return value if isinstance(value, dict) else None

    @property
    def device_no(self) -> str:
        """Return the device number once read, else the URL."""
        reading = self.reading
        return str(reading.get("device_no")) if reading else self.url


def _moment(value: Any) -> datetime | None:
    """Return an ISO time as an aware moment (a time without offset is the product's zone)."""
    if not isinstance(value, str):
        return None
    try:
        return clock().in_zone(datetime.fromisoformat(value))
    except ValueError:
        return None


def _newer(candidate: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Tell whether the outcome ``candidate`` (from ``status``) is newer than ``current``."""
    if current is None:
        return True
    new, old = _moment(candidate.get("at")), _moment(current.get("at"))
    return new is not None and (old is None or new > old)


class Board:
    """Every device of the box, in the daemon's order."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.devices: dict[str, DeviceState] = {}
        self.monotonic = monotonic
        self._outcomes = 0

    def present(self) -> list[DeviceState]:
        """Return the devices that are plugged in."""
        return [d for d in self.devices.values() if d.present]

    def absent(self) -> list[DeviceState]:
        """Return configured devices that are not plugged in."""
        return [d for d in self.devices.values() if not d.present]

    def running(self) -> list[DeviceState]:
        """Return the devices being cleared."""
        return [d for d in self.devices.values() if d.running]

    def get(self, url: str) -> DeviceState | None:
        """Return the device at ``url``, if known."""
        return self.devices.get(url)

    # -- from the daemon -------------------------------------------------------------------

    def apply_status(self, status: dict[str, Any], sync: bool) -> None:
        """Take a ``status`` result; ``sync`` is True for the first read after connecting."""
        rows = [r for r in status.get("devices", []) if isinstance(r, dict) and "url" in r]
        known = {str(r["url"]) for r in rows}
        for url in list(self.devices):
            if url not in known:
                del self.devices[url]
        for row in rows:
            state = self.devices.setdefault(str(row["url"]), DeviceState(str(row["url"])))
            state.row = row
            last = row.get("last_outcome")
            if isinstance(last, dict) and _newer(last, state.outcome):
                # After a restart of the kiosk or the daemon, or an outcome whose event this
                # board missed (a retry while the kiosk reconnected).
                state.outcome = dict(last)
            if sync:
                self._sync_job(state, row)
            elif state.running and not row.get("clearing") and not row.get("busy"):
                # The daemon is idle on this device: the job ended while the board looked away.
                state.running = False

    def _sync_job(self, state: DeviceState, row: dict[str, Any]) -> None:
        progress = row.get("progress") if isinstance(row.get("progress"), dict) else None
        step = progress.get("step") if progress else None
        running = bool(row.get("clearing")) or (progress is not None and step != FINAL_STEP)
        if running and not state.running:
            state.started_at = self._started(progress)
            state.steps_seen = []
        state.running = running
        if running and progress is not None:
            self._take_step(state, progress)

    def _started(self, progress: dict[str, Any] | None) -> float:
        """Return the job's start on this board's clock (the daemon says when, if it knows)."""
        now = self.monotonic()
        started = progress.get("started_at") if progress else None
        moment = _moment(started)
        if moment is None:
            return now
        ago = (clock().now() - moment).total_seconds()
        return now - max(0.0, ago)

    def apply_event(self, event: dict[str, Any]) -> None:
        """Take one event of the daemon's stream."""
        kind = event.get("event")
        url = event.get("url")
        if not isinstance(url, str):
            return
        state = self.devices.setdefault(url, DeviceState(url))
        if kind == "step":
            if not state.running or state.started_at is None:
                state.started_at = self.monotonic()
                state.steps_seen = []
            state.running = True
            self._take_step(state, event)
        elif kind == "outcome":
            state.running = False
            self._outcomes += 1
            state.outcome = {k: v for k, v in event.items() if k not in ("event", "seq", "url")}
            state.outcome_seq = self._outcomes
        elif kind == "device":
            self._take_device(state, event)

    @staticmethod
    def _take_step(state: DeviceState, step: dict[str, Any]) -> None:
        name = step.get("step")
        if isinstance(name, str):
            state.step = name
            if name not in state.steps_seen:
                state.steps_seen.append(name)
        percent = step.get("progress")
        if isinstance(percent, int):
            state.percent = percent

    @staticmethod
    def _take_device(state: DeviceState, event: dict[str, Any]) -> None:
        row = dict(state.row) or {"url": state.url}
        if "present" in event:
            row["present"] = bool(event["present"])
        if "error" in event:
            row["error"] = event["error"]
        reading = {k: v for k, v in event.items() if k not in _EVENT_KEYS}
        if "device_no" in reading:
            row["device"] = {"url": state.url, **reading}
            row["error"] = None
        state.row = row

    # -- from this kiosk -------------------------------------------------------------------

    def requested(self, urls: list[str]) -> None:
        """Mark ``urls`` as being cleared: a tap asked for it, the daemon queued it."""
        for url in urls:
            state = self.devices.get(url)
            if state is None or state.running:
                continue
            state.running = True
            state.step = None
            state.percent = 0
            state.started_at = self.monotonic()
            state.steps_seen = []

    def request_failed(self, urls: list[str]) -> None:
        """Undo :meth:`requested` for a request the daemon did not take."""
        for url in urls:
            state = self.devices.get(url)
            if state is not None and state.step is None:
                state.running = False
