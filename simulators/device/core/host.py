# mypy: disable-error-code="type-arg"
# (The state is a JSON object, a bare dict: core code cannot import typing for Any.)
"""What the device needs from the machine it runs on: a clock, and somewhere to keep its state."""

import time


class HostClock:
    """The host's clock: Unix epoch seconds (the device adds its own offset).

    ``shift`` moves it like the product's ``QINGKA_CLOCK_SHIFT`` (training and tests).
    """

    __slots__ = ("shift",)

    def __init__(self, shift: int = 0) -> None:
        self.shift = shift

    def now(self) -> int:
        """Return the host's Unix epoch seconds."""
        return int(time.time()) + self.shift


class FixedClock(HostClock):
    """A host clock that stands still until moved: for tests and scripted sessions."""

    __slots__ = ("epoch",)

    def __init__(self, epoch: int) -> None:
        self.shift = 0
        self.epoch = epoch

    def now(self) -> int:
        """Return the epoch seconds it was set to."""
        return self.epoch

    def advance(self, seconds: int) -> None:
        """Move the clock forward."""
        self.epoch += seconds


class StateSink:
    """Where a changed state goes; this one keeps nothing (a state that lives in memory only)."""

    __slots__ = ()

    def save(self, state: dict) -> None:
        """Keep ``state`` (here: nowhere)."""
