"""Clearing data on the device: docs/clearing-data.md, check by check, with its status words."""

from __future__ import annotations

from typing import Any

from appliance.protocol import commands, sense
from simulators import catalog
from tests.simulators.device.clearing import blob, valid_blob, values_for
from tests.simulators.device.conftest import OpenSim
from tests.simulators.device.host import Host


def reported(open_sim: OpenSim, scenario: str = "needs-clearing") -> Host:
    """A host with PIN verified on a device whose every type was copied this month."""
    host = Host(open_sim(scenario))
    host.open()
    for code in host.call("list_types")["types"]:
        host.select(code)
        host.call("copy_tax")
    return host


def write(host: Host, data: bytes) -> int:
    return host.status("write_clearing", {"data": data})


def monitor_of(host: Host, code: str = "026") -> dict[str, Any]:
    host.select(code)
    return host.call("read_monitor")


def test_valid_data_is_applied_to_every_listed_type(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    assert write(host, valid_blob(state)) == sense.SW_OK
    for code in ("007", "026"):
        monitor = monitor_of(host, code)
        assert monitor["kpjzsj"] == 20261215235959
        assert (monitor["bsqsrq"], monitor["bszzrq"]) == (20261101, 20261130)
    assert host.backend.device.counters["write_clearing"] == 1


def test_repeat_is_already_cleared_and_the_summary_is_gone(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    data = valid_blob(host.backend.device.state)
    assert write(host, data) == sense.SW_OK
    assert write(host, data) == sense.SW_ALREADY_CLEARED
    host.select("026")
    assert host.status("read_summary") == sense.SW_NO_SUMMARY


def test_undecodable_data_is_bad_data(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    assert write(host, b"\x01\x02") == sense.SW_BAD_CHECK
    assert write(host, valid_blob(state) + b"\x00") == sense.SW_BAD_CHECK
    assert write(host, blob(values_for(state, version=2))) == sense.SW_BAD_CHECK


def test_forged_signature(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    other_key = catalog.device_private_scalar("661900000001")
    assert write(host, blob(values_for(state), scalar=other_key)) == sense.SW_CLEARING_FORGED
    tampered = bytearray(valid_blob(state))
    tampered[30] ^= 0x01  # inside device_no: the signature no longer covers these bytes
    assert write(host, bytes(tampered)) == sense.SW_CLEARING_FORGED
    # The signature is checked before anything else: forged data for another device is forged.
    foreign = values_for(state, device_no="661900000001")
    assert write(host, blob(foreign, scalar=other_key)) == sense.SW_CLEARING_FORGED
    assert monitor_of(host)["kpjzsj"] == 20261116235959


def test_data_for_another_device_or_taxpayer(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    other = catalog.taxpayer(1)
    assert write(host, blob(values_for(state, device_no=other.device_no))) == (
        sense.SW_CLEARING_MISMATCH
    )
    assert write(host, blob(values_for(state, taxpayer_id=other.taxpayer_id))) == (
        sense.SW_CLEARING_MISMATCH
    )


def test_types_must_all_be_on_the_device(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    assert write(host, blob(values_for(state, types=["004", "026"]))) == sense.SW_CLEARING_MISMATCH
    assert write(host, blob(values_for(state, types=[]))) == sense.SW_CLEARING_MISMATCH
    assert write(host, blob(values_for(state, types=["026"]))) == sense.SW_OK
    assert monitor_of(host, "007")["kpjzsj"] == 20261116235959  # only the listed type moved


def test_replayed_older_period(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    # Last month's data: already applied (it set the current lock moment), so check 5 answers
    # "already cleared" before the period check can; the box's verify step sees nothing moved.
    assert write(host, blob(values_for(state, period=202609))) == sense.SW_ALREADY_CLEARED
    # Older data that would push the lock moment later still names another period: refused.
    replay = values_for(state, period=202609, kpjzsj=20261215235959)
    assert write(host, blob(replay)) == sense.SW_CLEARING_MISMATCH
    assert monitor_of(host)["kpjzsj"] == 20261116235959


def test_data_for_a_period_not_yet_copied(open_sim: OpenSim) -> None:
    host = Host(open_sim("needs-clearing"))
    host.open()
    state = host.backend.device.state
    assert write(host, valid_blob(state)) == sense.SW_NOT_REPORTED
    host.select("007")
    host.call("copy_tax")  # 026 still not copied
    assert write(host, valid_blob(state)) == sense.SW_NOT_REPORTED
    assert write(host, blob(values_for(state, types=["007"]))) == sense.SW_OK


def test_new_window_must_follow_the_period(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    for changes in ({"bsqsrq": 20261102}, {"bszzrq": 20261129}, {"bsqsrq": 20261201}):
        assert write(host, blob(values_for(state, **changes))) == sense.SW_CLEARING_MISMATCH


def test_clearing_needs_the_pin_and_works_while_locked(open_sim: OpenSim) -> None:
    host = Host(open_sim("locked"))
    host.open(None)
    state = host.backend.device.state
    assert write(host, valid_blob(state)) == sense.SW_PIN_REQUIRED
    host.call("verify_pin", {"pin": commands.DEFAULT_PIN})
    for code in ("007", "026"):
        host.select(code)
        host.call("copy_tax")
    assert write(host, valid_blob(state)) == sense.SW_OK


def test_the_next_window_gets_fresh_statistics(open_sim: OpenSim) -> None:
    host = reported(open_sim)
    state = host.backend.device.state
    before = dict(state["types"]["026"]["stats"])
    write(host, valid_blob(state))
    after = state["types"]["026"]["stats"]
    assert after["stock_start"] == before["stock_end"]
    assert after != before
