"""Kill -9 campaign: a clearing killed at random instants, restarted until it ends.

Each round takes a fresh simulated device (its state in a file, as a real device keeps it) and
kills the process clearing it with SIGKILL at a random moment, again and again, until a run
ends by itself. Rounds take turns:

- ``qingka clear`` as its own process (no daemon), started again after each kill;
- the daemon, asked once through its API to clear (a tap that was acknowledged), killed and
  started again *without* asking again: the journaled request must still be answered.

Every third round is the small-scale taxpayer, whose bureau issues a new clearing for every
new business id, with the bureau also losing answers (it acts, then resets the connection).

Then it checks what must hold after any crash: the job ended ``done``, the bureau holds exactly
one accepted upload per invoice type and one clearing for the period, the backups verify, the
device locks at next month's deadline, and no acknowledged request was lost.

    python -m bench.crash_campaign --kills 300 [--seed N]
"""

from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient, is_running
from appliance.api.errors import ApiError
from appliance.bureau.messages import REQUEST_CLEARING, UPLOAD_SUMMARY
from appliance.storage.backups import BackupStore
from bench.report import figure, finish, say
from simulators import catalog
from simulators.bureau import BureauProcess, spawn
from simulators.bureau.ready import ENDPOINTS_FILE
from simulators.device import open_backend

ANCHOR = "2026-11-05T10:00:00"
EXPECTED_LOCK = 20261215235959
# Device latency scale: realistic timings, shortened so a round takes about a second.
LATENCY = "0.5"
FIRST_INDEX = 20000
# The catalog's small-scale taxpayer (its bureau is reset before each of its rounds).
SMALL_SCALE_INDEX = 1
# How long a restarted daemon may take to answer a journaled request.
ANSWER_TIMEOUT_S = 60.0
# Where a kill is aimed: the journal's step names, plus the time before the job is journaled.
STEPS = [
    "before-journal",
    "copy-tax",
    "backup",
    "upload",
    "clear-request",
    "write-back",
    "verify",
]


