"""Fault injection for the simulated device: what goes wrong, on which command, how often.

A plan is a list of faults. Each names a kind, optionally the command it strikes (any vendor
command when omitted), how many times it fires (``count``) and how many matching commands pass
untouched first (``after``). As an option string (``fault=`` in a ``sim://`` URL), entries are
comma-separated ``KIND[:OP][*COUNT][@AFTER]``; ``drift`` takes seconds instead of an op::

    unplug:write_clearing,busy:copy_tax*2,stall:read_summary@1,drift:-7200,claim-busy

=====================  =====================================================================
kind                   effect
=====================  =====================================================================
``unplug``             the device vanishes during the command, before it runs: the data OUT
                       (or, without one, the CBW) fails with ENODEV, and so does everything
                       after, until :meth:`SimBackend.replug`; the state is kept
``unplug-after``       the command runs (a clearing is applied), then the device vanishes
                       before its answer is read
``corrupt-check``      the CDB check byte is flipped in transit: the device refuses with
                       ``SW_BAD_CHECK`` and runs nothing
``corrupt-response``   one byte of the response data is flipped: the host's CRC check fails
``busy``               the device answers ``SW_BUSY`` without running the command
``stall``              the IN endpoint stalls (EPIPE) until the host clears the halt; the
                       command ran and its CSW is then readable
``timeout``            the first IN read of the command times out; the answer stays pending
``claim-busy``         claiming the interface fails with EBUSY (another program holds it)
``drift``              the device clock jumps by ``seconds`` when the command arrives
=====================  =====================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appliance.protocol import commands

KINDS = (
    "unplug",
    "unplug-after",
    "corrupt-check",
    "corrupt-response",
    "busy",
    "stall",
    "timeout",
    "claim-busy",
    "drift",
)
# Ops a fault may name: the table's commands, and the REQUEST SENSE that follows a failure.
OPS = frozenset(commands.BY_NAME) | {"request_sense"}
# An option string comes from a URL; a plan of more entries than this is a typo or an attack.
MAX_FAULTS = 64
MAX_DRIFT = 400 * 86400
_ENTRY = re.compile(
    r"(?P<kind>[a-z-]+)(?::(?P<arg>[A-Za-z0-9_-]+))?(?:\*(?P<count>\d{1,6}))?(?:@(?P<after>\d{1,6}))?"
)


@dataclass
class Fault:
    """One fault of a plan and how often it has struck."""

    kind: str
    op: str | None = None
    count: int = 1
    after: int = 0
    seconds: int = 0
    seen: int = 0
    fired: int = 0

    def strikes(self, kind_wanted: tuple[str, ...], op: str | None) -> bool:
        """Tell whether this fault fires on the event (and count it if so)."""
        if self.kind not in kind_wanted or self.fired >= self.count:
            return False
        if self.op is not None and self.op != op:
            return False
        if self.op is None and op == "request_sense":
            return False  # a fault without an op strikes vendor commands only
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.fired += 1
        return True

    def __str__(self) -> str:
        text = self.kind
        if self.kind == "drift":
            text += f":{self.seconds}"
        elif self.op is not None:
            text += f":{self.op}"
        if self.count != 1:
            text += f"*{self.count}"
        if self.after:
            text += f"@{self.after}"
        return text


@dataclass
class FaultPlan:
    """The faults waiting to strike one simulated device."""

    faults: list[Fault] = field(default_factory=list)

    def add(
        self, kind: str, op: str | None = None, count: int = 1, after: int = 0, seconds: int = 0
    ) -> Fault:
        """Add a fault; ``ValueError`` for an unknown kind or op or a senseless number."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        if op is not None and op not in OPS:
            raise ValueError(f"fault {kind}: unknown command {op!r}")
        if kind == "claim-busy" and op is not None:
            raise ValueError("fault claim-busy strikes the interface claim, not a command")
        if count < 1 or after < 0:
            raise ValueError(f"fault {kind}: count must be 1 or more and after 0 or more")
        if kind == "drift" and not (seconds and abs(seconds) <= MAX_DRIFT):
            raise ValueError(f"fault drift: seconds must be non-zero and within {MAX_DRIFT}")
        if len(self.faults) >= MAX_FAULTS:
            raise ValueError(f"more than {MAX_FAULTS} faults in one plan")
        fault = Fault(kind, op, count, after, seconds)
        self.faults.append(fault)
        return fault

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Build a plan from ``KIND[:OP][*COUNT][@AFTER],...``."""
        plan = cls()
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            match = _ENTRY.fullmatch(entry)
            if match is None:
                raise ValueError(f"fault {entry!r} is not KIND[:OP][*COUNT][@AFTER]")
            kind, arg = match["kind"], match["arg"]
            count = int(match["count"] or 1)
            after = int(match["after"] or 0)
            if kind == "drift":
                try:
                    seconds = int(arg or "")
                except ValueError:
                    raise ValueError(
                        f"fault {entry!r}: drift takes seconds, like drift:3600"
                    ) from None
                plan.add(kind, None, count, after, seconds)
            else:
                plan.add(kind, arg, count, after)
        return plan

    def strike(self, kinds: tuple[str, ...], op: str | None) -> list[Fault]:
        """Return the faults of these kinds that fire on this event."""
        return [fault for fault in self.faults if fault.strikes(kinds, op)]

    def __str__(self) -> str:
        return ",".join(str(fault) for fault in self.faults)
