"""Open a simulated device from a scenario name and ``sim://`` URL options.

========== =========================================================================
option     meaning
========== =========================================================================
``now``    ISO moment the device clock shows (default 10:00 on the 5th, this month)
``index``  simulated taxpayer of :mod:`simulators.catalog` (default per scenario)
``pin``    the device PIN instead of the scenario's
``drift``  seconds added to the device clock (negative: behind the host)
``state``  JSON file: loaded if it exists (the options above are then ignored: the
           device is what it was), else built and written; saved after every change
``latency`` scale of the latency model (default 1.0; 0: no sleeping)
``fault``  fault plan, ``KIND[:OP][*COUNT][@AFTER],...`` (see :mod:`faults`)
========== =========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.calendar import FilingCalendar, default_calendar
from simulators.clock import default_anchor, parse_moment, product_now
from simulators.device import scenarios
from simulators.device.core import dates
from simulators.device.core.state import MAX_PIN, check_state
from simulators.device.device import SimDevice
from simulators.device.faults import FaultPlan
from simulators.device.latency import Latency
from simulators.device.store import StateFile
from simulators.device.usb_backend import SimBackend

OPTIONS = ("now", "index", "pin", "drift", "state", "latency", "fault")
MAX_DRIFT_SECONDS = 400 * 86400


def _int_option(options: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    text = options.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"option {name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise ValueError(f"option {name}={value} outside {low}..{high}")
    return value


def _host_moment(host_clock: Callable[[], float]) -> datetime:
    year, month, day, hour, minute, second = dates.split_datetime(
        dates.epoch_to_datetime(int(host_clock()))
    )
    return datetime(year, month, day, hour, minute, second)


def _check_pin(pin: str) -> str:
    if not 0 < len(pin) <= MAX_PIN or not all(" " < char <= "~" for char in pin):
        raise ValueError(f"option pin must be 1..{MAX_PIN} printable ASCII characters")
    return pin


def build_state(
    scenario: str,
    options: Mapping[str, str],
    host_clock: Callable[[], float],
    calendar: FilingCalendar,
) -> dict[str, Any]:
    """Build the state of a new device from a scenario and the options that shape it."""
    anchor = parse_moment(options["now"]) if "now" in options else None
    anchor = anchor or default_anchor(_host_moment(host_clock))
    index = _int_option(options, "index", 0, 99_999)
    drift = _int_option(options, "drift", -MAX_DRIFT_SECONDS, MAX_DRIFT_SECONDS) or 0
    try:
        built = scenarios.build(scenario, anchor, calendar, index)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    state = built.state
    if "pin" in options:
        state["pin"] = _check_pin(options["pin"])
    state["clock_offset"] = scenarios.epoch_of(built.clock) - int(host_clock()) + drift
    check_state(state)
    return state


def open_backend(
    scenario: str,
    options: Mapping[str, str] | None = None,
    *,
    host_clock: Callable[[], float] = product_now,
    calendar: FilingCalendar | None = None,
) -> SimBackend:
    """Return a pyusb backend presenting a simulated device; ``ValueError`` on a bad option."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    if scenario not in scenarios.SCENARIOS:
        raise ValueError(
            f"no device scenario {scenario!r}; known: {', '.join(scenarios.SCENARIOS)}"
        )
    try:
        scale = float(options.get("latency", "1"))
    except ValueError:
        raise ValueError(f"option latency={options['latency']!r} is not a number") from None
    latency = Latency(scale=scale)
    faults = FaultPlan.parse(options.get("fault", ""))
    store = StateFile(Path(options["state"])) if options.get("state") else None
    state = store.load() if store is not None else None
    if state is None:
        state = build_state(scenario, options, host_clock, calendar or default_calendar())
        if store is not None:
            store.save(state)
    device = SimDevice(state, host_clock, store)
    return SimBackend(device, latency, faults)
