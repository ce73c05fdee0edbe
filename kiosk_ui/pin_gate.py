"""A PIN check that locks for a while after too many wrong tries.

The PIN is kept either plain (from the ``[kiosk]`` table as typed) or as the scrypt hash a
provisioning bundle writes (:mod:`provisioning.pinhash`). Checking a hash takes tens to hundreds
of milliseconds by design, too long for the UI thread: a gate with a hash says it is ``slow``,
and the PIN pad then checks on a thread of its own.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from provisioning.pinhash import verify_pin

MAX_TRIES = 5
LOCK_S = 300.0


@dataclass(frozen=True)
class Verdict:
    """What a PIN entry led to."""

    accepted: bool
    tries_left: int
    locked_for_s: float  # > 0 while locked


class PinGate:
    """Check entries against ``pin`` (or ``pin_hash``); after ``max_tries`` wrong ones refuse all
    for ``lock_s``.
    """

    def __init__(
        self,
        pin: str | None = None,
        max_tries: int = MAX_TRIES,
        lock_s: float = LOCK_S,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        pin_hash: str | None = None,
    ) -> None:
        if (pin is None) == (pin_hash is None):
            raise ValueError("a PIN gate needs a PIN or a PIN hash, not both")
        self._pin = pin
        self._hash = pin_hash
        self.max_tries = max_tries
        self.lock_s = lock_s
        self.monotonic = monotonic
        self._wrong = 0
        self._locked_until = 0.0
        # A slow check runs on its own thread while the UI thread asks how long the lock lasts.
        self._lock = threading.Lock()

    @property
    def slow(self) -> bool:
        """Tell whether a check takes long enough to be kept off the UI thread (a hash)."""
        return self._hash is not None

    def locked_for(self) -> float:
        """Return the seconds the gate stays locked (0 when open)."""
        return max(0.0, self._locked_until - self.monotonic())

    def _matches(self, entry: str) -> bool:
        if self._hash is not None:
            return verify_pin(entry, self._hash)
        # Constant time: the comparison must not tell how many leading digits were right.
        return hmac.compare_digest(entry.encode(), (self._pin or "").encode())

    def check(self, entry: str) -> Verdict:
        """Check ``entry``; while locked, every entry is refused unchecked."""
        with self._lock:
            remaining = self.locked_for()
            if remaining > 0:
                return Verdict(False, 0, remaining)
            if self._matches(entry):
                self._wrong = 0
                return Verdict(True, self.max_tries, 0.0)
            self._wrong += 1
            if self._wrong >= self.max_tries:
                self._wrong = 0
                self._locked_until = self.monotonic() + self.lock_s
                return Verdict(False, 0, self.lock_s)
            return Verdict(False, self.max_tries - self._wrong, 0.0)
