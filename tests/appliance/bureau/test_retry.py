"""Backoff, jitter, attempts and the overall deadline, on a fake clock."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.bureau.errors import (
    BureauUnavailable,
    CertificateRevoked,
    CommunicationError,
    NetworkError,
    ServerError,
)
from appliance.bureau.retry import Retrier, RetryPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _retrier(policy: RetryPolicy, clock: FakeClock) -> Retrier:
    return Retrier(policy, random.Random(7), clock.sleep, clock.monotonic)


def test_transient_failures_are_retried_until_success() -> None:
    clock = FakeClock()
    failures = [NetworkError("down"), ServerError("503"), CommunicationError("9001")]

    def call(deadline: float) -> str:
        assert deadline == 60.0
        if failures:
            raise failures.pop(0)
        return "ok"

    assert _retrier(RetryPolicy(), clock).run(call) == "ok"
    assert len(clock.sleeps) == 3


def test_permanent_errors_pass_through_at_once() -> None:
    clock = FakeClock()
    calls = []

    def call(deadline: float) -> None:
        calls.append(deadline)
        raise CertificateRevoked("revoked")

    with pytest.raises(CertificateRevoked):
        _retrier(RetryPolicy(), clock).run(call)
    assert len(calls) == 1 and clock.sleeps == []


def test_attempts_run_out() -> None:
    clock = FakeClock()
    seen: list[int] = []

    def call(deadline: float) -> None:
        raise NetworkError("down")

    with pytest.raises(BureauUnavailable) as caught:
        _retrier(RetryPolicy(max_attempts=3), clock).run(
            call, lambda attempt, error, pause: seen.append(attempt)
        )
    assert caught.value.attempts == 3 and isinstance(caught.value.last, NetworkError)
    assert seen == [1, 2] and caught.value.__cause__ is caught.value.last


def test_the_deadline_stops_retrying() -> None:
    clock = FakeClock()

    def call(deadline: float) -> None:
        clock.now += 4.0  # each attempt takes 4 s
        raise NetworkError("down")

    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=1.0, deadline=10.0)
    with pytest.raises(BureauUnavailable) as caught:
        _retrier(policy, clock).run(call)
    assert clock.now <= 10.0 + 4.0
    assert caught.value.attempts <= 3


@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_backoff_is_full_jitter_under_an_exponential_cap(retry: int, seed: int) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    pause = policy.backoff(retry, random.Random(seed))
    assert 0.0 <= pause <= min(8.0, 0.5 * 2 ** (retry - 1))


def test_jitter_spreads_a_fleet() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    pauses = {round(policy.backoff(4, random.Random(seed)), 3) for seed in range(50)}
    assert len(pauses) > 40


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"deadline": 0.0}, {"max_delay": -1}]
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
