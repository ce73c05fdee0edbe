"""Host side of bulk-only transport: one vendor command = CBW, data OUT, data IN, CSW.

On a failed command (CSW status 1) the session asks REQUEST SENSE and returns the vendor status;
on a stalled endpoint it clears the halt and reads the CSW, as the USB mass-storage spec asks; on
a phase error or a CSW that does not belong to the CBW it resets the device and reports a
protocol error, because the two sides no longer agree where the exchange stands.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.devices.errors import ProtocolError
from appliance.devices.pipe import Pipe, Stalled
from appliance.protocol import bot, cdb, sense
from appliance.protocol.errors import ProtocolError as CodecError


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

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self._tag = 0
        self._seq = 0

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
        data, csw = self._transfer(block, data_out, in_length)
        if csw.status == bot.CSW_PASSED:
            return Reply(data)
        return Reply(b"", self._request_sense())

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
        self.pipe.write_out(bot.encode_cbw(tag, in_length, True, block))
        if data_out:
            try:
                self.pipe.write_out(data_out)
            except Stalled:
                self.pipe.clear_stall("out")
        data = b""
        if in_length:
            try:
                data = self.pipe.read_in(in_length)
            except Stalled:
                self.pipe.clear_stall("in")
        if len(data) > in_length:
            raise ProtocolError(f"device sent {len(data)} bytes for {in_length}", self.pipe.name)
        csw = self._read_csw(data)
        if csw.tag != tag or csw.status == bot.CSW_PHASE_ERROR:
            self.pipe.reset()
            why = "phase error" if csw.status == bot.CSW_PHASE_ERROR else "CSW of another command"
            raise ProtocolError(f"bulk-only transport {why}; device reset", self.pipe.name)
        return data, csw

    def _read_csw(self, data: bytes) -> bot.Csw:
        # A device with no data to send may answer the data phase with its CSW straight away.
        if len(data) == bot.CSW_SIZE and data[:4] == bot.CSW_SIGNATURE:
            try:
                return bot.decode_csw(data)
            except CodecError:
                pass
        for attempt in range(2):
            try:
                raw = self.pipe.read_in(bot.CSW_SIZE)
                break
            except Stalled:
                # The spec's recovery: clear the halt, then the CSW comes; a second stall is fatal.
                self.pipe.clear_stall("in")
                if attempt:
                    raise
        try:
            return bot.decode_csw(raw)
        except CodecError as exc:
            self.pipe.reset()
            raise ProtocolError(f"bad CSW: {exc}; device reset", self.pipe.name) from exc
