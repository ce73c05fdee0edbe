"""Every fault kind, through pyusb: what the host sees, and what the device did or did not do."""

from __future__ import annotations

import errno

import pytest
import usb.core

from appliance.protocol import bot, commands, sense
from appliance.protocol.errors import BadCheck
from simulators.device import FaultPlan
from tests.simulators.device.clearing import valid_blob
from tests.simulators.device.conftest import OpenSim
from tests.simulators.device.host import Host

LOCK = 20261116235959


def reported(host: Host) -> None:
    host.open()
    for code in ("007", "026"):
        host.select(code)
        host.call("copy_tax")


def lock_of(host: Host, code: str = "026") -> int:
    host.select(code)
    return int(host.call("read_monitor")["kpjzsj"])


def test_unplug_during_the_data_out_applies_nothing(open_sim: OpenSim) -> None:
    backend = open_sim(fault="unplug:write_clearing")
    host = Host(backend)
    reported(host)
    with pytest.raises(usb.core.USBError) as gone:
        host.call("write_clearing", {"data": valid_blob(backend.device.state)})
    assert gone.value.errno == errno.ENODEV
    assert usb.core.find(backend=backend) is None
    with pytest.raises(usb.core.USBError):
        host.read(13)
    backend.replug()
    host = Host(backend)
    host.open()
    assert lock_of(host) == LOCK  # not applied
    assert "write_clearing" not in backend.device.counters
    assert host.call("write_clearing", {"data": valid_blob(backend.device.state)})["types"]
    assert backend.struck == ["unplug:write_clearing"]


def test_unplug_on_a_command_without_data_fails_its_cbw(open_sim: OpenSim) -> None:
    backend = open_sim(fault="unplug:copy_tax")
    host = Host(backend)
    host.open()
    host.select("026")
    with pytest.raises(usb.core.USBError) as gone:
        host.send_cbw(host.vendor_cdb("copy_tax", b""), commands.command("copy_tax").allocation)
    assert gone.value.errno == errno.ENODEV
    backend.replug()
    host = Host(backend)
    host.open()
    assert lock_of(host) == LOCK
    assert host.call("read_monitor")["zxbsrq"] < 20261101  # copy tax never ran


def test_unplug_after_applies_and_loses_the_answer(open_sim: OpenSim) -> None:
    backend = open_sim(fault="unplug-after:write_clearing")
    host = Host(backend)
    reported(host)
    data = valid_blob(backend.device.state)
    with pytest.raises(usb.core.USBError) as gone:
        host.call("write_clearing", {"data": data})
    assert gone.value.errno == errno.ENODEV
    backend.replug()
    host = Host(backend)
    host.open()
    assert lock_of(host) == 20261215235959  # applied
    assert host.status("write_clearing", {"data": data}) == sense.SW_ALREADY_CLEARED


def test_corrupt_check_byte_runs_nothing(open_sim: OpenSim) -> None:
    backend = open_sim(fault="corrupt-check:copy_tax")
    host = Host(backend)
    host.open()
    host.select("026")
    assert host.status("copy_tax") == sense.SW_BAD_CHECK
    assert host.call("read_monitor")["zxbsrq"] < 20261101
    assert host.call("copy_tax")["zxbsrq"] == 20261105  # sent again, it runs


def test_corrupt_response_fails_the_hosts_crc(open_sim: OpenSim) -> None:
    backend = open_sim(fault="corrupt-response:read_monitor")
    host = Host(backend)
    host.open()
    host.select("026")
    with pytest.raises(BadCheck):
        host.call("read_monitor")
    assert host.call("read_monitor")["kpjzsj"] == LOCK


def test_busy_twice_then_through(open_sim: OpenSim) -> None:
    backend = open_sim(fault="busy:copy_tax*2")
    host = Host(backend)
    host.open()
    host.select("026")
    assert host.status("copy_tax") == sense.SW_BUSY
    assert host.status("copy_tax") == sense.SW_BUSY
    assert host.call("copy_tax")["period"] == 202610
    assert backend.device.counters["copy_tax"] == 3


def test_stall_then_clear_halt_then_csw(open_sim: OpenSim) -> None:
    backend = open_sim(fault="stall:read_monitor")
    host = Host(backend)
    host.open()
    host.select("026")
    allocation = commands.command("read_monitor").allocation
    tag = host.send_cbw(host.vendor_cdb("read_monitor", b""), allocation)
    with pytest.raises(usb.core.USBError) as stalled:
        host.read(allocation)
    assert stalled.value.errno == errno.EPIPE
    with pytest.raises(usb.core.USBError):
        host.read(13)  # still halted
    host.dev.clear_halt(0x81)
    assert host.read_csw() == bot.Csw(tag, allocation, bot.CSW_PASSED)
    assert host.call("read_monitor")["type"] == "026"


def test_timeout_leaves_the_answer_pending(open_sim: OpenSim) -> None:
    backend = open_sim(fault="timeout:read_clock")
    host = Host(backend)
    host.open()
    allocation = commands.command("read_clock").allocation
    host.send_cbw(host.vendor_cdb("read_clock", b""), allocation)
    with pytest.raises(usb.core.USBTimeoutError):
        host.read(allocation)
    data = host.read(allocation)
    assert commands.decode_response(commands.command("read_clock"), data) == {
        "clock": 20261105100000
    }
    assert host.read_csw().status == bot.CSW_PASSED


def test_claim_busy(open_sim: OpenSim) -> None:
    backend = open_sim(fault="claim-busy")
    with pytest.raises(usb.core.USBError) as busy:
        Host(backend)
    assert busy.value.errno == errno.EBUSY
    Host(backend).open()


def test_drift_moves_the_clock_on_its_command(open_sim: OpenSim) -> None:
    backend = open_sim(fault="drift:-3600@1")
    offset = backend.device.state["clock_offset"]
    host = Host(backend)
    host.open()  # open_session passes (after=1), select_app takes the drift
    assert host.call("read_clock")["clock"] == 20261105090000
    assert backend.device.state["clock_offset"] == offset - 3600


def test_after_skips_the_first_matches(open_sim: OpenSim) -> None:
    backend = open_sim(fault="busy:read_clock@2")
    host = Host(backend)
    host.open()
    assert [host.status("read_clock") for _ in range(4)] == [
        sense.SW_OK,
        sense.SW_OK,
        sense.SW_BUSY,
        sense.SW_OK,
    ]


def test_faults_added_in_code(open_sim: OpenSim) -> None:
    backend = open_sim()
    backend.faults.add("busy", "identify")
    host = Host(backend)
    host.open()
    assert host.status("identify") == sense.SW_BUSY
    assert backend.struck == ["busy:identify"]


def test_plan_text_round_trips() -> None:
    text = "unplug:write_clearing,busy:copy_tax*2,stall:read_summary@1,drift:-7200,claim-busy"
    plan = FaultPlan.parse(text)
    assert str(plan) == text
    assert [fault.kind for fault in plan.faults] == [
        "unplug",
        "busy",
        "stall",
        "drift",
        "claim-busy",
    ]
    assert FaultPlan.parse("").faults == []


@pytest.mark.parametrize(
    "text",
    [
        "explode",
        "unplug:launch_missiles",
        "busy:copy_tax*0",
        "drift",
        "drift:soon",
        "drift:0",
        "claim-busy:identify",
        "busy:copy_tax;rm",
        ",".join(["busy"] * 65),
    ],
)
def test_bad_plans_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        FaultPlan.parse(text)
