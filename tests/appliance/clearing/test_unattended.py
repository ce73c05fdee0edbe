"""What the box promises when nobody watches: a request survives a restart, every request ends in
exactly one outcome, the last outcome is known after a restart, a device that needs a person is
not tried every check, and a lost clearing answer never becomes a second clearing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from appliance.bureau.messages import REQUEST_CLEARING
from appliance.clearing.bureau_adapter import BureauAdapter
from appliance.clearing.engine import POLICY_AUTO, POLICY_BUTTON, Engine
from appliance.clearing.journal import Journal
from appliance.clearing.pins import PinGuard
from appliance.clearing.specs import DeviceSpec
from appliance.clearing.steps import JobStep
from appliance.devices.models import Identity
from appliance.devices.nisec import NisecDevice
from appliance.devices.urls import open_device
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.backups import BackupStore
from appliance.storage.database import Database
from simulators import catalog
from simulators.bureau import BureauProcess
from simulators.device import open_backend
from tests.appliance.clearing.conftest import _indices
from tests.simulators.bureau.fixtures import ANCHOR, FAST_RETRY


class Clock:
    """The engine's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Box:
    """An engine over one simulated device whose state lives in a file, restartable."""

    def __init__(
        self, folder: Path, bureau: BureauProcess, scenario: str, policy: str = POLICY_BUTTON
    ) -> None:
        self.folder = folder
        self.bureau = bureau
        self.index = next(_indices)
        self.scenario = scenario
        self.policy = policy
        self.url = f"sim://{scenario}#{self.index}"
        self.options = {
            "latency": "0",
            "now": ANCHOR.isoformat(),
            "index": str(self.index),
            "state": str(folder / "device.json"),
        }
        self.opens = 0
        self.events: list[dict[str, Any]] = []
        self.time = Clock()
        self.db: Database | None = None
        self.engine: Engine | None = None
        self.start()

    def _open(self, url: str) -> NisecDevice:
        self.opens += 1
        backend = open_backend(self.scenario, self.options)
        return open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)

    def _bureau(self, identity: Identity) -> BureauAdapter:
        return BureauAdapter(self.bureau.config(retry=FAST_RETRY, connect_timeout=2.0))

    def start(self) -> Engine:
        """Start (again) on the same database: what a restarted daemon finds."""
        self.db = Database(self.folder / "qingka.db")
        journal = Journal(self.db)
        self.engine = Engine(
            [DeviceSpec(self.url, DEFAULT_PIN, catalog.taxpayer(self.index).taxpayer_id)],
            journal=journal,
            backups=BackupStore(self.folder),
            bureau_factory=self._bureau,
            opener=self._open,
            emit=self.events.append,
            pins=PinGuard(journal, self.folder),
            policy=self.policy,
            monotonic=self.time,
        )
        return self.engine

    def crash(self) -> None:
        """Lose the process: nothing is stopped cleanly, only the file stays."""
        assert self.db is not None
        self.db.close()

    def settle(self, timeout: float = 30.0) -> None:
        """Tick until every device's work is finished."""
        assert self.engine is not None
        self.engine.tick()
        deadline = time.monotonic() + timeout
        while not self.engine.idle():
            assert time.monotonic() < deadline, "device work did not finish"
            self.engine.tick()
            time.sleep(0.01)

    def outcomes(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "outcome"]

    def close(self) -> None:
        assert self.engine is not None and self.db is not None
        self.engine.stop(10)
        self.db.close()


@pytest.fixture
def box(tmp_path: Path, bureau: BureauProcess) -> Any:
    made: list[Box] = []

    def make(scenario: str = "needs-clearing", policy: str = POLICY_BUTTON) -> Box:
        folder = tmp_path / f"box{len(made)}"
        folder.mkdir()
        built = Box(folder, bureau, scenario, policy)
        made.append(built)
        return built

    yield make
    for built in made:
        try:
            built.close()
        except Exception:
            pass


def test_a_request_acknowledged_before_a_crash_runs_after_the_restart(box: Any) -> None:
    b = box()
    assert b.engine.request_clear(b.url) == [b.url]
    b.crash()  # killed between acknowledging the tap and the job's first journal entry
    b.start()
    b.settle()
    assert [o["kind"] for o in b.outcomes()] == ["done"]
    assert b.engine.journal.open_requests() == []


def test_a_busy_device_ends_the_request_with_one_outcome(box: Any) -> None:
    b = box("busy")
    b.engine.request_clear(b.url)
    b.settle()
    outcomes = b.outcomes()
    assert len(outcomes) == 1
    assert outcomes[0]["kind"] == "retry-later"
    assert outcomes[0]["code"] == "D-003"
    assert outcomes[0]["retry_at"] is not None
    assert outcomes[0]["at"] is not None
    assert b.engine.journal.open_requests() == []


def test_a_bug_while_identifying_still_ends_the_request(box: Any) -> None:
    b = box()
    opened = b._open

    def broken(url: str) -> NisecDevice:
        device = opened(url)
        reads = {"n": 0}
        real = device.identify

        def identify() -> Identity:
            reads["n"] += 1
            if reads["n"] > 1:  # the job's own reading, after the status reading
                raise RuntimeError("a bug in the driver")
            return real()

        device.identify = identify  # type: ignore[method-assign]
        return device

    b.engine.opener = broken
    b.engine.request_clear(b.url)
    b.settle()
    outcomes = b.outcomes()
    assert [o["code"] for o in outcomes] == ["J-500"]


