"""Named device scenarios: a whole device state built from the catalog, the calendar and a moment.

Every scenario starts from an *anchor*, the moment the device clock shows when the scenario is
built (default: 10:00 on the 5th of the current month, see :mod:`simulators.clock`; option
``now=ISO``), and from the simulated taxpayer ``index`` of :mod:`simulators.catalog`. Lock
moments are the filing calendar's (the deadline day, 23:59:59); report windows are whole months.

How a type's monitor data relates to its last clearing: a type cleared in month X (after copying
tax in X) has its report window on X, ``zxbsrq`` in X, and locks at the deadline of X+1.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from appliance.calendar import FilingCalendar
from appliance.clock import next_month, previous_month
from appliance.protocol import commands
from simulators import catalog
from simulators.device.core import dates, ledger
from simulators.device.core.state import add_type, new_state, summary_record

FIRMWARE = "SWUKey 3.2.6 (sim)"
SIM_PIN = "13572468"  # the PIN of the wrong-pin scenario: anything but the factory default
ZOMBIE_MARGIN_DAYS = 91
DRIFT_CANDIDATES = (
    2 * 86400 + 5 * 3600 + 17 * 60 + 23,
    -(2 * 86400 + 5 * 3600 + 17 * 60 + 23),
    5 * 3600 + 17 * 60 + 23,
    -(5 * 3600 + 17 * 60 + 23),
    17 * 60 + 23,
)


@dataclass(frozen=True)
class Context:
    """What a scenario is built from."""

    anchor: datetime
    index: int
    calendar: FilingCalendar


@dataclass
class Built:
    """A built scenario: the state, and the moment its device clock shows at build time."""

    state: dict[str, Any]
    clock: datetime


@dataclass(frozen=True)
class Scenario:
    """A named way to build a device."""

    name: str
    summary: str
    build: Callable[[Context], Built]
    index: int = 0


def to_date_int(day: date) -> int:
    """Return the ``YYYYMMDD`` int of a date."""
    return dates.make_date(day.year, day.month, day.day)


def to_datetime_int(moment: datetime) -> int:
    """Return the ``YYYYMMDDhhmmss`` int of a moment."""
    return dates.make_datetime(
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second
    )


def epoch_of(moment: datetime) -> int:
    """Return the Unix epoch seconds of a naive China-time moment."""
    return dates.datetime_to_epoch(to_datetime_int(moment))


# -- building blocks ------------------------------------------------------------------------------


def base_state(
    index: int, training: bool = False, pin: str = commands.DEFAULT_PIN
) -> dict[str, Any]:
    """Return the identity, keys and PIN of simulated taxpayer ``index``'s device, no types yet."""
    payer = catalog.taxpayer(index)
    scalar = catalog.device_private_scalar(payer.device_no)
    public = catalog.public_key_bytes(scalar)
    identity = {
        "device_no": payer.device_no,
        "taxpayer_id": payer.taxpayer_id,
        "taxpayer_name": payer.name,
        "region": payer.region,
        "taxpayer_kind": payer.kind,
        "family": commands.FAMILY_UKEY,
        "training": 1 if training else 0,
        "firmware": FIRMWARE,
        "cert_serial": catalog.cert_serial(public),
    }
    bureau = catalog.public_key_bytes(catalog.bureau_private_scalar())
    return new_state(identity, f"{scalar:064x}", bureau.hex(), pin)


def _limits(code: str, small: bool) -> dict[str, int]:
    electronic = code in (commands.TYPE_E_ORDINARY, commands.TYPE_E_SPECIAL)
    if small:
        single = 1_000_000  # 万元版: 10,000 yuan per invoice
    elif code == commands.TYPE_SPECIAL:
        single = 100_000_000  # 百万元版
    else:
        single = 10_000_000  # 十万元版
    return {
        "dzkpxe": single,
        "lxkpsc": 72 if electronic else 168,
        "lxzs": 500 if electronic else 1000,
        "lxzsje": 10_000_000 if small else 500_000_000,
    }


def _seed_number(*parts: object) -> int:
    """Return a small number fixed by ``parts``: the same device always shows the same figures."""
    text = "/".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:2], "big") % 100


