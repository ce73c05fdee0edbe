"""A hostile device through the real pyusb path: every failure is a typed device error, in time.

The device (tests/appliance/devices/hostile.py) stalls for ever, answers late, lies in its CSW
and sends impossible dates with a valid encoding and CRC. Whatever it does, the driver returns
or raises a DeviceError subclass, within the operation's deadline, and ``close()`` never raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.clearing.classify import outcome_for
from appliance.clearing.outcomes import OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.devices import errors as e
from appliance.devices.deadlines import Deadlines
from appliance.devices.errors import describe
from appliance.devices.nisec import NisecDevice
from appliance.devices.snapshot import read_snapshot
from appliance.protocol.commands import DEFAULT_PIN
from simulators.device import open_backend
from tests.appliance.devices.hostile import FAST, Misbehaviour, open_hostile
from tests.appliance.devices.trusting import trusting
from tests.simulators.device.clearing import valid_blob
from tests.simulators.device.conftest import ANCHOR, FrozenClock, OpenSim

# Scheduling noise on a loaded two-core machine; a deadline of 150 ms must hold within this.
MARGIN_S = 0.5


def _typed(error: e.DeviceError, code: str) -> None:
    assert error.code == code
    for lang in ("zh", "en"):
        sentence = describe(error, lang)
        assert f"[{code}]" in sentence
        assert "tax device error" not in sentence  # its own words, not the fallback


# -- stalls ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("misbehaviour", "what"),
    [
        (Misbehaviour(stall_in=True), "every IN stalls"),
        (Misbehaviour(stall_out=True), "the CBW OUT stalls"),
        (Misbehaviour(stall_in=True, stall_control=True), "clearing the halt stalls too"),
        (Misbehaviour(stall_out=True, stall_control=True), "the reset stalls too"),
    ],
)
def test_a_device_stalling_for_ever_ends_in_a_typed_error(
    open_sim: OpenSim, misbehaviour: Misbehaviour, what: str
) -> None:
    device, backend = open_hostile(open_sim(), misbehaviour)
    started = time.monotonic()
    with pytest.raises(e.DeviceError) as caught:
        device.identify()
    assert isinstance(caught.value, e.Stalled | e.ProtocolError), what
    assert isinstance(caught.value, e.TRANSIENT_ERRORS)
    assert time.monotonic() - started < FAST.budget("identify") + MARGIN_S
    assert backend.transfers < 20  # bounded recovery, no loop
    device.close()


def test_stalled_is_a_device_error_with_its_own_words(open_sim: OpenSim) -> None:
    device, _ = open_hostile(open_sim(), Misbehaviour(stall_in=True))
    with pytest.raises(e.Stalled) as caught:
        device.read_clock()
    _typed(caught.value, "D-007")
    assert caught.value.endpoint == "in"


def test_the_direction_of_a_stall_comes_from_the_endpoint_not_the_words(
    open_sim: OpenSim,
) -> None:
    # The CBW goes OUT; a stall there used to be read as "in" or "out" from the message text.
    device, _ = open_hostile(open_sim(), Misbehaviour(stall_out=True))
    with pytest.raises(e.Stalled) as caught:
        device.identify()
    assert caught.value.endpoint == "out"


def test_close_never_raises_when_close_session_stalls(open_sim: OpenSim) -> None:
    device, backend = open_hostile(open_sim())
    device.identify()
    backend.misbehaviour = Misbehaviour(stall_in=True, stall_out=True, stall_control=True)
    device.close()  # must not raise
    device.close()  # nor twice


def test_close_never_raises_when_only_close_session_is_refused(open_sim: OpenSim) -> None:
    device, _backend = open_hostile(
        open_sim(), Misbehaviour(stall_in=True, only_ops=frozenset({"close_session"}))
    )
    assert device.identify().device_no == "661900000000"
    device.close()


def test_after_a_stall_the_next_command_works_again(open_sim: OpenSim) -> None:
    # One stalled CBW: reset recovery brings the transport back for the next command.
    device, _ = open_hostile(open_sim(), script=["stall"])
    with pytest.raises(e.Stalled):
        device.identify()
    assert device.identify().device_no == "661900000000"
    device.close()


def test_an_unfinished_exchange_is_recovered_before_the_next_command(open_sim: OpenSim) -> None:
    # The CBW went out, then the data read timed out: the device still holds that answer.
    device, _ = open_hostile(open_sim(), script=["ok", "ok", "ok", "ok", "ok", "ok", "timeout"])
    with pytest.raises(e.DeviceTimeout):
        device.identify()
    assert device.read_clock().year == 2026
    device.close()


# -- impossible answers with a valid encoding and CRC --------------------------------------------


@pytest.mark.parametrize(
    ("op", "field", "digits"),
    [
        ("read_clock", "clock", "20260231100000"),  # 31 February
        ("read_monitor", "zxbsrq", "20261131"),  # 31 November
        ("read_monitor", "kpjzsj", "20270230235959"),  # 30 February
        ("read_monitor", "kpjzsj", "00000000000000"),  # no lock moment at all
        ("read_clock", "clock", "99991231235959"),  # year 9999
        ("copy_tax", "zxbsrq", "20261131"),
        ("write_clearing", "kpjzsj", "20270230235959"),
    ],
)
def test_impossible_dates_are_an_invalid_answer(
    open_sim: OpenSim, op: str, field: str, digits: str
) -> None:
    sim = open_sim()
    device, _ = open_hostile(sim, Misbehaviour(dates={op: (field, digits)}))
    with pytest.raises(e.DeviceError) as caught:
        if op == "read_clock":
            device.read_clock()
        elif op == "read_monitor":
            device.verify_pin(DEFAULT_PIN)
            device.monitor("026")
        elif op == "copy_tax":
            device.verify_pin(DEFAULT_PIN)
            device.copy_tax("026")
        else:
            device.verify_pin(DEFAULT_PIN)
            for code in device.invoice_types():
                device.copy_tax(code)
            device.write_clearing(valid_blob(sim.device.state))
    _typed(caught.value, "D-008")
    assert isinstance(caught.value, e.InvalidAnswer)
    assert isinstance(caught.value, e.TRANSIENT_ERRORS)
    device.close()


def test_an_impossible_date_ends_as_a_retry_not_an_internal_error(open_sim: OpenSim) -> None:
    # It used to leak ValueError, which the job turned into J-500 "internal error, call support".
    device, _ = open_hostile(
        open_sim(), Misbehaviour(dates={"read_clock": ("clock", "20260231100000")})
    )
    with pytest.raises(e.DeviceError) as caught:
        device.read_clock()
    outcome = outcome_for(caught.value, "661900000000", 202610, JobStep.PRECHECK)
    assert outcome.code == "D-008"
    assert outcome.kind is OutcomeKind.RETRY_LATER
    assert outcome.message_zh and outcome.message_en
    device.close()


def test_a_residue_larger_than_asked_is_refused(open_sim: OpenSim) -> None:
    device, _ = open_hostile(open_sim(), Misbehaviour(residue_extra=1))
    with pytest.raises(e.InvalidAnswer) as caught:
        device.identify()
    assert "residue" in str(caught.value)
    _typed(caught.value, "D-008")
    device.close()


# -- a slow device ------------------------------------------------------------------------------


def test_a_device_answering_just_inside_every_timeout_is_stopped_by_the_deadline(
    open_sim: OpenSim,
) -> None:
    # At full scale: every IN answered after 9.5 s of a 10 s timeout made identify() take 76 s.
    # Scaled by 0.01: 95 ms of 100 ms, and identify() may take 150 ms whole.
    device, _ = open_hostile(open_sim(), Misbehaviour(in_delay_s=0.095), deadlines=FAST)
    started = time.monotonic()
    with pytest.raises(e.DeadlineExceeded) as caught:
        device.identify()
    took = time.monotonic() - started
    assert took < FAST.budget("identify") + MARGIN_S
    assert isinstance(caught.value, e.DeviceTimeout)
    assert isinstance(caught.value, e.TRANSIENT_ERRORS)
    assert "identify" in str(caught.value)
    _typed(caught.value, "D-009")
    device.close()


def test_close_is_bounded_too(open_sim: OpenSim) -> None:
    device, backend = open_hostile(open_sim())
    device.identify()
    device.deadlines = FAST  # close may take 30 ms
    backend.misbehaviour = Misbehaviour(in_delay_s=0.095)
    started = time.monotonic()
    device.close()
    assert time.monotonic() - started < FAST.budget("close") + MARGIN_S


def test_a_whole_reading_is_bounded_by_one_deadline(open_sim: OpenSim) -> None:
    # Each operation alone stays inside its own limit; together they pass the reading's limit.
    device, _ = open_hostile(open_sim(), Misbehaviour(in_delay_s=0.02))
    started = time.monotonic()
    with pytest.raises(e.DeadlineExceeded) as caught, device.within(0.25, "reading the device"):
        read_snapshot(device, trusting(device, DEFAULT_PIN))
    assert time.monotonic() - started < 0.25 + MARGIN_S
    assert "reading the device" in str(caught.value)
    device.close()


def test_an_honest_slow_device_still_works(open_sim: OpenSim) -> None:
    # 5 ms per IN is slow for a UKey, far inside every limit: no false alarm.
    device, _ = open_hostile(open_sim(), Misbehaviour(in_delay_s=0.005))
    assert device.identify().device_no == "661900000000"
    device.close()


def test_deadlines_are_configurable_and_checked() -> None:
    limits = Deadlines(operations={"identify": 2.0}, default_s=4.0)
    assert limits.budget("identify") == 2.0
    assert limits.budget("copy_tax") == 4.0
    assert Deadlines().budget("copy_tax") == 30.0
    assert Deadlines().scaled(0.5).transfer_s == 5.0
    with pytest.raises(ValueError, match="positive"):
        Deadlines(transfer_s=0)


# -- whatever the device answers ----------------------------------------------------------------

_ERRNO_ACTIONS = ["stall", "timeout", "gone", "busy", "io", "overflow", "proto", "access", "other"]
ACTIONS = st.one_of(
    st.just("ok"),
    st.just("ok"),
    st.sampled_from(_ERRNO_ACTIONS),
    st.tuples(st.just("bytes"), st.binary(max_size=80)),
    st.tuples(st.just("flip"), st.integers(0, 600), st.integers(1, 255)),
    st.tuples(
        st.just("date"),
        st.integers(0, 5),
        st.text(alphabet="0123456789", min_size=14, max_size=14),
    ),
    st.tuples(
        st.just("csw"),
        st.integers(-2, 2),
        st.integers(0, 2**32 - 1),
        st.integers(0, 255),
    ),
)
# Dates the codec lets through (BCD digits, month 1..12, day 1..31, a time of day) that may
# still not exist: 30 February, 31 April, year 9999.
DATES = st.builds(
    lambda year, month, day, hour, minute, second: (
        f"{year:04d}{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}"
    ),
    st.sampled_from([1900, 1999, 2000, 2026, 2027, 2028, 2099, 2100, 9999]),
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
) | st.text(alphabet="0123456789", min_size=14, max_size=14)
DATED_FIELDS = {
    "read_clock": ["clock"],
    "read_monitor": ["kpjzsj", "bsqsrq", "bszzrq", "zxbsrq"],
    "copy_tax": ["zxbsrq"],
    "read_summary": ["bsqsrq", "bszzrq"],
    "write_clearing": ["kpjzsj"],
}
DATETIME_FIELDS = {"clock", "kpjzsj"}


@st.composite
def bad_dates(draw: st.DrawFn) -> dict[str, tuple[str, str]]:
    """Return standing date corruptions: some commands' answers carry a drawn date."""
    chosen = draw(st.lists(st.sampled_from(sorted(DATED_FIELDS)), unique=True, max_size=3))
    dates = {}
    for op in chosen:
        name = draw(st.sampled_from(DATED_FIELDS[op]))
        digits = draw(DATES)
        dates[op] = (name, digits if name in DATETIME_FIELDS else digits[:8])
    return dates