def test_the_last_outcome_is_known_after_a_restart(box: Any) -> None:
    b = box()
    b.engine.request_clear(b.url)
    b.settle()
    b.close()
    b.start()
    row = b.engine.status()["devices"][0]
    assert row["last_outcome"]["kind"] == "done"
    assert row["last_outcome"]["at"] is not None


def test_a_device_that_needs_a_person_waits_for_a_change(box: Any) -> None:
    b = box("training", POLICY_AUTO)
    b.settle()
    assert [o["kind"] for o in b.outcomes()] == ["needs-human"]
    jobs = len(b.outcomes())
    for _ in range(8):  # two hours of checks every 15 minutes: no new job
        b.time.now += 900
        b.settle()
    assert len(b.outcomes()) == jobs
    slot = b.engine.slots[b.url]
    slot.changes += 1  # plugged in again
    b.time.now += 900
    b.settle()
    assert len(b.outcomes()) == jobs + 1
    # Someone asking is a change too.
    b.engine.request_clear(b.url)
    b.settle()
    assert len(b.outcomes()) == jobs + 2


def test_a_lost_clearing_answer_never_becomes_a_second_clearing(
    box: Any, bureau: BureauProcess
) -> None:
    # A small-scale taxpayer's bureau issues a new clearing for every new business id.
    b = box()
    b.index = 1
    b.options["index"] = "1"
    b.url = "sim://needs-clearing#small"
    b.close()
    (b.folder / "qingka.db").unlink()
    b.start()
    taxpayer = catalog.taxpayer(1).taxpayer_id
    bureau.admin.reset(taxpayer)
    # The bureau acts on every clearing request and then loses its answer.
    bureau.admin.add_fault("reset", count=-1, service=REQUEST_CLEARING)
    b.engine.request_clear(b.url)
    b.settle()
    assert b.outcomes()[-1]["kind"] == "retry-later"
    job = b.engine.journal.unfinished(catalog.taxpayer(1).device_no)
    assert job is not None and job.step is JobStep.CLEAR_REQUEST
    b.crash()  # and the box restarts before the answer ever arrives
    bureau.admin.clear_faults()
    b.start()
    b.engine.request_clear(b.url)
    b.settle()
    assert b.outcomes()[-1]["kind"] == "done"
    assert bureau.admin.state(taxpayer)["clearings"] == 1


def test_an_outcome_says_whether_trying_again_helps(box: Any) -> None:
    wrong = box("wrong-pin")
    wrong.engine.request_clear(wrong.url)
    wrong.settle()
    assert wrong.outcomes()[-1]["retry_helps"] is False
    busy = box("busy")
    busy.engine.request_clear(busy.url)
    busy.settle()
    assert busy.outcomes()[-1]["retry_helps"] is True


def test_an_entered_pin_allows_one_new_try(box: Any) -> None:
    b = box("wrong-pin")
    b.engine.request_clear(b.url)
    b.settle()
    assert b.outcomes()[-1]["code"] == "D-101"
    assert b.engine.status()["devices"][0]["pin"] == {"state": "rejected", "tries_left": 2}
    # The same wrong PIN again: refused without a try.
    b.engine.request_clear(b.url)
    b.settle()
    assert json.loads((b.folder / "device.json").read_text())["pin_tries_left"] == 2
    answer = b.engine.set_pin(b.url, "13572468")
    assert answer["verified"] is True
    assert b.engine.status()["devices"][0]["pin"]["state"] == "ok"
    stored = b.folder / "pins" / answer["device_no"]
    assert stored.stat().st_mode & 0o777 == 0o600
    b.engine.request_clear(b.url)
    b.settle()
    assert b.outcomes()[-1]["kind"] == "done"


def test_an_outcome_and_the_answer_to_its_requests_are_one_transaction(tmp_path: Path) -> None:
    """Recorded together or not at all: a cut between them would run the request again."""
    from appliance.clearing.outcomes import Outcome, OutcomeKind  # noqa: PLC0415

    db = Database(tmp_path / "qingka.db")
    journal = Journal(db)
    url = "usb://0001:0002"
    journal.add_request(url, "kiosk")
    # An outcome the journal cannot serialize fails inside the transaction, after the answer.
    broken = Outcome(OutcomeKind.DONE, "J-000", "好", "ok", extra={"x": object()})
    with pytest.raises(TypeError):
        journal.record_outcome("661100000001", broken, None, url, answer=True)
    assert [request[1] for request in journal.open_requests()] == [url]
    assert journal.last_outcome_id() == 0
    done = Outcome(OutcomeKind.DONE, "J-000", "好", "ok")
    first = journal.record_outcome("661100000001", done, None, url, answer=True)
    assert journal.open_requests() == []
    second = journal.record_outcome("661100000001", done, None, url)
    assert second > first == journal.outcomes_after(0)[0]["outcome_id"]
    assert [row["url"] for row in journal.outcomes_after(first)] == [url]
    db.close()


def test_every_outcome_event_names_its_journal_record(box: Any) -> None:
    b = box()
    b.engine.request_clear(b.url)
    b.settle()
    b.engine.request_clear(b.url)
    b.settle()
    announced = [(o["outcome_id"], o["kind"]) for o in b.outcomes()]
    journaled = [(r["outcome_id"], r["kind"]) for r in b.engine.journal.outcomes_after(0)]
    assert announced == journaled
    # The second request finds the period cleared: an outcome of its own, recorded too.
    assert [kind for _, kind in announced] == ["done", "already-cleared"]
