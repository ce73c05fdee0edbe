"""How long a device operation may take as a whole, on top of the timeout of each transfer.

A transfer timeout alone does not bound an operation: ``identify()`` is three commands of up to
four transfers each, so a device answering every transfer just inside a 10 s timeout holds it
for well over a minute. Each operation of the driver therefore runs against a deadline of its
own, and every transfer in it waits at most until that deadline; a caller reading several things
in a row can set one overall deadline around them (:meth:`NisecDevice.within`). Running out of
time is a :class:`~appliance.devices.errors.DeadlineExceeded`, a transient device error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# One transfer: a device answers within tens of milliseconds, copy tax and clearing within a
# second or two; 10 s is what a stuck device gets before it is called gone.
TRANSFER_S = 10.0
# An operation that only reads (or selects) is a few commands of tens of milliseconds each.
READ_OPERATION_S = 15.0
# Copy tax and clearing write the device's flash and may take a few seconds on a slow card.
WRITE_OPERATION_S = 30.0
# Ending the session on close: best effort, so a hung device does not hold up the caller.
CLOSE_S = 3.0
# A whole reading of a device (identity, clock, PIN, every type's monitor data), for callers
# that read it in one go: the device screen, `device-info`, the job's precheck.
WHOLE_READ_S = 30.0

OPERATIONS: Mapping[str, float] = MappingProxyType(
    {
        "identify": READ_OPERATION_S,
        "verify_pin": READ_OPERATION_S,
        "invoice_types": READ_OPERATION_S,
        "read_clock": READ_OPERATION_S,
        "certificate": READ_OPERATION_S,
        "monitor": READ_OPERATION_S,
        "read_summary": READ_OPERATION_S,
        "sign": READ_OPERATION_S,
        "copy_tax": WRITE_OPERATION_S,
        "write_clearing": WRITE_OPERATION_S,
        "close": CLOSE_S,
    }
)


@dataclass(frozen=True)
class Deadlines:
    """The time limits of one device, in seconds: per transfer and per driver operation."""

    transfer_s: float = TRANSFER_S
    operations: Mapping[str, float] = field(default_factory=lambda: OPERATIONS)
    default_s: float = READ_OPERATION_S  # an operation missing from ``operations``

    def __post_init__(self) -> None:
        limits = [self.transfer_s, self.default_s, *self.operations.values()]
        if min(limits) <= 0:
            raise ValueError("device time limits must be positive")

    def budget(self, operation: str) -> float:
        """Return how long ``operation`` may take, whole."""
        return self.operations.get(operation, self.default_s)

    def scaled(self, factor: float) -> Deadlines:
        """Return every limit times ``factor`` (tests run the same rules at a smaller scale)."""
        return Deadlines(
            transfer_s=self.transfer_s * factor,
            operations={name: limit * factor for name, limit in self.operations.items()},
            default_s=self.default_s * factor,
        )
