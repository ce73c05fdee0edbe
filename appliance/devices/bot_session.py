"""Host side of bulk-only transport: one vendor command = CBW, data OUT, data IN, CSW.

On a failed command (CSW status 1) the session asks REQUEST SENSE and returns the vendor status;
on a stalled data phase it clears the halt and reads the CSW, as the USB mass-storage spec asks.
Everything else the spec calls invalid or not meaningful ends in *reset recovery* (mass storage
reset, then both halts cleared) and a typed error: a stalled CBW, a CSW that stalls twice, a
halt that cannot be cleared, a phase error, a CSW of another command, a residue larger than the
transfer. An exchange left unfinished (a timeout, an unplug) is recovered the same way before
the next command, so the two sides agree again where the exchange stands.

Every transfer waits at most until the session's ``deadline`` (set by the driver for each
operation); past it the command ends in :class:`DeadlineExceeded`. The number of transfers of
one command is bounded too, so nothing here can loop on a hostile device.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from appliance.devices.deadlines import TRANSFER_S
from appliance.devices.errors import (
    DeadlineExceeded,
    DeviceTimeout,
    InvalidAnswer,
    ProtocolError,
    Stalled,
)
from appliance.devices.pipe import Pipe
from appliance.protocol import bot, cdb, sense
from appliance.protocol.errors import ProtocolError as CodecError

_T = TypeVar("_T")


@dataclass(frozen=True)
class Reply:
    """What one command came back with: its data, or the sense of its failure."""

    data: bytes
    sense: sense.Sense | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the command passed."""
        return self.sense is None