# Every operation of the driver, in the order a clearing uses them.
OPERATIONS: list[tuple[str, Callable[[NisecDevice, dict[str, Any]], object]]] = [
    ("identify", lambda device, state: device.identify()),
    ("read_clock", lambda device, state: device.read_clock()),
    ("invoice_types", lambda device, state: device.invoice_types()),
    ("verify_pin", lambda device, state: device.verify_pin(DEFAULT_PIN)),
    ("monitor", lambda device, state: device.monitor("026")),
    ("copy_tax", lambda device, state: device.copy_tax("026")),
    ("read_summary", lambda device, state: device.read_summary("026")),
    ("certificate", lambda device, state: device.certificate()),
    ("sign", lambda device, state: device.sign(bytes(32))),
    ("copy_tax", lambda device, state: device.copy_tax("007")),
    ("write_clearing", lambda device, state: device.write_clearing(valid_blob(state))),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTIONS, max_size=60), st.booleans(), bad_dates())
def test_whatever_the_device_answers_the_driver_returns_or_raises_typed(
    script: list[Any], stall_control: bool, dates: dict[str, tuple[str, str]]
) -> None:
    sim = open_backend(
        "needs-clearing", {"latency": "0", "now": ANCHOR.isoformat()}, host_clock=FrozenClock()
    )
    device, _backend = open_hostile(
        sim, Misbehaviour(stall_control=stall_control, dates=dates), script
    )
    started = time.monotonic()
    for name, operation in OPERATIONS:
        began = time.monotonic()
        try:
            operation(device, sim.device.state)
        except e.DeviceError as error:
            assert error.code.startswith("D-")
            assert describe(error, "zh") and describe(error, "en")
        # Each operation ends by its own deadline; the scripted failures are instant.
        assert time.monotonic() - began < FAST.budget(name) + MARGIN_S, name
    device.close()
    assert time.monotonic() - started < 3.0
