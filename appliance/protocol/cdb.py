"""The 16-byte vendor CDB of the NISEC / tax UKey family, and the SCSI REQUEST SENSE CDB.

Our layout (the public notes fix only the FE marker, the op byte and the check byte):

====== =====================================================================
byte   meaning
====== =====================================================================
0      0xFE, vendor command marker
1      operation code (see :mod:`appliance.protocol.commands`)
2      p1, operation parameter
3      p2, operation parameter
4..5   length of the data OUT phase, big endian
6..7   allocation length of the data IN phase, big endian
8      check byte: CRC-16/X-25 of the data OUT, high byte XOR low byte
9      exchange sequence number (mod 256), echoed in nothing, seen in captures
10..15 reserved, zero
====== =====================================================================
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.crc import check_byte
from appliance.protocol.errors import BadCheck, BadFrame, NeedMore, TooLarge

CDB_SIZE = const(16)
VENDOR_MARKER = const(0xFE)
OP_REQUEST_SENSE = const(0x03)
REQUEST_SENSE_CDB_SIZE = const(6)

# A command's data OUT is a PIN, a challenge or a clearing blob: all far below 2 KiB. The cap
# keeps a corrupted length byte from making the device wait for data that never comes.
MAX_OUT = const(2048)
# Responses are at most a few hundred bytes; 4 KiB bounds what a host ever allocates per read.
MAX_IN = const(4096)

_FORMAT = ">BBBBHHBB6s"


class VendorCdb:
    """A decoded vendor CDB."""

    __slots__ = ("check", "in_length", "op", "out_length", "p1", "p2", "seq")

    def __init__(
        self,
        op: int,
        p1: int = 0,
        p2: int = 0,
        out_length: int = 0,
        in_length: int = 0,
        check: int = 0,
        seq: int = 0,
    ) -> None:
        self.op = op
        self.p1 = p1
        self.p2 = p2
        self.out_length = out_length
        self.in_length = in_length
        self.check = check
        self.seq = seq

    def __repr__(self) -> str:
        return "VendorCdb(op=0x%02x, p1=%d, p2=%d, out=%d, in=%d, check=0x%02x, seq=%d)" % (
            self.op,
            self.p1,
            self.p2,
            self.out_length,
            self.in_length,
            self.check,
            self.seq,
        )


def encode_vendor_cdb(
    op: int, data_out: bytes = b"", in_length: int = 0, p1: int = 0, p2: int = 0, seq: int = 0
) -> bytes:
    """Return the 16-byte CDB for ``op`` carrying the check byte of ``data_out``."""
    if len(data_out) > MAX_OUT:
        raise TooLarge("data OUT of %d bytes above cap %d" % (len(data_out), MAX_OUT))
    if not 0 <= in_length <= MAX_IN:
        raise TooLarge("allocation length %d above cap %d" % (in_length, MAX_IN))
    for name, value in (("op", op), ("p1", p1), ("p2", p2)):
        if not 0 <= value <= 0xFF:
            raise BadFrame("CDB %s %d is not a byte" % (name, value))
    return struct.pack(
        _FORMAT,
        VENDOR_MARKER,
        op,
        p1,
        p2,
        len(data_out),
        in_length,
        check_byte(data_out),
        seq & 0xFF,
        bytes(6),
    )


def decode_vendor_cdb(buf: bytes) -> VendorCdb:
    """Decode a vendor CDB; :class:`BadFrame` if it is not one of ours."""
    if len(buf) < CDB_SIZE:
        raise NeedMore(CDB_SIZE - len(buf), "vendor CDB")
    if len(buf) > CDB_SIZE:
        raise BadFrame("vendor CDB is %d bytes, must be %d" % (len(buf), CDB_SIZE))
    marker, op, p1, p2, out_len, in_len, check, seq, reserved = struct.unpack(_FORMAT, bytes(buf))
    if marker != VENDOR_MARKER:
        raise BadFrame("CDB marker 0x%02x is not 0xFE" % marker)
    if reserved != bytes(6):
        raise BadFrame("CDB reserved bytes are not zero")
    if out_len > MAX_OUT:
        raise TooLarge("CDB data OUT length %d above cap %d" % (out_len, MAX_OUT))
    if in_len > MAX_IN:
        raise TooLarge("CDB allocation length %d above cap %d" % (in_len, MAX_IN))
    return VendorCdb(op, p1, p2, out_len, in_len, check, seq)


def verify_out_data(cdb: VendorCdb, data_out: bytes) -> None:
    """Raise :class:`BadCheck` unless ``data_out`` has the length and check byte the CDB states."""
    if len(data_out) != cdb.out_length:
        raise BadFrame("data OUT is %d bytes, CDB says %d" % (len(data_out), cdb.out_length))
    actual = check_byte(data_out)
    if actual != cdb.check:
        raise BadCheck("check byte 0x%02x, data gives 0x%02x" % (cdb.check, actual))


def encode_request_sense(allocation: int = 18) -> bytes:
    """Return the 6-byte SCSI REQUEST SENSE CDB."""
    if not 0 <= allocation <= 0xFF:
        raise BadFrame("REQUEST SENSE allocation %d is not a byte" % allocation)
    return bytes((OP_REQUEST_SENSE, 0, 0, 0, allocation, 0))


def is_request_sense(cdb: bytes) -> bool:
    """Tell whether ``cdb`` is a REQUEST SENSE."""
    return len(cdb) == REQUEST_SENSE_CDB_SIZE and cdb[0] == OP_REQUEST_SENSE