class BotSession:
    """Runs commands over a :class:`Pipe`; counts tags and sequence numbers."""

    def __init__(
        self,
        pipe: Pipe,
        transfer_s: float = TRANSFER_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pipe = pipe
        self.transfer_ms = max(1, math.ceil(transfer_s * 1000))
        self.monotonic = monotonic
        # The monotonic moment the current operation must end by, and its name for messages;
        # set by the driver around each operation, None for no deadline.
        self.deadline: float | None = None
        self.operation = ""
        self._tag = 0
        self._seq = 0
        self._needs_recovery = False

    def _next_tag(self) -> int:
        self._tag = (self._tag + 1) & 0xFFFFFFFF
        return self._tag

    def run(self, op: int, data_out: bytes, in_length: int, p1: int = 0, p2: int = 0) -> Reply:
        """Run one vendor command and return its reply (sense included on failure)."""
        self._seq = (self._seq + 1) & 0xFF
        try:
            block = cdb.encode_vendor_cdb(op, data_out, in_length, p1, p2, self._seq)
        except CodecError as exc:
            raise ProtocolError(f"cannot build command 0x{op:02x}: {exc}", self.pipe.name) from exc
        if self._needs_recovery:
            self._reset_recovery()
        # Until the command's CSW is in, an error leaves the exchange unfinished.
        self._needs_recovery = True
        data, csw = self._transfer(block, data_out, in_length)
        if csw.status == bot.CSW_PASSED:
            self._needs_recovery = False
            return Reply(data)
        found = self._request_sense()
        self._needs_recovery = False
        return Reply(b"", found)

    # -- transfers, each bounded by the deadline --------------------------------------------

    def _timeout_ms(self) -> int:
        if self.deadline is None:
            return self.transfer_ms
        left = self.deadline - self.monotonic()
        if left <= 0:
            raise DeadlineExceeded(self._late(), self.pipe.name)
        return max(1, min(self.transfer_ms, math.ceil(left * 1000)))

    def _late(self) -> str:
        return f"{self.operation or 'the command'} ran out of time"

    def _bounded(self, transfer: Callable[[int], _T]) -> _T:
        try:
            return transfer(self._timeout_ms())
        except DeviceTimeout as exc:
            if self.deadline is not None and self.monotonic() >= self.deadline:
                raise DeadlineExceeded(self._late(), self.pipe.name) from exc
            raise

    def _write(self, data: bytes) -> None:
        self._bounded(lambda timeout: self.pipe.write_out(data, timeout))

    def _read(self, length: int) -> bytes:
        return self._bounded(lambda timeout: self.pipe.read_in(length, timeout))

    def _clear(self, endpoint: str) -> None:
        """Clear a halt; a device that refuses gets reset recovery and the stall is fatal."""
        try:
            self._bounded(lambda timeout: self.pipe.clear_stall(endpoint, timeout))
        except Stalled as exc:
            self._reset_recovery()
            raise Stalled(
                endpoint, self.pipe.name, f"the {endpoint} endpoint's halt could not be cleared"
            ) from exc

    def _reset_recovery(self) -> None:
        """Reset the transport (mass storage reset and both halts cleared)."""
        self._needs_recovery = True
        self._bounded(self.pipe.reset)
        self._needs_recovery = False

    # -- one exchange ------------------------------------------------------------------------

    def _request_sense(self) -> sense.Sense:
        data, csw = self._transfer(
            cdb.encode_request_sense(sense.SENSE_SIZE), b"", sense.SENSE_SIZE
        )
        if csw.status != bot.CSW_PASSED:
            raise ProtocolError("REQUEST SENSE itself failed", self.pipe.name)
        try:
            return sense.decode_sense(data)
        except CodecError as exc:
            raise ProtocolError(f"unreadable sense data: {exc}", self.pipe.name) from exc

    def _transfer(self, block: bytes, data_out: bytes, in_length: int) -> tuple[bytes, bot.Csw]:
        tag = self._next_tag()
        try:
            self._write(bot.encode_cbw(tag, in_length, True, block))
        except Stalled as exc:
            # BOT §5.3.1: a device that stalls the CBW itself needs reset recovery.
            self._reset_recovery()
            raise Stalled("out", self.pipe.name, "the device refused the command block") from exc
        if data_out:
            try:
                self._write(data_out)
            except Stalled:
                self._clear("out")
        data = b""
        if in_length:
            try:
                data = self._read(in_length)
            except Stalled:
                self._clear("in")
        if len(data) > in_length:
            self._reset_recovery()
            raise InvalidAnswer(f"device sent {len(data)} bytes for {in_length}", self.pipe.name)
        data, csw = self._read_csw(data)
        if csw.tag != tag or csw.status == bot.CSW_PHASE_ERROR:
            self._reset_recovery()
            why = "phase error" if csw.status == bot.CSW_PHASE_ERROR else "CSW of another command"
            raise ProtocolError(f"bulk-only transport {why}; device reset", self.pipe.name)
        if csw.residue > in_length:
            # BOT §6.3: a residue above the transfer length makes the CSW not meaningful.
            self._reset_recovery()
            raise InvalidAnswer(
                f"CSW residue {csw.residue} is larger than the {in_length} bytes asked for;"
                " device reset",
                self.pipe.name,
            )
        return data, csw

    def _read_csw(self, data: bytes) -> tuple[bytes, bot.Csw]:
        """Return the data phase's bytes and the CSW (which may have come in their place)."""
        # A device with no data to send may answer the data phase with its CSW straight away.
        if len(data) == bot.CSW_SIZE and data[:4] == bot.CSW_SIGNATURE:
            try:
                return b"", bot.decode_csw(data)
            except CodecError:
                pass
        for attempt in range(2):
            try:
                raw = self._read(bot.CSW_SIZE)
                break
            except Stalled as exc:
                # The spec's recovery: clear the halt, then the CSW comes; a second stall is fatal.
                if attempt:
                    self._reset_recovery()
                    raise Stalled(
                        "in", self.pipe.name, "the status (CSW) stalled twice; device reset"
                    ) from exc
                self._clear("in")
        try:
            return data, bot.decode_csw(raw)
        except CodecError as exc:
            self._reset_recovery()
            raise ProtocolError(f"bad CSW: {exc}; device reset", self.pipe.name) from exc
