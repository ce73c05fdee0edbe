"""The two bulk pipes a tax device offers, whatever carries them (USB, serial tunnel, replay).

The bulk-only transport session (:mod:`appliance.devices.bot_session`) is written against this
interface only, so the same CBW/CSW code drives a real UKey over pyusb, the bench device over a
serial line and a recorded capture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from appliance.devices.deadlines import TRANSFER_S
from appliance.devices.errors import Stalled

# The timeout of a transfer when the caller gives none (the session always gives one: the
# transfer timeout, shortened to what is left of the operation's deadline).
DEFAULT_TIMEOUT_MS = int(TRANSFER_S * 1000)

__all__ = ["DEFAULT_TIMEOUT_MS", "Pipe", "Stalled", "UsbDescriptor"]


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


class Pipe(Protocol):
    """Bulk OUT and bulk IN of one device, plus the recovery requests of bulk-only transport.

    Every method raises only :class:`~appliance.devices.errors.DeviceError` subclasses; a
    stalled bulk transfer is :class:`Stalled` with the endpoint it happened on, decided by which
    method was called, never by the text of an error. ``timeout_ms`` is at least 1 (pyusb and
    libusb read 0 as "wait for ever").
    """

    name: str
    descriptor: UsbDescriptor

    def write_out(self, data: bytes, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Send one OUT transfer; raise :class:`Stalled` or a device error."""

    def read_in(self, max_length: int, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> bytes:
        """Receive one IN transfer of at most ``max_length`` bytes."""

    def clear_stall(self, endpoint: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Clear a halt on ``"in"`` or ``"out"``; :class:`Stalled` if the device refuses."""

    def reset(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Perform bulk-only reset recovery: mass storage reset, then clear both halts."""

    def close(self) -> None:
        """Release the device."""
