"""Every scenario, through pyusb with real CBW/CSW bytes: what it holds and how it answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from appliance.calendar import Stage, default_calendar, derive_status
from appliance.devices.models import to_date, to_datetime
from appliance.protocol import commands, sense
from simulators import catalog
from simulators.device import SCENARIOS, open_backend
from simulators.device.core import ec_native, ledger
from simulators.device.core.state import check_state
from simulators.device.scenarios import SIM_PIN, build
from tests.simulators.device.clearing import valid_blob
from tests.simulators.device.conftest import ANCHOR, FrozenClock, OpenSim
from tests.simulators.device.host import Host, Refused

CALENDAR = default_calendar()
THIS_LOCK = 20261116235959  # November 2026: deadline the 16th
NEXT_LOCK = 20261215235959


def stage_of(host: Host, code: str) -> Any:
    clock = to_datetime(host.call("read_clock")["clock"])
    host.select(code)
    monitor = host.call("read_monitor")
    lock = to_datetime(monitor["kpjzsj"])
    assert clock is not None and lock is not None
    return derive_status(code, clock, lock, to_date(monitor["zxbsrq"]))


def opened(open_sim: OpenSim, scenario: str, **options: Any) -> Host:
    host = Host(open_sim(scenario, **options))
    host.open(None)
    return host


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("month", range(1, 13))
@pytest.mark.parametrize("year", [2023, 2026, 2027])
def test_every_scenario_builds_a_valid_state_in_every_month(
    name: str, month: int, year: int
) -> None:
    built = build(name, datetime(year, month, 5, 10), CALENDAR)
    check_state(built.state)
    for record in built.state["types"].values():
        assert ledger.balance(record["stats"]) == record["stats"]["stock_end"]
        assert record["stats"]["stock_end"] >= 0


def test_needs_clearing_monitor_data(open_sim: OpenSim) -> None:
    host = opened(open_sim, "needs-clearing")
    identity = host.call("identify")
    payer = catalog.taxpayer(0)
    assert identity["taxpayer_id"] == payer.taxpayer_id
    assert identity["family"] == commands.FAMILY_UKEY
    assert identity["training"] == 0
    assert host.call("list_types")["types"] == ["007", "026"]
    assert host.call("read_clock")["clock"] == 20261105100000
    assert host.call("verify_pin", {"pin": commands.DEFAULT_PIN}) == {"tries_left": 5}
    for code in ("007", "026"):
        host.select(code)
        monitor = host.call("read_monitor")
        assert monitor["kpjzsj"] == THIS_LOCK
        assert (monitor["bsqsrq"], monitor["bszzrq"]) == (20261001, 20261031)
        assert 20261001 <= monitor["zxbsrq"] <= 20261016
        assert monitor["offline_pending"] == 0
        assert stage_of(host, code).stage == Stage.NEEDS_REPORT


def test_a_whole_clearing(open_sim: OpenSim) -> None:
    host = opened(open_sim, "needs-clearing")
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    public = host.call("read_cert")["public_key"]
    for code in ("007", "026"):
        host.select(code)
        with pytest.raises(Refused) as none_yet:
            host.call("read_summary")
        assert none_yet.value.status == sense.SW_NO_SUMMARY
        copied = host.call("copy_tax")
        assert copied == {"type": code, "period": 202610, "zxbsrq": 20261105}
        assert host.call("copy_tax") == copied  # idempotent within the month
        summary = host.call("read_summary")
        assert summary["period"] == 202610
        assert (summary["bsqsrq"], summary["bszzrq"]) == (20261001, 20261031)
        assert summary["device_no"] == "661900000000"
        assert ledger.balance(summary) == summary["stock_end"]
        assert summary["issued_tax"] == summary["issued_amount"] * 13 // 100
        signed = commands.signed_bytes(commands.SUMMARY_LAYOUT, summary)
        assert ec_native.verify(public, signed, summary["signature"])
        assert host.call("read_summary") == summary  # deterministic signature
        assert stage_of(host, code).stage == Stage.REPORTED
    state = host.backend.device.state
    old_stock = state["types"]["026"]["stats"]["stock_end"]
    result = host.call("write_clearing", {"data": valid_blob(state)})
    assert result == {"types": ["007", "026"], "kpjzsj": NEXT_LOCK}
    for code in ("007", "026"):
        assert stage_of(host, code).stage == Stage.CLEARED
        monitor = host.call("read_monitor")
        assert (monitor["bsqsrq"], monitor["bszzrq"]) == (20261101, 20261130)
        assert host.status("read_summary") == sense.SW_NO_SUMMARY
        assert host.status("copy_tax") == sense.SW_NOT_REPORT_TIME
    assert state["types"]["026"]["stats"]["stock_start"] == old_stock
    again = host.status("write_clearing", {"data": valid_blob(state, period=202610)})
    assert again == sense.SW_ALREADY_CLEARED


def test_reported_not_cleared(open_sim: OpenSim) -> None:
    host = opened(open_sim, "reported-not-cleared")
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    before = host.call("read_monitor")["zxbsrq"]
    assert before == 20261104
    assert host.call("read_summary")["period"] == 202610
    assert host.call("copy_tax") == {"type": "026", "period": 202610, "zxbsrq": before}
    assert stage_of(host, "026").stage == Stage.REPORTED
    state = host.backend.device.state
    assert host.call("write_clearing", {"data": valid_blob(state)})["kpjzsj"] == NEXT_LOCK


def test_already_cleared(open_sim: OpenSim) -> None:
    host = opened(open_sim, "already-cleared")
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    for code in ("007", "026"):
        status = stage_of(host, code)
        assert status.stage == Stage.CLEARED
        assert status.lock_at == datetime(2026, 12, 15, 23, 59, 59)
        assert host.status("copy_tax") == sense.SW_NOT_REPORT_TIME
        assert host.status("read_summary") == sense.SW_NO_SUMMARY
    state = host.backend.device.state
    last_month = valid_blob(state, period=202610)
    assert host.status("write_clearing", {"data": last_month}) == sense.SW_ALREADY_CLEARED


def test_locked(open_sim: OpenSim) -> None:
    host = opened(open_sim, "locked")
    assert host.call("read_clock")["clock"] == 20261119100000  # deadline 16th + 3 days
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    status = stage_of(host, "026")
    assert status.locked and not status.zombie
    assert status.stage == Stage.NEEDS_REPORT
    assert host.call("copy_tax")["zxbsrq"] == 20261119  # a locked device still reports
    host.select("007")
    host.call("copy_tax")
    state = host.backend.device.state
    assert host.call("write_clearing", {"data": valid_blob(state)})["kpjzsj"] == NEXT_LOCK


def test_zombie(open_sim: OpenSim) -> None:
    host = opened(open_sim, "zombie")
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    status = stage_of(host, "026")
    assert status.zombie
    assert ANCHOR - status.lock_at > timedelta(days=90)
    assert ANCHOR - status.lock_at < timedelta(days=150)
    assert host.status("copy_tax") == sense.SW_MULTI_MONTH


def test_training(open_sim: OpenSim) -> None:
    host = opened(open_sim, "training")
    assert host.call("identify")["training"] == 1
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    assert host.status("copy_tax") == sense.SW_TRAINING
    state = host.backend.device.state
    assert host.status("write_clearing", {"data": valid_blob(state)}) == sense.SW_TRAINING


def test_wrong_pin_counts_down_and_locks(open_sim: OpenSim) -> None:
    host = opened(open_sim, "wrong-pin")
    with pytest.raises(Refused) as wrong:
        host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    assert wrong.value.status == sense.SW_PIN_WRONG | 2
    assert wrong.value.detail == 2
    assert wrong.value.sense.key == sense.KEY_DATA_PROTECT
    assert host.backend.device.counters["verify_pin"] == 1
    assert host.status("select_type", {"type": "026"}) == sense.SW_PIN_REQUIRED
    assert host.call("verify_pin", {"pin": SIM_PIN}) == {"tries_left": 3}  # reset to max
    host.select("026")
    for left in (2, 1, 0):
        assert host.status("verify_pin", {"pin": "00000000"}) == sense.SW_PIN_WRONG | left
    assert host.status("select_type", {"type": "026"}) == sense.SW_PIN_REQUIRED
    assert host.status("verify_pin", {"pin": SIM_PIN}) == sense.SW_PIN_BLOCKED
    assert host.backend.device.counters["verify_pin"] == 6
    assert host.backend.device.state["pin_tries_left"] == 0


def test_pin_locked(open_sim: OpenSim) -> None:
    host = opened(open_sim, "pin-locked")
    assert host.status("verify_pin", {"pin": SIM_PIN}) == sense.SW_PIN_BLOCKED


def test_pin_option(open_sim: OpenSim) -> None:
    host = opened(open_sim, "needs-clearing", pin="24681357")
    assert host.status("verify_pin", {"pin": commands.DEFAULT_PIN}) == sense.SW_PIN_WRONG | 4
    assert host.call("verify_pin", {"pin": "24681357"}) == {"tries_left": 5}


def test_offline_pending(open_sim: OpenSim) -> None:
    host = opened(open_sim, "offline-pending")
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    assert host.call("read_monitor")["offline_pending"] == 3
    assert host.status("copy_tax") == sense.SW_OFFLINE_PENDING
    host.select("007")
    assert host.call("copy_tax")["period"] == 202610


def test_clock_drift_is_the_device_clock_that_counts(open_sim: OpenSim) -> None:
    host = opened(open_sim, "clock-drift")
    clock = to_datetime(host.call("read_clock")["clock"])
    assert clock is not None
    assert clock != ANCHOR
    assert clock.month == ANCHOR.month
    assert abs(clock - ANCHOR) >= timedelta(hours=1)
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    assert to_date(host.call("copy_tax")["zxbsrq"]) == clock.date()


def test_drift_option_moves_the_device_clock(open_sim: OpenSim) -> None:
    host = opened(open_sim, "needs-clearing", drift=-86400 * 5)
    assert host.call("read_clock")["clock"] == 20261031100000
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    assert host.status("copy_tax") == sense.SW_NOT_REPORT_TIME  # the device still lives in October


@pytest.mark.parametrize(
    ("scenario", "status"),
    [("clock-error", sense.SW_CLOCK_ERROR), ("clock-factor", sense.SW_CLOCK_FACTOR)],
)
def test_clock_faults_refuse_copy_tax(open_sim: OpenSim, scenario: str, status: int) -> None:
    host = opened(open_sim, scenario)
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("026")
    assert host.status("copy_tax") == status


def test_busy(open_sim: OpenSim) -> None:
    host = Host(open_sim("busy"))
    assert host.status("open_session") == sense.SW_BUSY


def test_multi_type_clears_three_types_at_once(open_sim: OpenSim) -> None:
    host = opened(open_sim, "multi-type")
    assert host.call("list_types")["types"] == ["004", "007", "026"]
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("004")
    assert host.call("read_monitor")["dzkpxe"] == 100_000_000
    for code in ("004", "007", "026"):
        host.select(code)
        host.call("copy_tax")
    state = host.backend.device.state
    result = host.call("write_clearing", {"data": valid_blob(state)})
    assert result["types"] == ["004", "007", "026"]


def test_small_scale(open_sim: OpenSim) -> None:
    host = opened(open_sim, "small-scale")
    identity = host.call("identify")
    assert identity["taxpayer_id"] == catalog.taxpayer(1).taxpayer_id
    assert identity["taxpayer_kind"] == commands.KIND_SMALL
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    host.select("007")
    host.call("copy_tax")
    summary = host.call("read_summary")
    assert summary["issued_tax"] == summary["issued_amount"] * 1 // 100
    assert summary["issued_count"] <= 60


def test_index_option_picks_another_taxpayer(open_sim: OpenSim) -> None:
    host = opened(open_sim, "needs-clearing", index=42)
    assert host.call("identify")["device_no"] == catalog.taxpayer(42).device_no


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": "red"}, "unknown option"),
        ({"latency": "fast"}, "latency"),
        ({"index": "-1"}, "index"),
        ({"drift": "soon"}, "drift"),
        ({"now": "yesterday"}, "yesterday"),
        ({"pin": "x" * 17}, "pin"),
        ({"fault": "explode"}, "unknown fault"),
    ],
)
def test_bad_options_are_refused(open_sim: OpenSim, options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_sim("needs-clearing", **options)


def test_unknown_scenario_is_refused(open_sim: OpenSim) -> None:
    with pytest.raises(ValueError, match="needs-clearing"):
        open_sim("nonsense")


def test_default_anchor_is_ten_on_the_fifth_of_the_host_month(clock: FrozenClock) -> None:
    clock.advance(15 * 86400 + 3600)  # the host lives on 20 November, 11:00
    backend = open_backend("needs-clearing", {"latency": "0"}, host_clock=clock)
    assert backend.device.clock() == datetime(2026, 11, 5, 10, 0)
    clock.advance(90)
    assert backend.device.clock() == datetime(2026, 11, 5, 10, 1, 30)  # and runs with the host
