"""Core-level devices for tests that talk to the handler or the target without USB."""

from __future__ import annotations

from typing import Any

from appliance.calendar import default_calendar
from appliance.protocol import bot, cdb, commands
from simulators.device.core.handler import Handler
from simulators.device.core.host import FixedClock
from simulators.device.core.target import Target
from simulators.device.scenarios import build, epoch_of
from tests.simulators.device.conftest import ANCHOR


def core_device(scenario: str = "needs-clearing") -> tuple[dict[str, Any], Handler, Target]:
    """Return a scenario's state with a handler and target at ANCHOR (host clock frozen)."""
    built = build(scenario, ANCHOR, default_calendar())
    state = built.state
    host = FixedClock(epoch_of(ANCHOR))
    state["clock_offset"] = epoch_of(built.clock) - host.now()
    handler = Handler(state, host)
    return state, handler, Target(handler)


def vendor(name: str, values: dict[str, Any] | None = None) -> tuple[bytes, bytes, int]:
    """Return (CDB, data OUT, allocation) of a command."""
    cmd = commands.command(name)
    out = cmd.request.encode(values or {})
    return cdb.encode_vendor_cdb(cmd.op, out, cmd.allocation), out, cmd.allocation


def cbw(block: bytes, length: int, tag: int = 7) -> bytes:
    """Return a CBW for ``block``."""
    return bot.encode_cbw(tag, length, True, block)
