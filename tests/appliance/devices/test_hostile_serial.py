"""The bench device's serial transport meets the same hostile device: the same typed errors."""

from __future__ import annotations

import time

import pytest

from appliance.devices import errors as e
from tests.appliance.devices.hostile import FAST
from tests.appliance.devices.hostile_serial import SerialMisbehaviour, hostile_bench
from tests.simulators.device.conftest import OpenSim

MARGIN_S = 0.5


def test_an_honest_bench_device_works(open_sim: OpenSim) -> None:
    with hostile_bench(open_sim(), SerialMisbehaviour()) as (device, _):
        assert device.identify().device_no == "661900000000"


def test_a_bench_device_stalling_everything_ends_typed(open_sim: OpenSim) -> None:
    with hostile_bench(open_sim(), SerialMisbehaviour(stall=True), FAST) as (device, _):
        started = time.monotonic()
        with pytest.raises(e.DeviceError) as caught:
            device.identify()
        assert isinstance(caught.value, e.TRANSIENT_ERRORS)
        assert time.monotonic() - started < FAST.budget("identify") + MARGIN_S
        started = time.monotonic()
        device.close()  # never raises, and bounded
        assert time.monotonic() - started < FAST.budget("close") + MARGIN_S


def test_a_slow_bench_device_is_stopped_by_the_deadline(open_sim: OpenSim) -> None:
    plan = SerialMisbehaviour(reply_delay_s=0.06)
    with hostile_bench(open_sim(), plan, FAST) as (device, _):
        started = time.monotonic()
        with pytest.raises(e.DeadlineExceeded):
            device.identify()
        assert time.monotonic() - started < FAST.budget("identify") + MARGIN_S


@pytest.mark.parametrize("chatter", ["frames", "noise"])
def test_a_bench_device_that_never_stops_talking_is_bounded(
    open_sim: OpenSim, chatter: str
) -> None:
    # Stray frames (another sequence number) or noise, sent faster than they are read: the
    # host used to look at the deadline only once the line went quiet.
    plan = SerialMisbehaviour(chatter=chatter, stall=True, chatter_for_s=3.0)
    with hostile_bench(open_sim(), plan, FAST) as (device, _):
        started = time.monotonic()
        with pytest.raises(e.DeviceError):
            device.read_clock()
        assert time.monotonic() - started < FAST.budget("read_clock") + MARGIN_S


def test_impossible_dates_over_serial_are_an_invalid_answer(open_sim: OpenSim) -> None:
    plan = SerialMisbehaviour(dates={"read_clock": ("clock", "20260231100000")})
    with hostile_bench(open_sim(), plan) as (device, _), pytest.raises(e.InvalidAnswer):
        device.read_clock()