def add_cycle(
    state: dict[str, Any],
    ctx: Context,
    code: str,
    cleared_in: tuple[int, int],
    copied_on: date | None = None,
    offline_pending: int = 0,
) -> dict[str, Any]:
    """Add type ``code`` as last cleared in month ``cleared_in``; copied again on ``copied_on``."""
    identity = state["identity"]
    small = identity["taxpayer_kind"] == commands.KIND_SMALL
    year, month = cleared_in
    lock_year, lock_month = next_month(year, month)
    deadline = ctx.calendar.deadline(year, month)
    # The copy that preceded the last clearing: early in that month, never after its deadline.
    copy_day = min(2 + _seed_number(identity["device_no"], code, "copy") % 6, deadline.day)
    if (year, month) == (ctx.anchor.year, ctx.anchor.month):
        copy_day = min(copy_day, ctx.anchor.day)
    period = year * 100 + month
    stock = 60 + _seed_number(identity["device_no"], code, "stock") * 3
    stats = ledger.generate(f"{identity['device_no']}/{code}/{period}", small, stock)
    monitor = {
        "kpjzsj": to_datetime_int(ctx.calendar.lock_moment(lock_year, lock_month)),
        "bsqsrq": dates.first_day(year, month),
        "bszzrq": dates.last_day(year, month),
        "zxbsrq": dates.make_date(year, month, copy_day),
        "scjzrq": ctx.calendar.deadline(lock_year, lock_month).day,
        "syrl": 4000 + _seed_number(identity["device_no"], code, "syrl") * 10,
        "offline_pending": offline_pending,
    }
    monitor.update(_limits(code, small))
    record = add_type(state, code, monitor, stats)
    if copied_on is not None:
        monitor["zxbsrq"] = to_date_int(copied_on)
        record["summary"] = summary_record(record)
    return record


def _anchor_month(ctx: Context) -> tuple[int, int]:
    return ctx.anchor.year, ctx.anchor.month


def _copied_today(ctx: Context) -> date:
    # Copied earlier this month: the day before the anchor, or the anchor's day on the 1st.
    return max(ctx.anchor.date() - timedelta(days=1), ctx.anchor.date().replace(day=1))


# -- the scenarios --------------------------------------------------------------------------------

UKEY_TYPES = (commands.TYPE_ORDINARY, commands.TYPE_E_ORDINARY)


def _needs_clearing(ctx: Context, **kwargs: Any) -> Built:
    state = base_state(ctx.index, training=kwargs.pop("training", False))
    last = previous_month(*_anchor_month(ctx))
    for code in kwargs.pop("types", UKEY_TYPES):
        add_cycle(state, ctx, code, last)
    return Built(state, ctx.anchor)


def needs_clearing(ctx: Context) -> Built:
    """Window = last month, reported last month, locks at this month's deadline."""
    return _needs_clearing(ctx)


def reported_not_cleared(ctx: Context) -> Built:
    """Copied this month already (summary waiting), not cleared."""
    state = base_state(ctx.index)
    last = previous_month(*_anchor_month(ctx))
    for code in UKEY_TYPES:
        add_cycle(state, ctx, code, last, copied_on=_copied_today(ctx))
    return Built(state, ctx.anchor)


def already_cleared(ctx: Context) -> Built:
    """Cleared this month: window = this month, locks at next month's deadline."""
    state = base_state(ctx.index)
    for code in UKEY_TYPES:
        record = add_cycle(state, ctx, code, _anchor_month(ctx))
        record["cleared"] = True
    return Built(state, ctx.anchor)


def locked(ctx: Context) -> Built:
    """Three days past this month's deadline, not reported: invoicing is locked."""
    year, month = _anchor_month(ctx)
    moment = datetime.combine(ctx.calendar.deadline(year, month) + timedelta(days=3), time(10))
    return needs_clearing(Context(moment, ctx.index, ctx.calendar))


def zombie(ctx: Context) -> Built:
    """Locked since a deadline about four months ago (over 90 days): copy tax refuses."""
    state = base_state(ctx.index)
    cleared_in = previous_month(*_anchor_month(ctx))
    while True:
        lock = ctx.calendar.lock_moment(*next_month(*cleared_in))
        if ctx.anchor - lock > timedelta(days=ZOMBIE_MARGIN_DAYS):
            break
        cleared_in = previous_month(*cleared_in)
    for code in UKEY_TYPES:
        add_cycle(state, ctx, code, cleared_in)
    return Built(state, ctx.anchor)


