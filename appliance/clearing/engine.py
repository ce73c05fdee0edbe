"""The scheduler: which device to read or clear, when, on which thread.

The daemon's working loop calls :meth:`Engine.tick` about once a second. A tick only decides and
starts work: every device access runs on a worker thread of its own, one per device at a time,
so a slow or stuck device never holds up the loop, the API or another device.

Policy ``auto`` (default) checks each device on start, on plug-in and every 15 minutes, and
clears it when its period is open; ``button-only`` clears only on request. Either way a job that
was interrupted (unplug, crash, power cut) resumes by itself, because the person who started it
expects it to finish.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from appliance.calendar.stage import Stage
from appliance.clearing import classify
from appliance.clearing.backoff import retry_delay
from appliance.clearing.job import BackupPort, BureauPort, ClearingJob
from appliance.clearing.journal import Journal
from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.pins import verify_pin_once
from appliance.clearing.steps import JobStep
from appliance.clock import clock
from appliance.devices.errors import DeviceError
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.snapshot import DeviceSnapshot, read_snapshot

_log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
Opener = Callable[[str], NisecDevice]
BureauFactory = Callable[[Identity], BureauPort]

POLICY_AUTO = "auto"
POLICY_BUTTON = "button-only"
# Deadline warnings, days before the lock: each is sent once per device and lock date.
WARNING_DAYS = (1, 3, 5)
# How often an absent configured device is looked for again (a cheap open attempt).
ABSENT_RECHECK_S = 5.0


@dataclass
class DeviceSpec:
    """A device the box is configured for (or discovered on USB)."""

    url: str
    pin: str
    expected_taxpayer: str | None = None


@dataclass
class Slot:
    """What the engine knows of one device."""

    spec: DeviceSpec
    present: bool = False
    busy: bool = False
    job_running: bool = False
    snapshot: DeviceSnapshot | None = None
    error: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    last_outcome: Outcome | None = None
    next_check: float = 0.0
    next_job: float | None = None
    failures: int = 0
    clear_requested: bool = False
    thread: threading.Thread | None = None

    @property
    def device_no(self) -> str:
        """Return the device number once known, else the URL."""
        return self.snapshot.identity.device_no if self.snapshot else self.spec.url


def error_json(exc: DeviceError) -> dict[str, str]:
    """Return why a device could not be read, in both languages, with what to do."""
    what_zh, action_zh = exc.text("zh")
    what_en, action_en = exc.text("en")
    return {
        "code": exc.code,
        "message_zh": what_zh,
        "message_en": what_en,
        "action_zh": action_zh,
        "action_en": action_en,
    }


class JobRunning(Exception):
    """A clear was requested for a device that is already being cleared."""


class UnknownDevice(Exception):
    """A clear was requested for a device the box does not know."""


class Engine:
    """Schedules device checks and clearing jobs."""

    def __init__(
        self,
        devices: list[DeviceSpec],
        *,
        journal: Journal,
        backups: BackupPort,
        bureau_factory: BureauFactory,
        opener: Opener,
        emit: Emit,
        policy: str = POLICY_AUTO,
        check_interval_s: float = 900.0,
        discover: Callable[[], list[str]] | None = None,
        discovered_pin: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.journal = journal
        self.backups = backups
        self.bureau_factory = bureau_factory
        self.opener = opener
        self.emit = emit
        self.policy = policy
        self.check_interval_s = check_interval_s
        self.discover = discover
        self.discovered_pin = discovered_pin
        self.monotonic = monotonic
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.slots: dict[str, Slot] = {spec.url: Slot(spec) for spec in devices}

    # -- the loop's entry ---------------------------------------------------------------------

    def tick(self) -> None:
        """Decide what is due and start it; returns at once."""
        if self.stop_event.is_set():
            return
        if self.discover is not None:
            self._discover()
        now = self.monotonic()
        with self._lock:
            for slot in self.slots.values():
                if slot.busy:
                    continue
                run_job = slot.clear_requested or (
                    slot.next_job is not None and now >= slot.next_job
                )
                if run_job or now >= slot.next_check:
                    self._start(slot, run_job, requested=slot.clear_requested)

    def _discover(self) -> None:
        try:
            urls = set(self.discover() if self.discover else [])
        except Exception:  # noqa: BLE001 - a USB enumeration hiccup must not stop the loop
            _log.exception("USB discovery failed")
            return
        with self._lock:
            for url in urls - set(self.slots):
                self.slots[url] = Slot(DeviceSpec(url, self.discovered_pin or ""))
                self.emit({"event": "device", "url": url, "present": True, "plugged": True})
            for url, slot in self.slots.items():
                if url not in urls and slot.present and url.startswith("usb:"):
                    slot.present = False
                    slot.next_check = self.monotonic() + ABSENT_RECHECK_S
                    self.emit({"event": "device", "url": url, "present": False})

    def _start(self, slot: Slot, run_job: bool, requested: bool) -> None:
        slot.busy = True
        slot.job_running = run_job
        slot.clear_requested = False
        thread = threading.Thread(
            target=self._work,
            args=(slot, run_job, requested),
            name=f"device {slot.spec.url}",
            daemon=True,
        )
        slot.thread = thread
        thread.start()

    def add(self, spec: DeviceSpec) -> None:
        """Watch one more device (checked at the next tick)."""
        with self._lock:
            self.slots.setdefault(spec.url, Slot(spec))

    # -- requests ------------------------------------------------------------------------------

    def request_clear(self, key: str | None = None) -> list[str]:
        """Queue a clearing of one device (URL or device number) or of all; return their URLs."""
        with self._lock:
            slots = [s for s in self.slots.values() if key in (None, s.spec.url, s.device_no)]
            if not slots:
                raise UnknownDevice(key or "no device configured")
            # A second tap never starts a second job: refuse while one runs or waits to.
            if key is not None and any(s.job_running or s.clear_requested for s in slots):
                raise JobRunning(key)
            for slot in slots:
                slot.clear_requested = True
            return [slot.spec.url for slot in slots]

    def stop(self, timeout: float = 30.0) -> None:
        """Ask running jobs to stop at their next step boundary and wait for them."""
        self.stop_event.set()
        deadline = self.monotonic() + timeout
        for slot in list(self.slots.values()):
            if slot.thread is not None:
                slot.thread.join(max(0.0, deadline - self.monotonic()))

    def idle(self) -> bool:
        """Tell whether no device is being read or cleared."""
        with self._lock:
            return not any(slot.busy for slot in self.slots.values())

    # -- the worker ----------------------------------------------------------------------------

    def _work(self, slot: Slot, run_job: bool, requested: bool) -> None:
        try:
            self._check_and_maybe_clear(slot, run_job, requested)
        except Exception:  # noqa: BLE001 - a bug in one device's work must not kill the daemon
            _log.exception("device work failed for %s", slot.spec.url)
            slot.next_check = self.monotonic() + self.check_interval_s
        finally:
            slot.progress = None
            slot.job_running = False
            slot.busy = False

    def _check_and_maybe_clear(self, slot: Slot, run_job: bool, requested: bool) -> None:
        spec = slot.spec
        try:
            device = self.opener(spec.url)
        except DeviceError as exc:
            self._absent(slot, exc, run_job, requested)
            return
        with device:
            was_present = slot.present
            slot.present = True
            if not was_present:
                self.emit({"event": "device", "url": spec.url, "present": True})
            pending = None
            try:
                snapshot = self._snapshot(slot, device)
                pending = self.journal.unfinished(snapshot.identity.device_no)
            except DeviceError as exc:
                slot.error = error_json(exc)
                self.emit({"event": "device", "url": spec.url, "error": slot.error})
                if not run_job:
                    slot.next_check = self.monotonic() + self.check_interval_s
                    return
                snapshot = None
            due = snapshot is not None and self._due(snapshot)
            resume = pending is not None and slot.next_job is None and slot.last_outcome is None
            if run_job or resume or (self.policy == POLICY_AUTO and due and slot.next_job is None):
                self._run_job(slot, device)
            else:
                slot.next_check = self.monotonic() + self.check_interval_s

    def _absent(self, slot: Slot, exc: DeviceError, run_job: bool, requested: bool) -> None:
        if slot.present:
            self.emit({"event": "device", "url": slot.spec.url, "present": False})
        slot.present = False
        slot.error = error_json(exc)
        slot.next_check = self.monotonic() + ABSENT_RECHECK_S
        if not run_job:
            return
        # The job runs as soon as the device can be opened again (a re-plug resumes it).
        slot.next_job = self.monotonic() + ABSENT_RECHECK_S
        if requested:
            # Someone pressed the button: tell them now, not only when the device comes back.
            outcome = classify.outcome_for(exc, slot.device_no, None, JobStep.PRECHECK)
            outcome = replace(outcome, retry_at=clock().after(ABSENT_RECHECK_S))
            self.emit({"event": "outcome", "url": slot.spec.url, **outcome.to_json()})

    def _snapshot(self, slot: Slot, device: NisecDevice) -> DeviceSnapshot:
        # A PIN this device rejected is never sent again, not even to read the status.
        snapshot = read_snapshot(
            device,
            slot.spec.pin,
            lambda identity: verify_pin_once(
                device, self.journal, identity.device_no, slot.spec.pin
            ),
        )
        slot.snapshot = snapshot
        slot.error = None
        self.emit({"event": "device", "url": slot.spec.url, "present": True, **snapshot.to_json()})
        self._warn(slot, snapshot)
        return snapshot

    @staticmethod
    def _due(snapshot: DeviceSnapshot) -> bool:
        clock = snapshot.clock.date()
        return any(
            t.status.stage is not Stage.CLEARED
            and t.monitor.bszzrq is not None
            and t.monitor.bszzrq < clock
            for t in snapshot.types
        )

    def _warn(self, slot: Slot, snapshot: DeviceSnapshot) -> None:
        for snap in snapshot.types:
            status = snap.status
            if status.stage is Stage.CLEARED or status.locked:
                continue
            # The tightest threshold reached: at 2 days left that is the 3-day warning.
            reached = [days for days in WARNING_DAYS if status.days_to_lock <= days]
            if reached:
                days = reached[0]
                if self.journal.warn_once(
                    snapshot.identity.device_no, status.lock_date.isoformat(), days
                ):
                    self.emit(
                        {
                            "event": "warning",
                            "device_no": snapshot.identity.device_no,
                            "type": status.type_code,
                            "days_to_lock": status.days_to_lock,
                            "lock_date": status.lock_date.isoformat(),
                            "message_zh": f"距离锁定还有 {status.days_to_lock} 天，请尽快清卡",
                            "message_en": f"{status.days_to_lock} days until the device locks",
                        }
                    )

    def _run_job(self, slot: Slot, device: NisecDevice) -> None:
        slot.job_running = True
        started = clock().stamp()

        def emit(event: dict[str, Any]) -> None:
            if event.get("event") == "step":
                # When the job began, so a screen opened mid-job shows the true elapsed time.
                slot.progress = {**event, "started_at": started}
            self.emit({"url": slot.spec.url, **event})

        identity = device.identify()
        bureau = self.bureau_factory(identity)
        job = ClearingJob(
            device,
            bureau,
            self.backups,
            self.journal,
            pin=slot.spec.pin,
            expected_taxpayer=slot.spec.expected_taxpayer,
            emit=emit,
            stop=self.stop_event,
        )
        try:
            outcome = job.run()
        finally:
            bureau.close()
        delay = None
        if outcome.kind.success or outcome.kind is OutcomeKind.NOT_DUE:
            slot.failures = 0
        else:
            slot.failures += 1
            delay = retry_delay(outcome, slot.failures)
        slot.next_job = None if delay is None else self.monotonic() + delay
        if delay is not None:
            outcome = replace(outcome, retry_at=clock().after(delay))
        slot.last_outcome = outcome
        if outcome.kind.success:
            # Read the device again while it is open, so every screen shows the new lock date
            # by the time the job is reported finished.
            try:
                self._snapshot(slot, device)
            except DeviceError as exc:
                slot.error = error_json(exc)
        slot.next_check = self.monotonic() + self.check_interval_s
        self.emit({"event": "outcome", "url": slot.spec.url, **outcome.to_json()})

    # -- views for the API ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Return the state of every device, JSON-ready."""
        now = self.monotonic()
        devices = []
        with self._lock:
            slots = list(self.slots.values())
        for slot in slots:
            retry_in = None if slot.next_job is None else max(0.0, slot.next_job - now)
            devices.append(
                {
                    "url": slot.spec.url,
                    "present": slot.present,
                    "busy": slot.busy,
                    "clearing": slot.job_running or slot.clear_requested,
                    "device": slot.snapshot.to_json() if slot.snapshot else None,
                    "error": slot.error,
                    "progress": slot.progress,
                    "last_outcome": slot.last_outcome.to_json() if slot.last_outcome else None,
                    "retry_in_s": retry_in,
                    "last_success": (
                        self.journal.last_success(slot.snapshot.identity.device_no)
                        if slot.snapshot
                        else None
                    ),
                }
            )
        return {
            "policy": self.policy,
            "devices": devices,
            "today": clock().today().isoformat(),
            "now": clock().stamp(),
        }
