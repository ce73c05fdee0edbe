"""Driver of the NISEC / tax UKey family: the one interface the rest of the appliance uses.

Requests and responses are built from the command table only. Two retry rules live here and
nowhere else: a command the device refused for a bad check byte was not executed, so it is sent
again (twice at most); a garbled *answer* is retried only for commands the table marks
repeatable, because a PIN, copy tax or clearing data must never be applied twice by accident.
A rejected PIN is remembered and never sent again by this driver.

Every public method is one *operation*: it runs against its own deadline (``Deadlines``), and
whatever the device does, it returns a value or raises a :class:`~appliance.devices.errors.
DeviceError`. An answer that decodes but cannot be true (31 February, a lock moment of zero) is
an :class:`~appliance.devices.errors.InvalidAnswer`, never a stray ``ValueError``.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

from appliance.devices import errors as e
from appliance.devices.bot_session import BotSession
from appliance.devices.deadlines import Deadlines
from appliance.devices.ids import KnownDevice
from appliance.devices.models import (
    Certificate,
    ClearResult,
    CopyResult,
    Identity,
    MonitorData,
    Summary,
    to_date,
    to_datetime,
)
from appliance.devices.pipe import Pipe
from appliance.protocol import commands, sense
from appliance.protocol.errors import ProtocolError as CodecError

_log = logging.getLogger(__name__)
_ATTEMPTS = 3
# What interpreting well-framed answer bytes can raise when they say something impossible: the
# codec's errors, and ValueError from turning fields into dates (ImpossibleValue) or numbers.
_IMPOSSIBLE = (CodecError, ValueError, OverflowError, struct.error)

_STATUS_ERRORS: dict[int, type[e.DeviceError]] = {
    sense.SW_PIN_BLOCKED: e.CertificateLocked,
    sense.SW_PIN_REQUIRED: e.PinRequired,
    sense.SW_NOT_REPORT_TIME: e.NotReportTime,
    sense.SW_NO_SUMMARY: e.NoSummaryData,
    sense.SW_ALREADY_CLEARED: e.AlreadyCleared,
    sense.SW_LOCKED: e.DeviceLocked,
    sense.SW_MULTI_MONTH: e.ZombieDevice,
    sense.SW_OFFLINE_PENDING: e.OfflineInvoicesPending,
    sense.SW_TRAINING: e.TrainingDevice,
    sense.SW_NOT_REPORTED: e.NotReported,
    sense.SW_BUSY: e.DeviceBusy,
    sense.SW_TYPE_NOT_FOUND: e.TypeNotOnDevice,
    sense.SW_BAD_CHECK: e.ProtocolError,
}
_DETAILS: dict[int, str] = {
    sense.SW_CLOCK_ERROR: "device clock chip error (时钟芯片错误)",
    sense.SW_CLOCK_FACTOR: "clock factor invalid, report again (时钟校准因子失效，请重新报税)",
    sense.SW_CLEARING_FORGED: "clearing data signature does not verify",
    sense.SW_CLEARING_MISMATCH: "clearing data is for another device, taxpayer or period",
    sense.SW_NO_SESSION: "device restarted and lost its session",
}


class NisecDevice:
    """An open NISEC-family device (税务UKey or 税控盘)."""

    def __init__(
        self,
        pipe: Pipe,
        url: str,
        known: KnownDevice | None = None,
        deadlines: Deadlines | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.pipe = pipe
        self.known = known
        self.deadlines = deadlines or Deadlines()
        self._monotonic = monotonic
        self._session = BotSession(pipe, self.deadlines.transfer_s, monotonic)
        self._open = False
        self._pin_verified = False
        self._rejected: dict[str, int] = {}
        self._selected: str | None = None
        self.pin_commands_sent = 0

    # -- plumbing -------------------------------------------------------------------------

    def _error(self, found: sense.Sense) -> e.DeviceError:
        status = found.status
        if status & 0xFFF0 == sense.SW_PIN_WRONG:
            return e.PinRejected(found.detail, self.url)
        if status == sense.SW_CLOCK_FACTOR:
            return e.ClockFactorInvalid(_DETAILS[status], self.url)
        if status == sense.SW_CLOCK_ERROR:
            return e.ClockError(_DETAILS[status], self.url)
        if status in (sense.SW_CLEARING_FORGED, sense.SW_CLEARING_MISMATCH):
            return e.ClearingRejected(_DETAILS[status], self.url)
        if status == sense.SW_NO_SESSION:
            self._open = False
            self._pin_verified = False
            return e.DeviceGone(_DETAILS[status], self.url)
        kind = _STATUS_ERRORS.get(status)
        if kind is None:
            return e.CommandRefused(status, self.url)
        return kind("", self.url)

    def _call(self, name: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        cmd = commands.command(name)
        try:
            out = cmd.request.encode(values or {})
        except CodecError as exc:
            raise e.ProtocolError(f"cannot encode {name}: {exc}", self.url) from exc
        for attempt in range(_ATTEMPTS):
            last = attempt == _ATTEMPTS - 1
            reply = self._session.run(cmd.op, out, cmd.allocation)
            if reply.sense is not None:
                if reply.sense.status == sense.SW_BAD_CHECK and not last:
                    continue  # refused before execution: safe to send again
                raise self._error(reply.sense)
            try:
                return commands.decode_response(cmd, reply.data)
            except CodecError as exc:
                if cmd.repeatable and not last:
                    continue
                raise e.ProtocolError(f"garbled answer to {name}: {exc}", self.url) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    @contextlib.contextmanager
    def _bounded(self, name: str, seconds: float) -> Iterator[None]:
        """Run the body against a deadline ``seconds`` away (or an earlier one already set)."""
        session = self._session
        outer = (session.deadline, session.operation)
        mine = self._monotonic() + seconds
        if session.deadline is None or mine < session.deadline:
            session.deadline, session.operation = mine, f"{name} (limit {seconds:g} s)"
        try:
            yield
        except e.DeviceError:
            raise
        except _IMPOSSIBLE as exc:
            raise e.InvalidAnswer(f"{name}: {exc}", self.url) from exc
        finally:
            session.deadline, session.operation = outer

    def _operation(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self._bounded(name, self.deadlines.budget(name))

    def within(
        self, seconds: float, what: str = "reading the device"
    ) -> contextlib.AbstractContextManager[None]:
        """Bound several operations together: none runs past ``seconds`` from now.

        Each operation keeps its own limit too; the earlier of the two applies.
        """
        return self._bounded(what, seconds)

    def _ensure_open(self) -> None:
        if not self._open:
            self._call("open_session")
            self._call("select_app", {"aid": commands.APPLICATION_ID})
            self._open = True
            self._selected = None

    def _select(self, type_code: str) -> None:
        self._ensure_open()
        if self._selected != type_code:
            self._call("select_type", {"type": type_code})
            self._selected = type_code

    # -- the interface ----------------------------------------------------------------------

    def identify(self) -> Identity:
        """Return who the device belongs to (no PIN needed)."""
        with self._operation("identify"):
            self._ensure_open()
            vendor = self.known.vendor if self.known else self.pipe.descriptor.manufacturer
            return Identity.from_fields(self._call("identify"), vendor=vendor)

    def verify_pin(self, pin: str) -> int:
        """Verify the device PIN once; return the tries left. A rejected PIN is never re-sent."""
        if pin in self._rejected:
            raise e.PinRejected(self._rejected[pin], self.url)
        with self._operation("verify_pin"):
            self._ensure_open()
            self.pin_commands_sent += 1
            try:
                tries_left = int(self._call("verify_pin", {"pin": pin})["tries_left"])
            except e.PinRejected as exc:
                self._rejected[pin] = exc.tries_left
                raise
            self._pin_verified = True
            return tries_left

    def invoice_types(self) -> list[str]:
        """Return the invoice types on the device."""
        with self._operation("invoice_types"):
            self._ensure_open()
            return list(self._call("list_types")["types"])

    def read_clock(self) -> datetime:
        """Return the device clock (the authority for every date decision)."""
        with self._operation("read_clock"):
            self._ensure_open()
            clock = to_datetime(self._call("read_clock")["clock"])
            if clock is None:
                raise e.ClockError("device clock reads zero", self.url)
            return clock

    def certificate(self) -> Certificate:
        """Return the device certificate serial and public key."""
        with self._operation("certificate"):
            self._ensure_open()
            fields = self._call("read_cert")
            return Certificate(serial=fields["cert_serial"], public_key=fields["public_key"])

    def monitor(self, type_code: str) -> MonitorData:
        """Return the monitor data of one invoice type."""
        with self._operation("monitor"):
            self._select(type_code)
            return MonitorData.from_fields(self._call("read_monitor"))

    def copy_tax(self, type_code: str) -> CopyResult:
        """Copy tax (抄税): close the report period of one invoice type."""
        with self._operation("copy_tax"):
            self._select(type_code)
            fields = self._call("copy_tax")
            return CopyResult(fields["type"], fields["period"], to_date(fields["zxbsrq"]))

    def read_summary(self, type_code: str) -> Summary:
        """Return the signed summary of the closed period of one invoice type."""
        with self._operation("read_summary"):
            self._select(type_code)
            cmd = commands.command("read_summary")
            fields = self._call("read_summary")
            signed = commands.signed_bytes(cmd.response, fields)
            raw = cmd.response.encode(fields)
            return Summary(
                type_code=fields["type"],
                period=fields["period"],
                fields=fields,
                raw=raw,
                signed=signed,
                signature=fields["signature"],
            )

    def write_clearing(self, data: bytes) -> ClearResult:
        """Write clearing data (清卡/反写); raises :class:`AlreadyCleared` if applied before."""
        with self._operation("write_clearing"):
            self._ensure_open()
            fields = self._call("write_clearing", {"data": data})
            return ClearResult(tuple(fields["types"]), to_datetime(fields["kpjzsj"]))

    def sign(self, challenge: bytes) -> bytes:
        """Sign a bureau handshake challenge with the device key."""
        with self._operation("sign"):
            self._ensure_open()
            return bytes(self._call("sign", {"challenge": challenge})["signature"])

    def close(self) -> None:
        """End the session and release the device; never raises (an Exception, that is)."""
        try:
            if self._open:
                with self._operation("close"):
                    self._call("close_session")
        except Exception as exc:  # noqa: BLE001 - a promise: closing never fails the caller
            # A device that went away, stalls or hangs: there is nothing left to end.
            _log.debug("%s: ending the session failed: %s", self.url, exc)
        finally:
            self._open = False
            try:
                self.pipe.close()
            except Exception as exc:  # noqa: BLE001 - same promise, for the transport
                _log.warning("%s: releasing the device failed: %s", self.url, exc)

    def __enter__(self) -> NisecDevice:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
