"""The suite's clock: every test runs as of one moment, never as of the real today.

``pytest --today YYYY-MM-DD[THH:MM]`` runs the suite as if it were that moment (Beijing time; a
day alone means 10:00). Without it, the suite runs as of :data:`DEFAULT_TODAY`. Before each test
the product clock (:mod:`appliance.clock`) is moved so that it reads that moment at the test's
start and runs on from there, and ``QINGKA_CLOCK_SHIFT`` is set, so daemons, simulators and
demos the test starts run on the same time. The system clock is never touched (libfaketime would
fake the monotonic clock too and break every timeout).

Tests whose answer depends on the date are marked ``dates``: ``pytest -m dates --sweep`` (part of
``make test``) runs each of them once as of every moment of :data:`tests.dates.SWEEP`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from appliance.clock import SHIFT_ENV, ClockError, ShiftedClock, parse_moment, set_clock, shift_to
from tests.dates import SWEEP

# Inside November 2026's filing window (deadline the 16th): a plain working day.
DEFAULT_TODAY = "2026-11-05T10:00"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--today",
        default=None,
        metavar="YYYY-MM-DD[THH:MM]",
        help=f"run the suite as of this moment, Beijing time (default {DEFAULT_TODAY})",
    )
    parser.addoption(
        "--sweep",
        action="store_true",
        help="run every test marked 'dates' once as of each moment of the date sweep",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dates: the answer depends on the date; run again by the date sweep"
    )
    text = config.getoption("--today") or DEFAULT_TODAY
    try:
        config.stash[_TODAY] = parse_moment(text)
    except ClockError as exc:
        raise pytest.UsageError(f"--today: {exc}") from None


_TODAY = pytest.StashKey[datetime]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.config.getoption("--sweep") and metafunc.definition.get_closest_marker("dates"):
        metafunc.parametrize("today", [parse_moment(m) for m in SWEEP], ids=SWEEP, indirect=True)


@pytest.fixture(autouse=True)
def today(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[datetime]:
    """Return the moment this test runs as of, with the product clock set to it."""
    moment = getattr(request, "param", None) or request.config.stash[_TODAY]
    shift = shift_to(moment)
    monkeypatch.setenv(SHIFT_ENV, repr(shift))
    previous = set_clock(ShiftedClock(shift))
    try:
        yield moment
    finally:
        set_clock(previous)
