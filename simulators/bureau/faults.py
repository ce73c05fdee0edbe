"""Faults the simulated bureau can be told to inject, for the demo and the tests.

Each fault affects the next ``count`` service requests (optionally of one service id only;
``count`` -1: until cleared). Where the fault strikes matters for idempotency, so it is fixed
per kind: ``http-error`` and ``comm-error`` answer *instead of* processing the request, as a
failing gateway or an overloaded back end would; every other kind processes the request first
and then damages or withholds the answer, so the client's retry meets a bureau that already
acted on it.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

KINDS = (
    "latency",  # answer after latency_ms
    "http-error",  # HTTP status (5xx) instead of an answer
    "reset",  # half the answer, then a TCP reset
    "truncate",  # full Content-Length announced, half the answer sent, connection closed
    "garble",  # the answer's bytes corrupted: not XML any more
    "trickle",  # the answer sent chunk bytes every interval_ms
    "blackhole",  # no answer at all; the connection held for hold_s, then closed
    "comm-error",  # a proper answer with the "network communication error" code
)
# Upper bounds for the parameters: a fault must end by itself, even if a test forgets it.
_LIMITS = {"latency_ms": 60_000, "status": 599, "chunk": 65_536, "interval_ms": 10_000}
_MAX_HOLD_S = 300.0
_MAX_FAULTS = 64


class FaultError(ValueError):
    """A fault description that cannot be used."""


@dataclass(frozen=True)
class Fault:
    """One fault to inject."""

    kind: str
    count: int = 1
    service: str = ""
    latency_ms: int = 0
    status: int = 503
    chunk: int = 16
    interval_ms: int = 200
    hold_s: float = 30.0

    @classmethod
    def from_mapping(cls, data: Any) -> Fault:
        """Build from a JSON object, checking every field."""
        if not isinstance(data, dict):
            raise FaultError("a fault is a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise FaultError(f"unknown fault field(s): {sorted(unknown)}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise FaultError(f"fault kind {kind!r} is not one of {KINDS}")
        values: dict[str, Any] = {"kind": kind}
        for name in ("count", "latency_ms", "status", "chunk", "interval_ms"):
            if name in data:
                value = data[name]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise FaultError(f"fault {name} must be an integer")
                values[name] = value
        if "service" in data:
            if not isinstance(data["service"], str) or len(data["service"]) > 32:
                raise FaultError("fault service must be a service id")
            values["service"] = data["service"]
        if "hold_s" in data:
            if not isinstance(data["hold_s"], int | float) or isinstance(data["hold_s"], bool):
                raise FaultError("fault hold_s must be a number")
            values["hold_s"] = float(data["hold_s"])
        fault = cls(**values)
        fault.check()
        return fault

    def check(self) -> None:
        """Refuse out-of-range parameters."""
        if self.count == 0 or self.count < -1:
            raise FaultError("fault count must be positive, or -1 for until cleared")
        for name, limit in _LIMITS.items():
            if not 0 <= getattr(self, name) <= limit:
                raise FaultError(f"fault {name} outside 0..{limit}")
        if self.kind == "http-error" and not 500 <= self.status <= 599:
            raise FaultError("an http-error fault needs a 5xx status")
        if self.kind == "trickle" and (self.chunk < 1 or self.interval_ms < 1):
            raise FaultError("a trickle fault needs chunk and interval_ms of at least 1")
        if not 0 <= self.hold_s <= _MAX_HOLD_S:
            raise FaultError(f"fault hold_s outside 0..{_MAX_HOLD_S}")

    def to_mapping(self) -> dict[str, Any]:
        """Return the fault as a JSON object."""
        return asdict(self)


class FaultBoard:
    """The faults waiting to strike, shared by the server threads and the admin API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault behind the ones already waiting."""
        fault.check()
        with self._lock:
            if len(self._faults) >= _MAX_FAULTS:
                raise FaultError(f"at most {_MAX_FAULTS} faults can wait at once")
            self._faults.append(fault)

    def clear(self) -> None:
        """Drop every waiting fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """Return the waiting faults."""
        with self._lock:
            return list(self._faults)

    def take(self, service: str) -> Fault | None:
        """Return the fault for a request of ``service``, using up one of its count."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.service and fault.service != service:
                    continue
                if fault.count == 1:
                    del self._faults[index]
                elif fault.count > 1:
                    self._faults[index] = Fault(**{**asdict(fault), "count": fault.count - 1})
                return fault
        return None
