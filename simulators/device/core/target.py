"""The device side of USB bulk-only transport, over two primitives: ``bulk_out`` and ``bulk_in``.

One exchange, as the host sees it::

    OUT  CBW (31 bytes)            the CDB; its transfer length is the host's IN allocation
    OUT  data (CDB bytes 4..5)     only when the CDB announces a data OUT phase
    IN   response data             at most the transfer length; an empty transfer when the
                                   command failed (or had nothing to say)
    IN   CSW (13 bytes)            residue = transfer length - bytes sent; status 0 or 1

After a failed command (CSW status 1) the host sends a CBW holding the 6-byte REQUEST SENSE CDB
and reads the 18 bytes of sense data (the vendor status word), then that CSW.

What this target does when the host breaks the sequence (choices the BOT spec leaves open or
that a real UKey makes; every one is bounded and the host recovers with a reset):

* an OUT transfer that is not a valid CBW where a CBW is expected (bad signature, length,
  flags) halts both endpoints, as BOT §6.6.1 asks: every transfer stalls until :meth:`reset`
  (the bulk-only mass storage reset or a USB port reset); clearing a halt alone does not help;
* a valid CBW while an answer is still pending (the host gave up on a data phase or a CSW)
  starts a new command and the pending answer is dropped;
* more data OUT than the CDB announced: the command is not run and the CSW reports a phase
  error (status 2);
* a response longer than the transfer length: the first transfer-length bytes are sent and the
  CSW reports a phase error; the command did run;
* an IN read while nothing is pending (no CBW, or data OUT still missing) is not answered, like
  a NAK-ing device, so the host's read times out (:class:`NotReady`);
* a CSW read with a buffer under 13 bytes overflows (:class:`Overflow`) and the CSW stays
  pending;
* the direction bit of the CBW is not checked: the CDB itself fixes both data phases.
"""

from appliance.protocol import bot, cdb, sense
from appliance.protocol.commands import BY_OP
from appliance.protocol.errors import ProtocolError
from simulators.device.core.handler import UNKNOWN, Handler

IDLE = 0
DATA_OUT = 1
DATA_IN = 2
STATUS = 3
HALTED = 4
PHASE_NAMES = ("idle", "data-out", "data-in", "status", "halted")
REQUEST_SENSE = "request_sense"


class Stall(Exception):
    """The endpoint answered STALL."""


class NotReady(Exception):
    """The device has nothing to send: it NAKs until the host's read times out."""


class Overflow(Exception):
    """The host's buffer is smaller than the packet the device sends (babble)."""