@dataclass
class Report:
    """What a campaign found."""

    kills: int = 0
    rounds: int = 0
    done: int = 0
    duplicate_uploads: int = 0
    duplicate_clearings: int = 0
    lost_requests: int = 0
    daemon_rounds: int = 0
    small_scale_rounds: int = 0
    small_scale_clearings: list[int] = field(default_factory=list)
    lost_or_bad_backups: int = 0
    wrong_lock: int = 0
    killed_at: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether every invariant held in every round."""
        return not self.failures and self.done == self.rounds


class Campaign:
    """Runs rounds against one bureau simulator, in one folder."""

    def __init__(self, folder: Path, bureau: BureauProcess, seed: int) -> None:
        self.folder = folder
        self.bureau = bureau
        self.random = random.Random(seed)
        self.report = Report()

    def _config(self, box: Path, index: int, daemon: bool = False) -> Path:
        url = (
            f"sim://needs-clearing?state={box / 'device.json'}&index={index}"
            f"&latency={LATENCY}&now={ANCHOR}"
        )
        ready = self.bureau.ready
        path = box / "qingka.toml"
        path.write_text(
            "\n".join(
                [
                    f'data_dir = "{box / "data"}"',
                    "[schedule]",
                    # Only the acknowledged request may start the daemon's job.
                    f'policy = "{"button-only" if daemon else "auto"}"',
                    "[api]",
                    f'socket = "{box / "api.sock"}"',
                    "[[device]]",
                    f'url = "{url}"',
                    f'taxpayer_id = "{catalog.taxpayer(index).taxpayer_id}"',
                    "[bureau]",
                    f'endpoints_file = "{self.bureau.data_dir / ENDPOINTS_FILE}"',
                    f'ca_bundle = "{ready.ca_cert}"',
                    f'public_key = "{ready.bureau_public_key}"',
                    "connect_timeout = 2",
                    "retry_deadline = 10",
                ]
            )
            + "\n"
        )
        return path

    def _start(self, config: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "appliance", "clear", "--config", str(config), "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _await_step(self, box: Path, process: subprocess.Popen[bytes], step: str) -> None:
        """Wait until the journal shows ``step`` (or the run has moved past it, or ended)."""
        order = [*STEPS, "finished"]
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            now = self._step_now(box)
            if now in order and order.index(now) >= order.index(step):
                return
            time.sleep(0.005)

    def _step_now(self, box: Path) -> str:
        db = box / "data" / "qingka.db"
        if not db.exists():
            return "before-journal"
        try:
            conn = sqlite3.connect(db)
            try:
                row = conn.execute("SELECT step, finished FROM jobs").fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return "before-journal"
        if row is None:
            return "precheck"
        return "finished" if row[1] else str(row[0])

    def _daemon(self, config: Path, box: Path) -> subprocess.Popen[bytes]:
        log = (box / "daemon.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "appliance", "daemon", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not is_running(box / "api.sock") and time.monotonic() < deadline:
            time.sleep(0.02)
        return process

    def _answered(self, box: Path) -> bool:
        """Tell whether the daemon reported the device done (the request's outcome)."""
        try:
            with ApiClient(box / "api.sock", timeout=5) as client:
                last = client.call("status")["devices"][0]["last_outcome"]
        except ApiError:
            return False
        return bool(last) and last["kind"] == "done"

    def _faults(self) -> None:
        """Have the bureau act on a request and then lose its answer, now and then."""
        for service in (UPLOAD_SUMMARY, REQUEST_CLEARING):
            if self.random.random() < 0.5:
                self.bureau.admin.add_fault("reset", count=1, service=service)

    def round(self, kills_left: int) -> int:
        """Run one device to the end with kills on the way; return the kills made."""
        small = self.report.rounds % 3 == 2
        index = SMALL_SCALE_INDEX if small else FIRST_INDEX + self.report.rounds
        daemon = self.report.rounds % 2 == 1
        box = self.folder / f"round{self.report.rounds}"
        box.mkdir()
        config = self._config(box, index, daemon)
        self.report.rounds += 1
        if small:
            self.report.small_scale_rounds += 1
            self.bureau.admin.reset(catalog.taxpayer(index).taxpayer_id)
            self._faults()
        try:
            if daemon:
                self.report.daemon_rounds += 1
                return self._daemon_round(box, config, index, kills_left)
            return self._cli_round(box, config, index, kills_left)
        finally:
            self.bureau.admin.clear_faults()

    def _daemon_round(self, box: Path, config: Path, index: int, kills_left: int) -> int:
        """Ask a daemon once; kill it and start it again without asking; it must answer."""
        process = self._daemon(config, box)
        kills = 0
        try:
            with ApiClient(box / "api.sock", timeout=10) as client:
                client.call("clear")
            while kills < kills_left and self.random.random() < 0.8:
                self._await_step(box, process, self.random.choice(STEPS))
                time.sleep(self.random.uniform(0.0, 0.15))
                step = self._step_now(box)
                if process.poll() is not None or step == "finished":
                    break
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                self.report.killed_at[step] += 1
                process = self._daemon(config, box)
            deadline = time.monotonic() + ANSWER_TIMEOUT_S
            while not self._answered(box) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not self._answered(box):
                self.report.lost_requests += 1
                self.report.failures.append(f"round in {box.name}: the acknowledged clear was lost")
                return kills
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        self._check(box, index)
        return kills

    def _cli_round(self, box: Path, config: Path, index: int, kills_left: int) -> int:
        kills = 0
        for _attempt in range(60):
            process = self._start(config)
            if kills < kills_left and self.random.random() < 0.8:
                self._await_step(box, process, self.random.choice(STEPS))
                # Anywhere inside that step: its device commands, its bureau calls, its writes.
                time.sleep(self.random.uniform(0.0, 0.15))
                step = self._step_now(box)
                # A kill after the job finished (the process only printing) proves nothing.
                if process.poll() is None and step != "finished":
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    kills += 1
                    self.report.killed_at[step] += 1
                    continue
            if process.wait(120) == 0:
                break
        else:
            self.report.failures.append(f"round {index}: never ended done")
            return kills
        self._check(box, index)
        return kills

    def _check(self, box: Path, index: int) -> None:
        taxpayer = catalog.taxpayer(index)
        state = self.bureau.admin.state(taxpayer.taxpayer_id)
        uploads = Counter((u["period"], u["type"]) for u in state["uploads"])
        if len(uploads) != 2 or any(n != 1 for n in uploads.values()):
            self.report.duplicate_uploads += 1
            self.report.failures.append(f"round {index}: uploads {state['uploads']}")
        if index == SMALL_SCALE_INDEX:
            self.report.small_scale_clearings.append(int(state["clearings"]))
        if state["clearings"] != 1:
            self.report.duplicate_clearings += 1
            self.report.failures.append(f"round {index}: {state['clearings']} clearings")
        verify = BackupStore(box / "data").verify()
        if not verify.ok or verify.verified == 0:
            self.report.lost_or_bad_backups += 1
            self.report.failures.append(f"round {index}: backups {verify}")
        backend = open_backend(
            "needs-clearing", {"state": str(box / "device.json"), "latency": "0"}
        )
        locks = {r["monitor"]["kpjzsj"] for r in backend.device.state["types"].values()}
        if locks != {EXPECTED_LOCK}:
            self.report.wrong_lock += 1
            self.report.failures.append(f"round {index}: lock moments {locks}")
        else:
            self.report.done += 1

    def run(self, kills: int) -> Report:
        """Run rounds until ``kills`` kills were made."""
        while self.report.kills < kills:
            self.report.kills += self.round(kills - self.report.kills)
        return self.report


def run_campaign(kills: int, seed: int, folder: Path | None = None) -> Report:
    """Run a whole campaign with its own bureau simulator."""
    with tempfile.TemporaryDirectory(prefix="qingka-crash-") as tmp:
        root = folder or Path(tmp)
        with spawn(root / "bureau", now=datetime.fromisoformat(ANCHOR)) as bureau:
            return Campaign(root, bureau, seed).run(kills)


def main() -> None:
    """Run the campaign and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=300)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    started = time.monotonic()
    report = run_campaign(args.kills, args.seed)
    elapsed = time.monotonic() - started
    say(f"{report.kills} kills over {report.rounds} clearings (seed {args.seed}, {elapsed:.0f} s)")
    say(
        "killed while the journal stood at: "
        + ", ".join(f"{step} {count}" for step, count in sorted(report.killed_at.items()))
    )
    say(f"ended done and verified: {report.done} of {report.rounds}")
    say(f"duplicate uploads: {report.duplicate_uploads}")
    say(f"duplicate clearings: {report.duplicate_clearings}")
    say(f"lost or unverifiable backups: {report.lost_or_bad_backups}")
    say(f"wrong lock date: {report.wrong_lock}")
    say(f"daemon rounds (one acknowledged tap each): {report.daemon_rounds}")
    say(f"acknowledged requests lost: {report.lost_requests}")
    say(
        f"small-scale taxpayer rounds (bureau losing answers): {report.small_scale_rounds},"
        f" clearings at the bureau per period: {report.small_scale_clearings}"
    )
    for failure in report.failures:
        say(f"FAILED {failure}")
    figures: dict[str, Any] = {
        "kills": figure(report.kills, "kills", ">= 300"),
        "clearings": figure(report.rounds, "jobs"),
        "done": figure(report.done / max(report.rounds, 1), "fraction", "1.0"),
        "duplicate_uploads": figure(report.duplicate_uploads, "jobs", "0"),
        "duplicate_clearings": figure(report.duplicate_clearings, "jobs", "0"),
        "lost_or_unverifiable_backups": figure(report.lost_or_bad_backups, "jobs", "0"),
        "wrong_lock_date": figure(report.wrong_lock, "jobs", "0"),
        "lost_requests": figure(report.lost_requests, "requests", "0"),
        "daemon_rounds": figure(report.daemon_rounds, "jobs"),
        "small_scale_rounds": figure(report.small_scale_rounds, "jobs"),
        "small_scale_max_clearings_per_period": figure(
            max(report.small_scale_clearings, default=0), "clearings", "1"
        ),
        "killed_at": {step: count for step, count in sorted(report.killed_at.items())},
    }
    finish("crash_campaign", figures)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
