"""Retries with exponential backoff and full jitter, bounded by attempts and an overall deadline.

Only :data:`~appliance.bureau.errors.TRANSIENT_ERRORS` are retried; any other error passes
through at once. Jitter spreads the retries of a fleet that lost the bureau at the same moment,
so they do not all come back in the same second.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from appliance.bureau.errors import TRANSIENT_ERRORS, BureauError, BureauUnavailable

_T = TypeVar("_T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one call: attempts, backoff and the overall deadline (seconds)."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    deadline: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry policy needs at least one attempt and non-negative delays")
        if self.deadline <= 0:
            raise ValueError("retry deadline must be positive")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Return the pause before retry number ``retry`` (1 for the first): full jitter."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return rng.uniform(0.0, ceiling)


@dataclass
class Retrier:
    """Runs calls under a :class:`RetryPolicy`; clock, sleep and randomness are injectable."""

    policy: RetryPolicy
    rng: random.Random
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def run(
        self,
        call: Callable[[float], _T],
        on_retry: Callable[[int, BureauError, float], None] | None = None,
    ) -> _T:
        """Run ``call(deadline)`` until it returns or fails for good.

        ``deadline`` is the monotonic moment the whole call must end by; the call caps its own
        timeouts with it. Raises the permanent error as is, or :class:`BureauUnavailable` once
        attempts or time run out.
        """
        deadline = self.monotonic() + self.policy.deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                return call(deadline)
            except TRANSIENT_ERRORS as exc:
                last: BureauError = exc
            pause = self.policy.backoff(attempt, self.rng)
            remaining = deadline - self.monotonic()
            if attempt >= self.policy.max_attempts or pause >= remaining:
                raise BureauUnavailable(
                    f"gave up after {attempt} attempt(s): {last}", last, attempt
                ) from last
            if on_retry is not None:
                on_retry(attempt, last, pause)
            self.sleep(pause)
