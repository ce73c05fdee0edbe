"""Fixtures: simulated devices at a fixed moment with a frozen host clock, and hosts for them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from simulators.device import open_backend
from simulators.device.scenarios import epoch_of
from simulators.device.usb_backend import SimBackend
from tests.simulators.device.host import Host

# 5 November 2026, 10:00 China time: inside the filing window (deadline 16 November).
ANCHOR = datetime(2026, 11, 5, 10, 0)


class FrozenClock:
    """A host clock that only moves when told to."""

    def __init__(self, moment: datetime = ANCHOR) -> None:
        self.epoch = float(epoch_of(moment))

    def __call__(self) -> float:
        return self.epoch

    def advance(self, seconds: float) -> None:
        self.epoch += seconds


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


OpenSim = Callable[..., SimBackend]


@pytest.fixture
def open_sim(clock: FrozenClock) -> OpenSim:
    """Return ``open(scenario, **options)``: a backend at ANCHOR, latency off."""

    def _open(scenario: str = "needs-clearing", **options: Any) -> SimBackend:
        merged = {"latency": "0", "now": ANCHOR.isoformat()}
        merged.update({key: str(value) for key, value in options.items()})
        return open_backend(scenario, merged, host_clock=clock)

    return _open


@pytest.fixture
def host(open_sim: OpenSim) -> Host:
    """A host on a needs-clearing device."""
    return Host(open_sim())
