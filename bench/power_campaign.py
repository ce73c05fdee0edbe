"""The power-cut campaign's rounds: what the office, the technician and the shop do, and when the
power goes.

Activities: ``enroll`` (an empty stick: the box makes its key), ``apply`` (a signed stick),
``start`` (the daemon starting, making its databases), ``clear`` (from the tap to the last
outcome) and ``resume`` (the daemon back after a cut, finishing). Each may be cut: at the n-th
change it makes to the disk, n drawn over the changes it makes (learnt from runs that were not
cut, from a prior before that), or for a share of cuts at a random moment of it. After a cut the
technician plugs the stick again, or the box restarts and resumes by itself; a person whose tap
got no answer taps again.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError
from bench.power_box import PowerBox
from bench.power_checks import SUCCESS, Inspector, Period, Report

FIRST_INDEX = 30000
FIRST_SERIAL = 100
# How much of what was not synced a cut keeps: nothing, about half, nearly all (a kill -9).
KEEP = (0.0, 0.5, 0.9)
# Chance that an activity is cut.
CHANCE = {"enroll": 0.7, "apply": 0.5, "start": 0.3, "clear": 1.0, "resume": 0.7}
# Changes each activity makes to the disk before a run without a cut has measured it: the first
# enrollment, apply and start (which makes the databases) are cut too.
PRIOR = {"enroll": 40, "apply": 120, "start": 150, "clear": 800}
# A share of the cuts strike at a random moment instead of at a change.
TIMED_SHARE = 0.2
# An acknowledged request is lost when the daemon sits idle this long without its outcome (the
# daemon says whether a device is being cleared, or a clear waits for it)...
IDLE_TIMEOUT_S = 15.0
# ... or when it takes longer than this in all: far more than a clearing, however slow the disk.
OUTCOME_TIMEOUT_S = 300.0
ATTEMPTS = 10


class Campaign:
    """Rounds of provisioning and clearing on one box, with the power cut at random."""

    def __init__(self, box: PowerBox, seed: int, cuts: int, devices: int) -> None:
        self.box = box
        # The seed fixes every draw; the moments the processes reach are the machine's.
        self.rng = random.Random(seed)
        self.wanted = cuts
        self.devices = devices
        self.report = Report()
        self.inspect = Inspector(box, self.report)
        self.changes: dict[str, int] = {}
        self.activity = "setup"
        self._armed = False
        # A timed cut strikes only while its token is the current one (see _disarm).
        self._token = 0
        self._cutting = threading.Lock()
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="switch", daemon=True)

    # -- the hand on the switch ---------------------------------------------------------------

    def _watch(self) -> None:
        """Cut the power as soon as an armed change trips."""
        while not self._stop.is_set():
            where = self.box.fs.wait_trip(0.2)
            if where is not None:
                self._cut(where)

    def _cut(self, where: dict[str, Any] | None, token: int | None = None) -> None:
        with self._cutting:
            if token is not None and (token != self._token or not self.box.processes()):
                return
            keep = self.rng.choice(KEEP)
            seed = self.rng.randrange(1 << 30)
            cut = self.box.cut(self.activity, seed, keep, where, self.inspect.after_cut)
            self._armed = False
        report = self.report
        report.cuts += 1
        report.where[cut.area if where else "timed"] += 1
        report.during[cut.during] += 1
        report.lost_parts.update(cut.lost)
        report.cut_log.append(cut)

    def _arm(self, activity: str) -> None:
        """Maybe arm a cut within ``activity``."""
        self.activity = activity
        if self.report.cuts >= self.wanted or self.rng.random() >= CHANCE[activity]:
            return
        if self.rng.random() < TIMED_SHARE:
            seconds = self.report.seconds.get(activity, 0.0) / max(1, self.report.runs[activity])
            delay = self.rng.uniform(0.0, seconds or 1.0)
            threading.Timer(delay, self._cut, (None, self._token)).start()
            return
        base = "clear" if activity == "resume" else activity
        self._armed = True
        self.box.fs.arm(self.rng.randint(1, self.changes.get(base, PRIOR[base])))

    def _disarm(self) -> None:
        """Stop waiting for a change; if one tripped meanwhile, wait for its cut."""
        with self._cutting:
            self._token += 1  # a timed cut not yet struck never will
        if self._armed and self.box.fs.disarm() is not None:
            self.box.cut_done.wait(30)
        self._armed = False

    def _timing(self, activity: str, started: float) -> None:
        seconds = self.report.seconds
        seconds[activity] = seconds.get(activity, 0.0) + time.monotonic() - started
        self.report.runs[activity] += 1

    def _changes(self) -> int:
        return int(self.box.fs.stats()["changes"])

    def _learn(self, activity: str, before: int, was_cut: bool) -> None:
        if not was_cut:
            seen = self._changes() - before
            self.changes[activity] = max(self.changes.get(activity, 0), seen)

    def _activity(self, activity: str, action: Any) -> tuple[Any, bool]:
        """Run ``action`` as ``activity`` (maybe cut); return its result and whether it was cut."""
        before = self._changes()
        self.box.cut_done.clear()
        self._arm(activity)
        started = time.monotonic()
        result = action()
        self._timing(activity, started)
        self._disarm()
        was_cut = self.box.cut_done.is_set()
        self._learn(activity, before, was_cut)
        return result, was_cut

    # -- the rounds ---------------------------------------------------------------------------

    def run(self) -> Report:
        """Enroll, then run rounds until enough cuts were made; check the end state."""
        self._watcher.start()
        try:
            self.enroll()
            while self.report.cuts < self.wanted or self.report.rounds < 2:
                self.round()
            self.activity = "end"
            self.box.stop_daemon()
            self.inspect.databases()
        finally:
            self._stop.set()
            self._watcher.join()
        return self.report

    def enroll(self) -> None:
        """Plug an empty stick until the box has written its enrollment request."""
        for _attempt in range(ATTEMPTS):
            enrolled, was_cut = self._activity("enroll", self.box.enroll)
            if enrolled and not was_cut:
                return
        raise RuntimeError("the box never enrolled")

    def round(self) -> None:
        """Provision new devices, restart the daemon, clear them, check every period."""
        number = self.report.rounds
        self.report.rounds += 1
        first = FIRST_INDEX + number * self.devices
        devices = [self.box.device(first + i) for i in range(self.devices)]
        serial = FIRST_SERIAL + number
        self.provision(self.box.make_stick(serial, devices), serial)
        self.box.stop_daemon()
        self.start()
        periods = [Period(device) for device in devices]
        self.clear(periods)
        self.activity = "checks"
        self.settle()
        started = time.monotonic()
        self.inspect.periods(periods)
        self._timing("checks", started)

    def provision(self, stick: Path, serial: int) -> None:
        """Apply the stick until its configuration is in effect (a cut may strike meanwhile)."""
        for _attempt in range(ATTEMPTS):
            result, was_cut = self._activity("apply", lambda: self.box.apply(stick))
            if self.inspect.current_serial() == serial:
                return
            if not was_cut:
                self.inspect.fail(f"bundle {serial} not applied: {result}")
                return
        self.inspect.fail(f"bundle {serial} never applied")

    def start(self) -> None:
        """Start the daemon until it answers (a cut may strike while it starts)."""
        for _attempt in range(ATTEMPTS):
            up, was_cut = self._activity("start", self.box.start_daemon)
            if up and not was_cut:
                return
            if not was_cut:
                self.inspect.fail(f"the daemon did not start: {self.box.log.read_text()[-2000:]}")
                return
        self.inspect.fail("the daemon never started")

    def clear(self, periods: list[Period]) -> None:
        """Ask for every clearing and wait for every outcome, restarting after each cut."""
        before = self._changes()
        self.box.cut_done.clear()
        self._arm("clear")
        started = time.monotonic()
        was_cut = False
        moving = time.monotonic()
        while time.monotonic() - started < OUTCOME_TIMEOUT_S:
            if self.box.cut_done.is_set():
                was_cut = True
                self.box.cut_done.clear()
                self.start()
                self._arm("resume")
                moving = time.monotonic()
                continue
            waiting = [p for p in periods if p.outcome is None or p.outcome["kind"] not in SUCCESS]
            if not waiting:
                break
            for period in waiting:
                if period.requested_at is None or period.outcome is not None:
                    self.ask(period)
            if self.look(periods):
                moving = time.monotonic()
            elif time.monotonic() - moving > IDLE_TIMEOUT_S:
                break  # idle, and an outcome is missing: the check counts it lost
            time.sleep(0.1)
        self._timing("clear", started)
        self._disarm()
        self._learn("clear", before, was_cut or self.box.cut_done.is_set())
        if self.box.cut_done.is_set():
            # The last cut came after the last outcome: the box must still know them all.
            self.box.cut_done.clear()
            self.start()

    def ask(self, period: Period) -> None:
        """Tap "clear" for one device; the answer acknowledges the request."""
        try:
            with ApiClient(self.box.paths.api_socket, timeout=10.0) as client:
                reply = client.call("clear", device=period.device.url)
        except ApiError:
            # The daemon is gone (a cut: tap again once it is back), or the device is being
            # cleared already (a resumed job, whose outcome answers the tap).
            return
        period.requested_at = str(reply["requested_at"])
        period.outcome = None
        period.asked += 1
        self.report.acknowledged += 1

    def look(self, periods: list[Period]) -> bool:
        """Read each device's last outcome, keep it if it answers the last request; return
        whether the daemon is still at work for them (or cannot say: it is restarting)."""
        try:
            with ApiClient(self.box.paths.api_socket, timeout=10.0) as client:
                rows = client.call("devices")
        except ApiError:
            return True
        by_url = {row["url"]: row for row in rows}
        working = False
        for period in periods:
            row = by_url.get(period.device.url) or {}
            working = working or bool(row.get("busy") or row.get("clearing"))
            last = row.get("last_outcome")
            if period.requested_at is None or not last or period.outcome is not None:
                continue
            if datetime.fromisoformat(last["at"]) >= datetime.fromisoformat(period.requested_at):
                period.outcome = last
                working = True  # an outcome came: that is progress
                if last["kind"] not in SUCCESS and period.asked >= 3:
                    self.inspect.fail(f"device {period.device.index}: {last['code']} three times")
        return working

    def settle(self) -> None:
        """Wait until the daemon has nothing left to do (a request a cut left open reruns)."""
        deadline = time.monotonic() + OUTCOME_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with ApiClient(self.box.paths.api_socket, timeout=10.0) as client:
                    rows = client.call("devices")
            except ApiError:
                rows = [{"busy": True}]
            if not any(row.get("busy") or row.get("clearing") for row in rows):
                return
            time.sleep(0.1)
        self.inspect.fail("the daemon never became idle")
