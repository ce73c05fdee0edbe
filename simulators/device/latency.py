"""How long a tax UKey takes: per-command processing time plus USB full-speed transfer time.

The figures are typical of smart-card UKeys behind a mass-storage front: a few tens of
milliseconds for a read, more where the card computes a signature, checks a PIN or writes its
flash (copy tax, clearing). Transfers run at USB 1.1 full speed: 64-byte bulk packets give about
1 MB/s in practice, and every transfer waits for at least part of a 1 ms frame.

``modeled_seconds`` is what the model says the device takes at scale 1; what the backend sleeps
is that times ``scale`` (0: no sleeping at all, for fast tests), so a benchmark can compare the
driver's wall time with the floor the device itself imposes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

BASE_SECONDS = 0.020
# Processing time above the base, by command.
EXTRA_SECONDS: dict[str, float] = {
    "verify_pin": 0.060,
    "read_monitor": 0.010,
    "copy_tax": 0.450,
    "read_summary": 0.060,
    "write_clearing": 0.350,
    "sign": 0.120,
    "read_cert": 0.015,
}
# REQUEST SENSE is answered by the USB front end from what it already holds.
SENSE_SECONDS = 0.002
BYTES_PER_SECOND = 1_000_000
TRANSFER_OVERHEAD_SECONDS = 0.0005


@dataclass
class Latency:
    """The latency model of one simulated device and the time it has accounted so far."""

    scale: float = 1.0
    base: float = BASE_SECONDS
    extra: dict[str, float] = field(default_factory=lambda: dict(EXTRA_SECONDS))
    bytes_per_second: float = BYTES_PER_SECOND
    transfer_overhead: float = TRANSFER_OVERHEAD_SECONDS
    modeled_seconds: float = 0.0
    slept_seconds: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.scale <= 100:
            raise ValueError(f"latency scale {self.scale} outside 0..100")

    def command_seconds(self, name: str) -> float:
        """Return the processing time of one command at scale 1."""
        if name == "request_sense":
            return SENSE_SECONDS
        return self.base + self.extra.get(name, 0.0)

    def transfer_seconds(self, size: int) -> float:
        """Return the bus time of one bulk transfer of ``size`` bytes at scale 1."""
        return self.transfer_overhead + size / self.bytes_per_second

    def spend(self, seconds: float) -> None:
        """Account ``seconds`` of device time and sleep it, scaled."""
        self.modeled_seconds += seconds
        pause = seconds * self.scale
        if pause > 0:
            time.sleep(pause)
            self.slept_seconds += pause
