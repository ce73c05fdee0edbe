"""USB mass-storage bulk-only transport (BOT): the 31-byte CBW and the 13-byte CSW.

Every exchange with a tax device is CBW -> optional data OUT -> data IN -> CSW. These functions
only turn fields into bytes and back; nobody here touches an endpoint.
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.errors import BadFrame, NeedMore, TooLarge

CBW_SIZE = const(31)
CSW_SIZE = const(13)
CBW_SIGNATURE = b"USBC"
CSW_SIGNATURE = b"USBS"
FLAG_DATA_IN = const(0x80)

# The largest data phase a tax device command needs is well under 4 KiB (a summary with its
# signature, or a clearing blob). 64 KiB is the cap: a transfer length above it can only come
# from a corrupted or hostile CBW, and honouring it would let one bad frame make a Pico (264 KiB
# of RAM) allocate a buffer it cannot hold.
MAX_TRANSFER = const(65536)

CSW_PASSED = const(0)
CSW_FAILED = const(1)
CSW_PHASE_ERROR = const(2)

_CBW_FORMAT = "<4sIIBBB16s"
_CSW_FORMAT = "<4sIIB"


class Cbw:
    """A decoded command block wrapper."""

    __slots__ = ("cdb", "data_in", "lun", "tag", "transfer_length")

    def __init__(self, tag: int, transfer_length: int, data_in: bool, lun: int, cdb: bytes) -> None:
        self.tag = tag
        self.transfer_length = transfer_length
        self.data_in = data_in
        self.lun = lun
        self.cdb = cdb

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cbw) and encode_cbw_obj(self) == encode_cbw_obj(other)

    def __repr__(self) -> str:
        return "Cbw(tag=%d, len=%d, in=%s, cdb=%s)" % (
            self.tag,
            self.transfer_length,
            self.data_in,
            self.cdb.hex(),
        )


class Csw:
    """A decoded command status wrapper."""

    __slots__ = ("residue", "status", "tag")

    def __init__(self, tag: int, residue: int, status: int) -> None:
        self.tag = tag
        self.residue = residue
        self.status = status

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Csw)
            and self.tag == other.tag
            and self.residue == other.residue
            and self.status == other.status
        )

    def __repr__(self) -> str:
        return "Csw(tag=%d, residue=%d, status=%d)" % (self.tag, self.residue, self.status)


def encode_cbw(tag: int, transfer_length: int, data_in: bool, cdb: bytes, lun: int = 0) -> bytes:
    """Return the 31-byte CBW for ``cdb`` (1..16 bytes)."""
    if not 1 <= len(cdb) <= 16:
        raise BadFrame("CDB length %d outside 1..16" % len(cdb))
    if not 0 <= transfer_length <= MAX_TRANSFER:
        raise TooLarge("transfer length %d above cap %d" % (transfer_length, MAX_TRANSFER))
    if not 0 <= tag <= 0xFFFFFFFF:
        raise BadFrame("CBW tag %d out of range" % tag)
    flags = FLAG_DATA_IN if data_in else 0
    padded = cdb + bytes(16 - len(cdb))
    return struct.pack(
        _CBW_FORMAT, CBW_SIGNATURE, tag, transfer_length, flags, lun, len(cdb), padded
    )


def encode_cbw_obj(cbw: Cbw) -> bytes:
    """Return the bytes of a :class:`Cbw`."""
    return encode_cbw(cbw.tag, cbw.transfer_length, cbw.data_in, cbw.cdb, cbw.lun)


def decode_cbw(buf: bytes) -> Cbw:
    """Decode exactly one CBW; raise :class:`NeedMore` if short, :class:`BadFrame` if invalid."""
    if len(buf) < CBW_SIZE:
        raise NeedMore(CBW_SIZE - len(buf), "CBW")
    if len(buf) > CBW_SIZE:
        raise BadFrame("CBW is %d bytes, must be %d" % (len(buf), CBW_SIZE))
    sig, tag, length, flags, lun, cb_len, cb = struct.unpack(_CBW_FORMAT, bytes(buf))
    if sig != CBW_SIGNATURE:
        raise BadFrame("CBW signature %s is not USBC" % bytes(sig).hex())
    if flags & 0x7F:
        raise BadFrame("CBW flags 0x%02x have reserved bits set" % flags)
    if lun > 15:
        raise BadFrame("CBW LUN %d above 15" % lun)
    if not 1 <= cb_len <= 16:
        raise BadFrame("CBW CDB length %d outside 1..16" % cb_len)
    if length > MAX_TRANSFER:
        raise TooLarge("CBW transfer length %d above cap %d" % (length, MAX_TRANSFER))
    return Cbw(tag, length, bool(flags & FLAG_DATA_IN), lun, bytes(cb[:cb_len]))


def encode_csw(tag: int, residue: int, status: int) -> bytes:
    """Return the 13-byte CSW."""
    if status not in (CSW_PASSED, CSW_FAILED, CSW_PHASE_ERROR):
        raise BadFrame("CSW status %d is not 0, 1 or 2" % status)
    return struct.pack(_CSW_FORMAT, CSW_SIGNATURE, tag, residue, status)


def decode_csw(buf: bytes) -> Csw:
    """Decode exactly one CSW; raise :class:`NeedMore` if short, :class:`BadFrame` if invalid."""
    if len(buf) < CSW_SIZE:
        raise NeedMore(CSW_SIZE - len(buf), "CSW")
    if len(buf) > CSW_SIZE:
        raise BadFrame("CSW is %d bytes, must be %d" % (len(buf), CSW_SIZE))
    sig, tag, residue, status = struct.unpack(_CSW_FORMAT, bytes(buf))
    if sig != CSW_SIGNATURE:
        raise BadFrame("CSW signature %s is not USBS" % bytes(sig).hex())
    if status > CSW_PHASE_ERROR:
        raise BadFrame("CSW status %d is not 0, 1 or 2" % status)
    if residue > MAX_TRANSFER:
        raise TooLarge("CSW residue %d above cap %d" % (residue, MAX_TRANSFER))
    return Csw(tag, residue, status)
