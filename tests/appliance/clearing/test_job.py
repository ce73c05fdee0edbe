"""The clearing job end to end: the real driver on the device simulator, the real bureau
simulator over HTTPS, a real journal and real backups."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest

from appliance.clearing.outcomes import OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.devices.errors import PinRejected
from appliance.protocol.commands import DEFAULT_PIN
from appliance.storage.errors import StorageFull
from tests.simulators.bureau.fixtures import PERIOD


def test_needs_clearing_ends_done_with_everything_recorded(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    outcome = r.run()
    assert outcome.kind is OutcomeKind.DONE, outcome
    assert outcome.code == "J-000"
    assert outcome.new_lock_date == date(2026, 12, 15)
    assert outcome.period == PERIOD
    assert "清卡成功" in outcome.message_zh
    assert r.kpjzsj() == {"007": 20261215235959, "026": 20261215235959}
    state = r.bureau_state()
    assert [(u["period"], u["type"]) for u in state["uploads"]] == [
        (PERIOD, "007"),
        (PERIOD, "026"),
    ]
    assert state["clearings"] == 1
    steps = [e["step"] for e in r.events if e["event"] == "step"]
    assert steps == [s.value for s in JobStep]
    assert [e["progress"] for e in r.events] == sorted(e["progress"] for e in r.events)
    periods = r.backups.periods()
    assert len(periods) == 1
    names = {f.name for f in periods[0].files}
    assert {"summary-007.bin", "summary-026.json", "receipt-026.json", "clearing-data.bin"} <= names
    assert r.backups.verify().ok
    history = r.journal.history()
    assert history[0]["kind"] == "done"


def test_second_run_is_already_cleared_and_sends_nothing(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    assert r.run().kind is OutcomeKind.DONE
    again = r.run()
    assert again.kind is OutcomeKind.ALREADY_CLEARED
    assert again.due_date == date(2026, 12, 1)
    assert r.bureau_state()["clearings"] == 1
    assert len(r.bureau_state()["uploads"]) == 2


def test_wrong_pin_needs_a_person_and_is_sent_once(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig("wrong-pin")
    first = r.run()
    assert first.kind is OutcomeKind.NEEDS_HUMAN
    assert first.code == "D-101"
    assert "还剩 2 次机会" in first.message_zh
    for _ in range(3):
        assert r.run().code == "D-101"
    assert r.backend.device.counters["verify_pin"] == 1
    assert r.backend.device.state["pin_tries_left"] == 2
    # A new PIN (set by a person) is tried once.
    assert r.run(pin="13572468").kind is OutcomeKind.DONE
    assert r.backend.device.counters["verify_pin"] == 2


def test_taxpayer_mismatch_sends_no_pin(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    outcome = r.run(expected_taxpayer="91420103MA0000000A")
    assert outcome.kind is OutcomeKind.NEEDS_HUMAN
    assert outcome.code == "J-301"
    assert r.backend.device.counters.get("verify_pin", 0) == 0


@pytest.mark.parametrize(
    ("scenario", "code"),
    [("training", "D-207"), ("zombie", "D-206"), ("offline-pending", "D-205")],
)
def test_devices_the_box_must_not_clear(rig, scenario: str, code: str) -> None:  # type: ignore[no-untyped-def]
    r = rig(scenario)
    outcome = r.run()
    assert outcome.kind is OutcomeKind.NEEDS_HUMAN
    assert outcome.code == code
    assert outcome.action_zh
    assert r.backend.device.counters.get("copy_tax", 0) == 0
    assert r.bureau_state()["uploads"] == []


def test_locked_device_still_clears(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig("locked", now="2026-11-19T10:00")
    r.bureau.admin.set_clock("2026-11-19T10:00:00")
    outcome = r.run()
    assert outcome.kind is OutcomeKind.DONE
    assert outcome.locked
    assert "锁定" in outcome.message_zh


def test_declaration_missing_then_filed(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.bureau.admin.set_declaration(r.taxpayer.taxpayer_id, "missing", PERIOD)
    outcome = r.run()
    assert outcome.kind is OutcomeKind.NEEDS_HUMAN
    assert outcome.code == "B-402"
    assert "一窗式" in outcome.message_zh
    assert outcome.extra["recheck"] == "declaration"
    assert r.journal.unfinished(r.taxpayer.device_no).step is JobStep.CLEAR_REQUEST
    r.bureau.admin.set_declaration(r.taxpayer.taxpayer_id, "filed", PERIOD)
    assert r.run().kind is OutcomeKind.DONE
    assert r.bureau_state()["clearings"] == 1


def test_certificate_revoked_is_not_retried(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.bureau.admin.set_certificate(r.taxpayer.taxpayer_id, "revoked")
    before = r.bureau.admin.stats()
    outcome = r.run()
    assert outcome.kind is OutcomeKind.NEEDS_HUMAN
    assert "作废" in outcome.message_zh
    after = r.bureau.admin.stats()
    # One hello and one auth: a permanent refusal is never sent again.
    assert sum(after.values()) - sum(before.values()) <= 2


def test_bureau_faults_are_retried_without_duplicates(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.bureau.admin.add_fault("reset", count=2)
    r.bureau.admin.add_fault("http-error", count=1, status=503)
    outcome = r.run()
    assert outcome.kind is OutcomeKind.DONE, outcome
    state = r.bureau_state()
    assert len(state["uploads"]) == 2
    assert state["clearings"] == 1


def test_bureau_down_is_retry_later_then_done(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.bureau.admin.add_fault("http-error", count=-1, status=503)
    outcome = r.run()
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.code.startswith("B-")
    r.bureau.admin.clear_faults()
    assert r.run().kind is OutcomeKind.DONE
    assert r.bureau_state()["clearings"] == 1


def test_unplugged_during_write_back_resumes_after_replug(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig(fault="unplug:write_clearing")
    outcome = r.run()
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.code == "D-002"
    assert r.journal.unfinished(r.taxpayer.device_no).step is JobStep.WRITE_BACK
    r.restart_device()
    done = r.run()
    assert done.kind is OutcomeKind.DONE
    assert r.bureau_state()["clearings"] == 1


def test_answer_lost_after_write_back_counts_as_done(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig(fault="unplug-after:write_clearing")
    assert r.run().kind is OutcomeKind.RETRY_LATER
    r.restart_device()
    done = r.run()
    assert done.kind is OutcomeKind.DONE
    # The device already shows next month's lock: the job goes straight to VERIFY.
    assert r.backend.device.counters.get("write_clearing", 0) == 0
    assert r.kpjzsj() == {"007": 20261215235959, "026": 20261215235959}


def test_busy_device_is_retry_later(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig(fault="busy:copy_tax")
    outcome = r.run()
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.code == "D-003"
    assert r.run().kind is OutcomeKind.DONE


def test_interrupted_at_every_step_resumes_to_done(rig) -> None:  # type: ignore[no-untyped-def]
    for stop_at in list(JobStep)[1:-1]:
        r = rig()
        stop = threading.Event()

        def emit(event, stop=stop, stop_at=stop_at, r=r):  # type: ignore[no-untyped-def]
            r.events.append(event)
            if event.get("step") == stop_at.value:
                stop.set()

        with r.device() as device:
            job = r.job(device, stop=stop)
            job._emit = emit
            interrupted = job.run()
        assert interrupted.kind is OutcomeKind.RETRY_LATER
        assert interrupted.code == "J-401"
        assert r.journal.unfinished(r.taxpayer.device_no).step is stop_at
        assert r.run().kind is OutcomeKind.DONE, stop_at
        state = r.bureau_state()
        assert state["clearings"] == 1
        assert len(state["uploads"]) == 2
        assert r.backups.verify().ok


def test_disk_full_before_backup_needs_a_person(rig, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    r = rig()

    def full(needed_bytes: int = 0) -> None:
        raise StorageFull("no space left on the data partition")

    monkeypatch.setattr(r.backups, "check_writable", full)
    outcome = r.run()
    assert outcome.kind is OutcomeKind.NEEDS_HUMAN
    assert outcome.code == "S-001"
    assert r.bureau_state()["uploads"] == []
    monkeypatch.undo()
    assert r.run().kind is OutcomeKind.DONE


def test_journal_holds_each_step_outputs(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    r.run()
    rows = r.db.query("SELECT step, data FROM journal ORDER BY id")
    assert [row["step"] for row in rows] == [s.value for s in list(JobStep)[1:]]
    assert json.loads(rows[0]["data"]) == sorted(
        ["period", "types", "locked", "clock_before", "identity", "monitor_before", "lock_before"]
    )


def test_the_default_pin_is_the_one_a_factory_device_accepts(rig) -> None:  # type: ignore[no-untyped-def]
    r = rig()
    with r.device() as device:
        device.verify_pin(DEFAULT_PIN)  # a device still on its factory PIN takes it
    with r.device() as device, pytest.raises(PinRejected):
        device.verify_pin("12345678")
