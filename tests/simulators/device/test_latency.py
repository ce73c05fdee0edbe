"""The latency model: what a command costs, and the backend sleeping it (scaled) on the way."""

from __future__ import annotations

import time

import pytest

from simulators.device.latency import BASE_SECONDS, Latency
from tests.simulators.device.conftest import OpenSim
from tests.simulators.device.host import Host


def test_costs_per_command_and_per_transfer() -> None:
    model = Latency()
    assert model.command_seconds("read_clock") == pytest.approx(BASE_SECONDS)
    assert model.command_seconds("copy_tax") > 0.3
    assert model.command_seconds("write_clearing") > model.command_seconds("read_monitor")
    assert model.command_seconds("request_sense") < BASE_SECONDS
    assert model.transfer_seconds(1000) == pytest.approx(0.0005 + 0.001)
    with pytest.raises(ValueError):
        Latency(scale=-1)


def test_scale_zero_accounts_without_sleeping(open_sim: OpenSim) -> None:
    host = Host(open_sim(latency=0))
    started = time.perf_counter()
    host.open()
    host.select("026")
    host.call("copy_tax")
    wall = time.perf_counter() - started
    latency = host.backend.latency
    assert latency.slept_seconds == 0
    assert latency.modeled_seconds > 0.45  # copy tax alone
    assert host.backend.modeled_seconds == latency.modeled_seconds
    assert wall < latency.modeled_seconds


def test_scale_one_sleeps_the_model(open_sim: OpenSim) -> None:
    host = Host(open_sim(latency=1))
    started = time.perf_counter()
    host.open()  # open_session, select_app, verify_pin
    host.call("read_clock")
    wall = time.perf_counter() - started
    modeled = host.backend.modeled_seconds
    # Four commands (one a PIN check) in 14 transfers: 4 CBWs, 2 data OUT, 4 data IN, 4 CSWs,
    # carrying a few hundred bytes at 1 MB/s.
    expected = 4 * BASE_SECONDS + 0.060 + 14 * 0.0005
    assert expected < modeled < expected + 0.001
    assert host.backend.latency.slept_seconds == pytest.approx(modeled)
    assert modeled <= wall < modeled + 0.5
