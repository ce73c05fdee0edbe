"""A PIN check that locks for a while after too many wrong tries."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_TRIES = 5
LOCK_S = 300.0


@dataclass(frozen=True)
class Verdict:
    """What a PIN entry led to."""

    accepted: bool
    tries_left: int
    locked_for_s: float  # > 0 while locked


class PinGate:
    """Check entries against ``pin``; after ``max_tries`` wrong ones refuse all for ``lock_s``."""

    def __init__(
        self,
        pin: str,
        max_tries: int = MAX_TRIES,
        lock_s: float = LOCK_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pin = pin
        self.max_tries = max_tries
        self.lock_s = lock_s
        self.monotonic = monotonic
        self._wrong = 0
        self._locked_until = 0.0

    def locked_for(self) -> float:
        """Return the seconds the gate stays locked (0 when open)."""
        return max(0.0, self._locked_until - self.monotonic())

    def check(self, entry: str) -> Verdict:
        """Check ``entry``; while locked, every entry is refused unchecked."""
        remaining = self.locked_for()
        if remaining > 0:
            return Verdict(False, 0, remaining)
        # Constant time: the comparison must not tell how many leading digits were right.
        if hmac.compare_digest(entry.encode(), self._pin.encode()):
            self._wrong = 0
            return Verdict(True, self.max_tries, 0.0)
        self._wrong += 1
        if self._wrong >= self.max_tries:
            self._wrong = 0
            self._locked_until = self.monotonic() + self.lock_s
            return Verdict(False, 0, self.lock_s)
        return Verdict(False, self.max_tries - self._wrong, 0.0)
