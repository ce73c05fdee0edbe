"""The two bulk pipes a tax device offers, whatever carries them (USB, serial tunnel, replay).

The bulk-only transport session (:mod:`appliance.devices.bot_session`) is written against this
interface only, so the same CBW/CSW code drives a real UKey over pyusb, the bench device over a
serial line and a recorded capture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Per-transfer timeouts. A device answers within tens of milliseconds, copy tax and clearing
# within a second or two; 10 s is what a stuck device gets before we call it gone.
DEFAULT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class UsbDescriptor:
    """What enumeration tells about a device before any command is sent."""

    vid: int
    pid: int
    manufacturer: str
    product: str
    serial: str

    @property
    def vid_pid(self) -> str:
        """Return ``VVVV:PPPP`` in lower-case hex, as lsusb prints it."""
        return f"{self.vid:04x}:{self.pid:04x}"


class Stalled(Exception):
    """An endpoint answered STALL; the session clears it and carries on."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(f"{endpoint} endpoint stalled")
        self.endpoint = endpoint


class Pipe(Protocol):
    """Bulk OUT and bulk IN of one device, plus the recovery requests of bulk-only transport."""

    name: str
    descriptor: UsbDescriptor

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Send one OUT transfer; raise :class:`Stalled` or a device error."""

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Receive one IN transfer of at most ``max_length`` bytes."""

    def clear_stall(self, endpoint: str) -> None:
        """Clear a halt on ``"in"`` or ``"out"``."""

    def reset(self) -> None:
        """Perform the bulk-only mass storage reset (after a phase error)."""

    def close(self) -> None:
        """Release the device."""
