"""Fixtures: the device simulator behind the real driver, at a fixed moment, latency off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from appliance.devices import NisecDevice
from appliance.devices.urls import open_device
from simulators.device.usb_backend import SimBackend
from tests.simulators.device.conftest import ANCHOR, FrozenClock, OpenSim, clock, open_sim

__all__ = ["ANCHOR", "FrozenClock", "clock", "open_sim"]

OpenDriver = Callable[..., tuple[NisecDevice, SimBackend]]


@pytest.fixture
def driver(open_sim: OpenSim) -> OpenDriver:
    """Return ``open(scenario, **options)``: the real driver on a simulated device, via pyusb."""
    opened: list[NisecDevice] = []

    def _open(scenario: str = "needs-clearing", **options: Any) -> tuple[NisecDevice, SimBackend]:
        backend = open_sim(scenario, **options)
        device = open_device(f"usb://{backend.vid:04x}:{backend.pid:04x}", backend=backend)
        opened.append(device)
        return device, backend

    yield _open
    for device in opened:
        device.close()