class Target:
    """A bulk-only transport endpoint pair in front of a :class:`Handler`."""

    __slots__ = (
        "_cbw",
        "_in",
        "_out",
        "_out_expected",
        "_sense",
        "_sent",
        "_status",
        "handler",
        "in_halted",
        "op_name",
        "phase",
    )

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.op_name = ""
        self.reset()

    def reset(self) -> None:
        """Bulk-only mass storage reset: drop any exchange and clear every halt."""
        self.phase = IDLE
        self.in_halted = False
        self._cbw: bot.Cbw | None = None
        self._out = bytearray()
        self._out_expected = 0
        self._in = b""
        self._sent = 0
        self._status = bot.CSW_PASSED
        self._sense = _no_sense()

    def stall_in(self) -> None:
        """Halt the IN endpoint until the host clears it (fault injection, or a real stall)."""
        self.in_halted = True

    def clear_halt(self, endpoint_in: bool) -> None:
        """Clear an endpoint halt (CLEAR_FEATURE ENDPOINT_HALT).

        Clearing IN in the middle of a data phase ends that phase: the host reads the CSW next,
        whose residue counts what was not sent. A halt after an invalid CBW stays until reset.
        """
        if endpoint_in and self.in_halted:
            self.in_halted = False
            if self.phase == DATA_IN:
                self.phase = STATUS

    # -- OUT ---------------------------------------------------------------------------------

    def bulk_out(self, data: bytes) -> int:
        """Take one OUT transfer; return the bytes accepted."""
        if self.phase == HALTED:
            raise Stall("endpoints halted after an invalid CBW; reset needed")
        if self.phase == DATA_OUT:
            return self._data_out(data)
        try:
            cbw = bot.decode_cbw(bytes(data))
        except ProtocolError:
            self.phase = HALTED
            self.op_name = ""
            return len(data)
        self._start(cbw)
        return len(data)

    def _start(self, cbw: bot.Cbw) -> None:
        self._cbw = cbw
        self._out = bytearray()
        self._out_expected = 0
        self._in = b""
        self._sent = 0
        self.in_halted = False
        if cdb.is_request_sense(cbw.cdb):
            self.op_name = REQUEST_SENSE
            self.handler.count(REQUEST_SENSE)
            self._request_sense(cbw.cdb[4])
            return
        self.op_name = op_name(cbw.cdb)
        try:
            self._out_expected = cdb.decode_vendor_cdb(cbw.cdb).out_length
        except ProtocolError:
            self._out_expected = 0  # the handler refuses such a CDB; expect no data for it
        if self._out_expected:
            self.phase = DATA_OUT
        else:
            self._execute()

    def _data_out(self, data: bytes) -> int:
        if len(self._out) + len(data) > self._out_expected:
            # The host sent more than the CDB announced: the two sides disagree on the phases.
            self._finish(b"", bot.CSW_PHASE_ERROR)
            return len(data)
        self._out.extend(data)
        if len(self._out) == self._out_expected:
            self._execute()
        return len(data)

    def _execute(self) -> None:
        assert self._cbw is not None
        result = self.handler.handle(self._cbw.cdb, bytes(self._out))
        self._out = bytearray()
        if isinstance(result, sense.Sense):
            self._sense = result
            self._finish(b"", bot.CSW_FAILED)
        else:
            self._sense = _no_sense()
            self._finish(result, bot.CSW_PASSED)

    def _request_sense(self, allocation: int) -> None:
        data = sense.encode_sense(self._sense)[: min(allocation, sense.SENSE_SIZE)]
        # Sense data is reported once; the next REQUEST SENSE reads "no sense".
        self._sense = _no_sense()
        self._finish(data, bot.CSW_PASSED)

    def _finish(self, data: bytes, status: int) -> None:
        assert self._cbw is not None
        limit = self._cbw.transfer_length
        if len(data) > limit:
            data = data[:limit]
            status = bot.CSW_PHASE_ERROR
        self._in = data
        self._sent = 0
        self._status = status
        self.phase = DATA_IN if limit else STATUS

    # -- IN ----------------------------------------------------------------------------------

    def bulk_in(self, max_len: int) -> bytes:
        """Answer one IN transfer of at most ``max_len`` bytes."""
        if self.phase == HALTED or self.in_halted:
            raise Stall("IN endpoint halted")
        if self.phase == DATA_IN:
            chunk = self._in[self._sent : self._sent + max_len]
            self._sent += len(chunk)
            if self._sent >= len(self._in):
                self.phase = STATUS
            return chunk
        if self.phase == STATUS:
            if max_len < bot.CSW_SIZE:
                raise Overflow("CSW read with a %d-byte buffer" % max_len)
            assert self._cbw is not None
            residue = self._cbw.transfer_length - self._sent
            self.phase = IDLE
            return bot.encode_csw(self._cbw.tag, residue, self._status)
        raise NotReady("no IN data pending in phase %s" % PHASE_NAMES[self.phase])


def _no_sense() -> sense.Sense:
    return sense.Sense(sense.KEY_NO_SENSE, sense.SW_OK, 0)


def op_name(block: bytes) -> str:
    """Return the name of the command a CDB asks for (``unknown`` if none)."""
    if len(block) == cdb.CDB_SIZE and block[0] == cdb.VENDOR_MARKER:
        command = BY_OP.get(block[1])
        if command is not None:
            return command.name
    return UNKNOWN