def training(ctx: Context) -> Built:
    """A training device (测试盘): reads like needs-clearing, never reports or clears."""
    return _needs_clearing(ctx, training=True)


def wrong_pin(ctx: Context) -> Built:
    """Needs clearing, but the device PIN is not the factory default; 3 tries."""
    built = needs_clearing(ctx)
    built.state["pin"] = SIM_PIN
    built.state["pin_tries_max"] = built.state["pin_tries_left"] = 3
    return built


def pin_locked(ctx: Context) -> Built:
    """Needs clearing, and no PIN tries left: the certificate is locked."""
    built = wrong_pin(ctx)
    built.state["pin_tries_left"] = 0
    return built


def offline_pending(ctx: Context) -> Built:
    """Needs clearing, with 3 e-invoices issued offline not yet uploaded."""
    built = needs_clearing(ctx)
    built.state["types"][commands.TYPE_E_ORDINARY]["monitor"]["offline_pending"] = 3
    return built


def clock_drift(ctx: Context) -> Built:
    """Needs clearing; the device clock runs hours or days off the host's, same month and stage."""
    built = needs_clearing(ctx)
    lock = ctx.calendar.lock_moment(ctx.anchor.year, ctx.anchor.month)
    for seconds in DRIFT_CANDIDATES:
        moment = ctx.anchor + timedelta(seconds=seconds)
        if moment.month == ctx.anchor.month and (moment > lock) == (ctx.anchor > lock):
            built.clock = moment
            break
    return built


def clock_error(ctx: Context) -> Built:
    """Needs clearing; the clock chip reports an error, so copy tax refuses."""
    built = needs_clearing(ctx)
    built.state["flags"]["clock_error"] = True
    return built


def clock_factor(ctx: Context) -> Built:
    """Needs clearing; the clock calibration factor is invalid (时钟校准因子失效)."""
    built = needs_clearing(ctx)
    built.state["flags"]["clock_factor_invalid"] = True
    return built


def busy(ctx: Context) -> Built:
    """Needs clearing, but another program holds the device: every command answers busy."""
    built = needs_clearing(ctx)
    built.state["flags"]["busy"] = True
    return built


def multi_type(ctx: Context) -> Built:
    """Needs clearing on three types: 004 special, 007 ordinary, 026 e-invoice."""
    types = (commands.TYPE_SPECIAL, commands.TYPE_ORDINARY, commands.TYPE_E_ORDINARY)
    return _needs_clearing(ctx, types=types)


def small_scale(ctx: Context) -> Built:
    """Needs clearing, for a small-scale taxpayer (catalog index 1 unless index= says else)."""
    return needs_clearing(ctx)


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "needs-clearing",
            "window last month, reported last month, locks this month",
            needs_clearing,
        ),
        Scenario(
            "reported-not-cleared",
            "copied this month, summary waiting, not cleared",
            reported_not_cleared,
        ),
        Scenario("already-cleared", "cleared this month, locks next month", already_cleared),
        Scenario("locked", "3 days past this month's deadline, not reported", locked),
        Scenario("zombie", "locked since a deadline about four months ago (over 90 days)", zombie),
        Scenario("training", "training device (测试盘), never cleared", training),
        Scenario("wrong-pin", f"device PIN is {SIM_PIN}, not the default; 3 tries", wrong_pin),
        Scenario("pin-locked", "no PIN tries left, certificate locked", pin_locked),
        Scenario("offline-pending", "3 offline e-invoices not uploaded", offline_pending),
        Scenario("clock-drift", "device clock hours or days off the host's", clock_drift),
        Scenario("clock-error", "clock chip error", clock_error),
        Scenario("clock-factor", "clock factor invalid", clock_factor),
        Scenario("busy", "held by another program: every command busy", busy),
        Scenario("multi-type", "types 004, 007 and 026 need clearing", multi_type),
        Scenario(
            "small-scale", "small-scale taxpayer (catalog index 1) needs clearing", small_scale, 1
        ),
    )
}


def build(name: str, anchor: datetime, calendar: FilingCalendar, index: int | None = None) -> Built:
    """Build scenario ``name``; ``KeyError`` naming the known ones if there is no such scenario."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise KeyError(f"no device scenario {name!r}; known: {', '.join(SCENARIOS)}")
    return scenario.build(Context(anchor, scenario.index if index is None else index, calendar))
