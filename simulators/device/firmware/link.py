# mypy: disable-error-code="type-arg"
# (MicroPython code: the state is a bare JSON dict, no typing module to describe it.)
"""The bench device's end of the serial tunnel: frames in, bulk transfers to the target, frames out.

Runs on MicroPython (the firmware) and on CPython (tests). One request frame gets at most one
reply frame. A request repeated with the same sequence number (the host lost the reply) gets
the same reply again without being acted on twice; a bulk IN the target cannot answer yet (it
NAKs) gets no reply, and the host asks again.
"""

import struct

from appliance.protocol import serial_frame as sf
from appliance.protocol.errors import ProtocolError
from simulators.device.core.target import NotReady, Overflow, Stall, Target

VENDOR_ID = 0x1432
PRODUCT_ID = 0x07D0
MANUFACTURER = "ChinaTax SWUKey"
PRODUCT = "Tax UKey bench device (QingKa)"


class Link:
    """Serves the frames of one serial line."""

    __slots__ = (
        "_decoder",
        "_descriptor",
        "_last_kind",
        "_last_reply",
        "_last_seq",
        "bad_frames",
        "target",
    )

    def __init__(self, target: Target, serial: str) -> None:
        self.target = target
        self._decoder = sf.FrameDecoder()
        self._descriptor = sf.DESCRIPTOR.encode(
            {
                "vid": VENDOR_ID,
                "pid": PRODUCT_ID,
                "manufacturer": MANUFACTURER,
                "product": PRODUCT,
                "serial": serial,
            }
        )
        self._last_seq = -1
        self._last_kind = -1
        self._last_reply: "bytes | None" = None
        self.bad_frames = 0

    def feed(self, data: bytes) -> list:
        """Take received bytes; return the reply frames (bytes) to send, in order."""
        try:
            self._decoder.feed(data)
        except ProtocolError:
            self.bad_frames += 1  # a flood with no frame in it: dropped, the line starts over
        replies: list = []
        while True:
            try:
                frame = self._decoder.next_frame()
            except ProtocolError:
                self.bad_frames += 1
                continue
            if frame is None:
                return replies
            reply = self.handle(frame)
            if reply is not None:
                replies.append(reply)

    def handle(self, frame: sf.Frame) -> "bytes | None":
        """Act on one request frame; return the encoded reply, or None (no answer yet)."""
        repeat = frame.seq == self._last_seq and frame.kind == self._last_kind
        if repeat and self._last_reply is not None:
            return self._last_reply
        reply = self._dispatch(frame)
        self._last_seq = frame.seq
        self._last_kind = frame.kind
        self._last_reply = None if reply is None else sf.encode_frame(reply)
        return self._last_reply

    def _dispatch(self, frame: sf.Frame) -> "sf.Frame | None":
        kind = frame.kind
        seq = frame.seq
        target = self.target
        if kind == sf.KIND_HELLO:
            return sf.Frame(sf.KIND_DESCRIPTOR, seq, self._descriptor)
        if kind == sf.KIND_BULK_OUT:
            try:
                target.bulk_out(frame.payload)
            except Stall:
                return sf.Frame(sf.KIND_STALL, seq, bytes((sf.ENDPOINT_OUT,)))
            return sf.Frame(sf.KIND_ACK, seq)
        if kind == sf.KIND_BULK_IN:
            if len(frame.payload) != 2:
                return sf.Frame(sf.KIND_STALL, seq, bytes((sf.ENDPOINT_IN,)))
            (length,) = struct.unpack(">H", frame.payload)
            try:
                data = target.bulk_in(min(length, sf.MAX_PAYLOAD))
            except NotReady:
                return None
            except (Stall, Overflow):
                return sf.Frame(sf.KIND_STALL, seq, bytes((sf.ENDPOINT_IN,)))
            return sf.Frame(sf.KIND_IN_DATA, seq, data)
        if kind == sf.KIND_CLEAR_HALT:
            target.clear_halt(frame.payload == bytes((sf.ENDPOINT_IN,)))
            return sf.Frame(sf.KIND_ACK, seq)
        if kind == sf.KIND_RESET:
            target.reset()
            return sf.Frame(sf.KIND_ACK, seq)
        # A device-to-host kind sent to the device: not a request, nothing to answer.
        return None
