"""One simulated tax device on CPython: its state, command processor, bulk-only target and clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from simulators.clock import product_now
from simulators.device.core import dates
from simulators.device.core.handler import Handler
from simulators.device.core.host import HostClock, StateSink
from simulators.device.core.target import Target


class HostTime(HostClock):
    """The host clock read from a callable (the product clock unless a test freezes it)."""

    __slots__ = ("source",)

    def __init__(self, source: Callable[[], float]) -> None:
        self.source = source

    def now(self) -> int:
        """Return the host's Unix epoch seconds."""
        return int(self.source())


class SimDevice:
    """The device behind the USB front: what a test inspects and a scenario sets up."""

    def __init__(
        self,
        state: dict[str, Any],
        host_clock: Callable[[], float] = product_now,
        sink: StateSink | None = None,
    ) -> None:
        self.state = state
        self.sink = sink or StateSink()
        self.host_time = HostTime(host_clock)
        self.handler = Handler(state, self.host_time, self.sink)
        self.target = Target(self.handler)

    @property
    def counters(self) -> dict[str, int]:
        """Return how many of each command the device received (``request_sense`` included)."""
        return self.handler.counters

    def clock(self) -> datetime:
        """Return the device clock."""
        year, month, day, hour, minute, second = dates.split_datetime(self.handler.clock())
        return datetime(year, month, day, hour, minute, second)

    def shift_clock(self, seconds: int) -> None:
        """Move the device clock by ``seconds`` (drift) and keep the change."""
        self.state["clock_offset"] += int(seconds)
        self.save()

    def power_cycle(self) -> None:
        """Lose power: the transport and the session start over; the state stays."""
        self.target.reset()
        self.handler.reset_session()

    def save(self) -> None:
        """Keep the state (atomically, when it lives in a file)."""
        self.sink.save(self.state)
