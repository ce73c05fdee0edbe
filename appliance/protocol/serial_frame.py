"""The serial frame that tunnels bulk-only USB transfers to the bench device over USB-CDC.

The bench device (a Pico running the device simulator) has no mass-storage endpoints, so each
bulk transfer the driver would make travels in one frame instead:

====== ====== ===============================================================
offset size   meaning
====== ====== ===============================================================
0      2      start marker 0xA5 0x5A
2      1      kind (below)
3      1      sequence number; a reply carries the number of its request
4      2      payload length, big endian, at most :data:`MAX_PAYLOAD`
6      n      payload
6+n    2      CRC-16/X-25 over bytes 2 .. 6+n (kind to end of payload), big endian
====== ====== ===============================================================

Kinds: host to device ``BULK_OUT`` (payload: the bytes of one OUT transfer), ``BULK_IN`` (payload:
u16 maximum length), ``RESET`` (bulk-only mass storage reset), ``HELLO`` (asks for descriptors),
``CLEAR_HALT`` (payload: one byte, 1 for OUT, 2 for IN); device to host ``ACK`` (request done),
``IN_DATA`` (the bytes of one IN transfer), ``STALL`` (the endpoint stalled; payload: one byte,
1 for OUT, 2 for IN), ``DESCRIPTOR`` (VID, PID and the USB strings).

A line can lose or garble a frame, so the host re-sends a request it got no answer to, with the
same sequence number; the device answers a repeated sequence number with its last reply instead
of acting twice.
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.crc import crc16_x25
from appliance.protocol.errors import BadCheck, BadFrame, NeedMore, TooLarge
from appliance.protocol.fields import Layout

MAGIC = b"\xa5\x5a"
HEADER_SIZE = const(6)
CRC_SIZE = const(2)
# One frame carries one bulk transfer; the vendor CDB caps data phases at 4 KiB and a CBW is
# 31 bytes, so 4 KiB + a little is enough. The cap is what a Pico reserves per frame.
MAX_PAYLOAD = const(4160)
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE

KIND_BULK_OUT = const(0x01)
KIND_BULK_IN = const(0x02)
KIND_RESET = const(0x03)
KIND_HELLO = const(0x04)
KIND_CLEAR_HALT = const(0x05)
KIND_ACK = const(0x81)
KIND_IN_DATA = const(0x82)
KIND_STALL = const(0x83)
KIND_DESCRIPTOR = const(0x84)
KINDS = (
    KIND_BULK_OUT,
    KIND_BULK_IN,
    KIND_RESET,
    KIND_HELLO,
    KIND_CLEAR_HALT,
    KIND_ACK,
    KIND_IN_DATA,
    KIND_STALL,
    KIND_DESCRIPTOR,
)
ENDPOINT_OUT = const(1)
ENDPOINT_IN = const(2)

DESCRIPTOR = Layout(
    (
        ("vid", "u16"),
        ("pid", "u16"),
        ("manufacturer", "text"),
        ("product", "text"),
        ("serial", "text"),
    )
)


class Frame:
    """One decoded serial frame."""

    __slots__ = ("kind", "payload", "seq")

    def __init__(self, kind: int, seq: int, payload: bytes = b"") -> None:
        self.kind = kind
        self.seq = seq
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Frame)
            and self.kind == other.kind
            and self.seq == other.seq
            and self.payload == other.payload
        )

    def __repr__(self) -> str:
        return "Frame(kind=0x%02x, seq=%d, payload=%s)" % (self.kind, self.seq, self.payload.hex())


def encode_frame(frame: Frame) -> bytes:
    """Return the bytes of ``frame``."""
    if frame.kind not in KINDS:
        raise BadFrame("frame kind 0x%02x unknown" % frame.kind)
    if not 0 <= frame.seq <= 0xFF:
        raise BadFrame("frame sequence %d is not a byte" % frame.seq)
    if len(frame.payload) > MAX_PAYLOAD:
        raise TooLarge("frame payload %d above cap %d" % (len(frame.payload), MAX_PAYLOAD))
    body = struct.pack(">BBH", frame.kind, frame.seq, len(frame.payload)) + bytes(frame.payload)
    return MAGIC + body + struct.pack(">H", crc16_x25(body))


def decode_frame(buf: "bytes | bytearray") -> tuple[Frame, int]:
    """Decode one frame at the start of ``buf``; return it and the number of bytes it used.

    Raises :class:`NeedMore` while ``buf`` is a valid prefix and :class:`BadFrame` as soon as it
    cannot be one.
    """
    have = len(buf)
    for i in range(min(have, 2)):
        if buf[i] != MAGIC[i]:
            raise BadFrame("frame does not start with the A5 5A marker")
    if have < HEADER_SIZE:
        raise NeedMore(HEADER_SIZE - have, "frame header")
    kind, seq, length = struct.unpack(">BBH", bytes(buf[2:HEADER_SIZE]))
    if kind not in KINDS:
        raise BadFrame("frame kind 0x%02x unknown" % kind)
    if length > MAX_PAYLOAD:
        raise TooLarge("frame payload length %d above cap %d" % (length, MAX_PAYLOAD))
    total = HEADER_SIZE + length + CRC_SIZE
    if have < total:
        raise NeedMore(total - have, "frame")
    body = bytes(buf[2 : HEADER_SIZE + length])
    (crc,) = struct.unpack(">H", bytes(buf[HEADER_SIZE + length : total]))
    if crc16_x25(body) != crc:
        raise BadCheck("frame CRC 0x%04x does not match its content" % crc)
    return Frame(kind, seq, bytes(buf[HEADER_SIZE : HEADER_SIZE + length])), total


class FrameDecoder:
    """A stream decoder: feed it bytes as they arrive, take frames out.

    Bad bytes are dropped up to the next start marker, so one line glitch costs one frame, not
    the link. Each dropped run is reported once through :meth:`next_frame` as a
    :class:`BadFrame`, so the caller can count it and answer the sender.
    """

    __slots__ = ("_buf", "dropped")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        """Append received bytes; more than two frames' worth of backlog is a bad peer."""
        if len(self._buf) + len(data) > 2 * MAX_FRAME:
            self._buf = bytearray()
            raise TooLarge("serial receive backlog above %d bytes, dropped" % (2 * MAX_FRAME))
        self._buf.extend(data)

    def next_frame(self) -> "Frame | None":
        """Return the next whole frame, ``None`` if more bytes are needed, raise if bad."""
        try:
            frame, used = decode_frame(self._buf)
        except NeedMore:
            return None
        except BadFrame:
            self._resync()
            raise
        self._buf = self._buf[used:]
        return frame

    def pending(self) -> int:
        """Return how many received bytes wait for the rest of their frame."""
        return len(self._buf)

    def _resync(self) -> None:
        """Drop bytes up to the next start marker (not the one at offset 0)."""
        start = self._buf.find(MAGIC, 1)
        if start < 0:
            # keep a trailing A5: it may be the first half of the next marker
            keep = 1 if self._buf and self._buf[-1] == MAGIC[0] else 0
            self.dropped += len(self._buf) - keep
            self._buf = self._buf[len(self._buf) - keep :]
        else:
            self.dropped += start
            self._buf = self._buf[start:]
