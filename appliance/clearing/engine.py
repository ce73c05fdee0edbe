"""The scheduler: which device to read or clear, when, on which thread.

The daemon's working loop calls :meth:`Engine.tick` about once a second. A tick only decides and
starts work: every device access runs on a worker thread of its own, one per device at a time,
so a slow or stuck device never holds up the loop, the API or another device.

Policy ``auto`` (default) checks each device on start, on plug-in and every 15 minutes, and
clears it when its period is open; ``button-only`` clears only on request. Either way a job that
was interrupted (unplug, crash, power cut) resumes by itself, because the person who started it
expects it to finish, and a clear someone asked for is journaled before it is acknowledged, so a
restart does not lose it. Every attempt ends in exactly one ``outcome`` event.

A device that needs a person (a wrong PIN, a training or zombie device, offline invoices) is not
tried again every check: only after something changed (plugged in again, a new PIN, a new day)
or when someone asks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from appliance.calendar.filing import FilingCalendar, default_calendar
from appliance.calendar.stage import Stage
from appliance.clearing import classify
from appliance.clearing.backoff import retry_delay
from appliance.clearing.job import BackupPort, BureauPort, ClearingJob
from appliance.clearing.journal import Journal
from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.pins import PinGuard
from appliance.clearing.specs import POLICY_AUTO, POLICY_BUTTON, DeviceSpec
from appliance.clearing.steps import JobStep
from appliance.clock import clock
from appliance.devices.errors import DeviceError
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.snapshot import DeviceSnapshot, read_snapshot

__all__ = ["POLICY_AUTO", "POLICY_BUTTON", "DeviceSpec", "Engine", "JobRunning", "UnknownDevice"]

_log = logging.getLogger(__name__)

Emit = Callable[[dict[str, Any]], None]
Opener = Callable[[str], NisecDevice]
BureauFactory = Callable[[Identity], BureauPort]

# Deadline warnings, days before the lock: each is sent once per device and lock date.
WARNING_DAYS = (1, 3, 5)
# How often an absent configured device is looked for again (a cheap open attempt).
ABSENT_RECHECK_S = 5.0
# A device that needs a person is tried again by itself at most this often (and on a new day).
NEEDS_HUMAN_RECHECK_S = 24 * 3600.0
# How long ``set_pin`` waits for the device to try the new PIN before answering.
SET_PIN_WAIT_S = 60.0


@dataclass
class Slot:
    """What the engine knows of one device."""

    spec: DeviceSpec
    present: bool = False
    busy: bool = False
    job_running: bool = False
    identity: Identity | None = None
    snapshot: DeviceSnapshot | None = None
    error: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    last_outcome: Outcome | None = None
    next_check: float = 0.0
    next_job: float | None = None
    failures: int = 0
    # Whether a job ran on this device since the engine started (an interrupted one resumes
    # by itself once; after that, retries follow the schedule).
    attempted: bool = False
    clear_requested: bool = False
    thread: threading.Thread | None = None
    # Bumped on every plug-in and every new PIN: "something changed" for a device on hold.
    changes: int = 0
    # Set after a needs-human outcome: (day, changes, until) the device is left alone.
    hold: tuple[date, int, float] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def device_no(self) -> str:
        """Return the device number once known, else the URL."""
        return self.identity.device_no if self.identity else self.spec.url


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
        "detail": exc.detail,
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
        pins: PinGuard | None = None,
        calendar: FilingCalendar | None = None,
        policy: str = POLICY_AUTO,
        check_interval_s: float = 900.0,
        discovered_pin: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        resume: bool = True,
    ) -> None:
        self.journal = journal
        self.backups = backups
        self.bureau_factory = bureau_factory
        self.opener = opener
        self.emit = emit
        self.pins = pins or PinGuard(journal, None)
        self.calendar = calendar or default_calendar()
        self.policy = policy
        self.check_interval_s = check_interval_s
        self.discovered_pin = discovered_pin
        self.monotonic = monotonic
        # Whether a device's interrupted job resumes when the device is read (the daemon); a
        # command run without it does only what it was asked (its device's job still resumes).
        self.resume = resume
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self.slots: dict[str, Slot] = {}
        for spec in devices:
            self._add_slot(spec)
        # Requests journaled before a restart still hold: the person is still waiting.
        for _, url, _ in journal.open_requests():
            if url in self.slots:
                self.slots[url].clear_requested = True

    def _add_slot(self, spec: DeviceSpec) -> Slot:
        slot = Slot(spec)
        slot.last_outcome = self.journal.last_outcome_at(spec.url)
        self.slots[spec.url] = slot
        return slot

    # -- the loop's entry ---------------------------------------------------------------------

    def tick(self) -> None:
        """Decide what is due and start it; returns at once."""
        if self.stop_event.is_set():
            return
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

    def plugged(self, urls: list[str]) -> None:
        """Take note of the devices plugged in now (from udev events; any thread)."""
        with self._lock:
            for url in set(urls) - set(self.slots):
                slot = self._add_slot(DeviceSpec(url, self.discovered_pin or ""))
                self.emit({"event": "device", "url": url, "present": True, "plugged": True})
            for url, slot in self.slots.items():
                if url in urls and not slot.present and not slot.busy:
                    slot.next_check = 0.0  # look at it now
                if url not in urls and slot.present and url.startswith("usb:"):
                    slot.present = False
                    slot.next_check = self.monotonic() + ABSENT_RECHECK_S
                    self.emit({"event": "device", "url": url, "present": False})

    def _start(self, slot: Slot, run_job: bool, requested: bool, verify_only: bool = False) -> None:
        slot.busy = True
        slot.done.clear()
        slot.job_running = run_job
        slot.clear_requested = False
        thread = threading.Thread(
            target=self._work,
            args=(slot, run_job, requested, verify_only),
            name=f"device {slot.spec.url}",
            daemon=True,
        )
        slot.thread = thread
        thread.start()

    def add(self, spec: DeviceSpec) -> None:
        """Watch one more device (checked at the next tick)."""
        with self._lock:
            if spec.url not in self.slots:
                self._add_slot(spec)

    # -- requests ------------------------------------------------------------------------------

    def _find(self, key: str | None) -> list[Slot]:
        return [s for s in self.slots.values() if key in (None, s.spec.url, s.device_no)]

    def request_clear(self, key: str | None = None, source: str = "api") -> list[str]:
        """Queue a clearing of one device (URL or device number) or of all; return their URLs.

        The request is journaled before this returns: a restart in between does not lose it.
        """
        with self._lock:
            slots = self._find(key)
            if not slots:
                raise UnknownDevice(key or "no device configured")
            # A second tap never starts a second job: refuse while one runs or waits to.
            if key is not None and any(s.job_running or s.clear_requested for s in slots):
                raise JobRunning(key)
            for slot in slots:
                if not (slot.job_running or slot.clear_requested):
                    self.journal.add_request(slot.spec.url, source)
                    slot.clear_requested = True
                    slot.hold = None  # someone asked: try, whatever the last outcome was
            return [slot.spec.url for slot in slots]

    def request_check(self) -> None:
        """Have every device read again at the next tick (no clearing unless one is due)."""
        with self._lock:
            for slot in self.slots.values():
                slot.next_check = 0.0

    def set_pin(self, key: str, pin: str) -> dict[str, Any]:
        """Keep a PIN entered on the box for a device, and let the device try it once."""
        with self._lock:
            slots = self._find(key)
            if len(slots) != 1:
                raise UnknownDevice(key)
            slot = slots[0]
            if slot.identity is None:
                raise UnknownDevice(f"{key} (not read yet: plug it in first)")
            if slot.busy:
                raise JobRunning(key)
            self.pins.set_pin(slot.identity.device_no, pin)
            slot.changes += 1
            slot.hold = None
            tried = slot.present
            if tried:
                self._start(slot, run_job=False, requested=False, verify_only=True)
        if tried:
            slot.done.wait(SET_PIN_WAIT_S)
        state = self.pins.state(slot.identity.device_no, slot.spec.pin)
        verified = {"ok": True, "rejected": False, "locked": False}.get(state.state)
        return {
            "device_no": slot.identity.device_no,
            "stored": True,
            "verified": verified if tried else None,
            "tries_left": state.tries_left,
        }

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
            return not any(slot.busy or slot.clear_requested for slot in self.slots.values())

    # -- the worker ----------------------------------------------------------------------------

    def _work(self, slot: Slot, run_job: bool, requested: bool, verify_only: bool) -> None:
        try:
            self._check_and_maybe_clear(slot, run_job, requested, verify_only)
        except Exception as exc:  # noqa: BLE001 - a bug in one device's work must not kill the daemon
            _log.exception("device work failed for %s", slot.spec.url)
            slot.next_check = self.monotonic() + self.check_interval_s
            if run_job:
                # Whoever asked is told, and the request is answered: nothing waits forever.
                outcome = classify.outcome_for(exc, slot.device_no, None, JobStep.PRECHECK)
                self._announce(slot, outcome)
        finally:
            slot.progress = None
            slot.job_running = False
            slot.busy = False
            slot.done.set()

    def _check_and_maybe_clear(
        self, slot: Slot, run_job: bool, requested: bool, verify_only: bool = False
    ) -> None:
        spec = slot.spec
        try:
            device = self.opener(spec.url)
        except DeviceError as exc:
            self._absent(slot, exc, run_job, requested)
            return
        with device:
            if not slot.present:
                slot.present = True
                slot.changes += 1  # plugged in (again): a device on hold gets another look
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
            if verify_only:
                # A new PIN was entered: reading the device tried it once; a job comes next tick.
                slot.next_check = self.monotonic() + self.check_interval_s
                return
            due = snapshot is not None and self._due(snapshot)
            resume = (
                self.resume and pending is not None and not slot.attempted and slot.next_job is None
            )
            auto = (
                self.policy == POLICY_AUTO
                and due
                and slot.next_job is None
                and not self._held(slot)
            )
            if run_job or resume or auto:
                self._run_job(slot, device)
            else:
                slot.next_check = self.monotonic() + self.check_interval_s

    def _held(self, slot: Slot) -> bool:
        """Tell whether a device that needs a person is still to be left alone."""
        if slot.hold is None:
            return False
        day, changes, until = slot.hold
        if day != clock().today() or changes != slot.changes or self.monotonic() >= until:
            slot.hold = None
            return False
        return True

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
            self._announce(slot, outcome, answer=False)

    def _verifier(self, slot: Slot, device: NisecDevice) -> Callable[[Identity], None]:
        def verify(identity: Identity) -> None:
            slot.identity = identity
            self.pins.verify(device, identity.device_no, slot.spec.pin)

        return verify

    def _snapshot(self, slot: Slot, device: NisecDevice) -> DeviceSnapshot:
        # A PIN this device rejected is never sent again, not even to read the status.
        snapshot = read_snapshot(device, self._verifier(slot, device))
        slot.snapshot = snapshot
        slot.identity = snapshot.identity
        slot.error = None
        if slot.last_outcome is None:
            slot.last_outcome = self.journal.last_outcome(snapshot.identity.device_no)
        self.emit({"event": "device", "url": slot.spec.url, "present": True, **snapshot.to_json()})
        self._warn(slot, snapshot)
        return snapshot

    @staticmethod
    def _due(snapshot: DeviceSnapshot) -> bool:
        clock_day = snapshot.clock.date()
        return any(
            t.status.stage is not Stage.CLEARED
            and t.monitor.bszzrq is not None
            and t.monitor.bszzrq < clock_day
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
        slot.attempted = True
        started = clock().stamp()

        def emit(event: dict[str, Any]) -> None:
            if event.get("event") == "step":
                # When the job began, so a screen opened mid-job shows the true elapsed time.
                slot.progress = {**event, "started_at": started}
            self.emit({"url": slot.spec.url, **event})

        try:
            identity = device.identify()
        except DeviceError as exc:
            # Busy, stalled, gone: the job could not even start. That is an outcome too.
            outcome = classify.outcome_for(exc, slot.device_no, None, JobStep.PRECHECK)
            self._announce(slot, self._schedule(slot, outcome))
            slot.next_check = self.monotonic() + self.check_interval_s
            return
        slot.identity = identity
        bureau = self.bureau_factory(identity)
        job = ClearingJob(
            device,
            bureau,
            self.backups,
            self.journal,
            pins=self.pins,
            pin=slot.spec.pin,
            expected_taxpayer=slot.spec.expected_taxpayer,
            emit=emit,
            stop=self.stop_event,
            url=slot.spec.url,
        )
        try:
            outcome = job.run(finish=lambda done: self._schedule(slot, done))
        finally:
            bureau.close()
        if outcome.kind.success:
            # Read the device again while it is open, so every screen shows the new lock date
            # by the time the job is reported finished.
            try:
                self._snapshot(slot, device)
            except DeviceError as exc:
                slot.error = error_json(exc)
        slot.next_check = self.monotonic() + self.check_interval_s
        self._announce(slot, outcome, recorded_as=job.outcome_id)

    def _schedule(self, slot: Slot, outcome: Outcome) -> Outcome:
        """Decide when the box tries again after ``outcome``, and say so in it."""
        delay = None
        if outcome.kind.success or outcome.kind is OutcomeKind.NOT_DUE:
            slot.failures = 0
        else:
            slot.failures += 1
            delay = retry_delay(outcome, slot.failures)
        slot.next_job = None if delay is None else self.monotonic() + delay
        slot.hold = None
        if outcome.kind is OutcomeKind.NEEDS_HUMAN and delay is None:
            slot.hold = (clock().today(), slot.changes, self.monotonic() + NEEDS_HUMAN_RECHECK_S)
        return replace(
            outcome,
            retry_at=clock().after(delay) if delay is not None else None,
            at=clock().now(),
            retry_helps=classify.retry_helps(outcome),
        )

    def _announce(
        self, slot: Slot, outcome: Outcome, *, recorded_as: int | None = None, answer: bool = True
    ) -> None:
        """Tell the world how an attempt ended; answer the requests it settles.

        ``recorded_as`` is the journal's id of an outcome a job recorded already (and answered
        its requests with, in the same transaction).
        """
        if outcome.at is None:
            outcome = replace(outcome, at=clock().now(), retry_helps=classify.retry_helps(outcome))
        outcome_id = recorded_as
        if outcome_id is None:
            outcome_id = self.journal.record_outcome(
                slot.device_no, outcome, None, slot.spec.url, answer=answer
            )
        slot.last_outcome = outcome
        self.emit(
            {
                "event": "outcome",
                "url": slot.spec.url,
                "outcome_id": outcome_id,
                **outcome.to_json(),
            }
        )

    # -- views for the API ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Return the state of every device, JSON-ready."""
        now = self.monotonic()
        devices = []
        with self._lock:
            slots = list(self.slots.values())
        for slot in slots:
            retry_in = None if slot.next_job is None else max(0.0, slot.next_job - now)
            device_no = slot.identity.device_no if slot.identity else None
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
                    "on_hold": slot.hold is not None,
                    "pin": (
                        self.pins.state(device_no, slot.spec.pin).to_json()
                        if device_no
                        else {"state": "unknown", "tries_left": None}
                    ),
                    "last_success": self.journal.last_success(device_no) if device_no else None,
                }
            )
        today = clock().today()
        deadline = self.calendar.deadline(today.year, today.month)
        return {
            "policy": self.policy,
            "devices": devices,
            "today": today.isoformat(),
            "now": clock().stamp(),
            "filing": {
                "month": f"{today.year}-{today.month:02d}",
                "deadline": deadline.isoformat(),
                "official": self.calendar.is_official(today.year, today.month),
                "days_left": (deadline - today).days,
            },
        }
