"""SCSI fixed-format sense data carrying the device's vendor status.

When a command fails (CSW status 1) the host sends REQUEST SENSE and gets 18 bytes back. Bytes
0, 2 and 7 follow SCSI (response code 0x70, sense key, additional length 10). Bytes 10..13 carry
the vendor status: a 16-bit status word (modelled on smart-card status words, since a tax UKey is
a smart card behind a mass-storage front) and a 16-bit detail (for a wrong PIN, the tries left).
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.errors import BadFrame, NeedMore

SENSE_SIZE = const(18)
RESPONSE_CODE = const(0x70)
KEY_NO_SENSE = const(0x00)
KEY_NOT_READY = const(0x02)
KEY_HARDWARE_ERROR = const(0x04)
KEY_ILLEGAL_REQUEST = const(0x05)
KEY_DATA_PROTECT = const(0x07)
KEY_ABORTED = const(0x0B)

# Vendor status words. The 0x63Cn / 0x69xx / 0x6Axx values follow ISO 7816; the 0x94xx range is
# ours for the tax application's own refusals.
SW_OK = const(0x9000)
SW_PIN_WRONG = const(0x63C0)  # low nibble: tries left (detail repeats it in full)
SW_WRONG_LENGTH = const(0x6700)
SW_PIN_REQUIRED = const(0x6982)
SW_PIN_BLOCKED = const(0x6983)
SW_CONDITIONS = const(0x6985)
SW_BAD_CHECK = const(0x6A80)
SW_TYPE_NOT_FOUND = const(0x6A82)
SW_UNKNOWN_OP = const(0x6D00)
SW_NO_SESSION = const(0x6E00)
SW_NOT_REPORT_TIME = const(0x9401)
SW_NO_SUMMARY = const(0x9402)
SW_ALREADY_CLEARED = const(0x9403)
SW_LOCKED = const(0x9404)
SW_MULTI_MONTH = const(0x9405)
SW_OFFLINE_PENDING = const(0x9406)
SW_CLOCK_ERROR = const(0x9407)
SW_CLOCK_FACTOR = const(0x9408)
SW_TRAINING = const(0x9409)
SW_CLEARING_FORGED = const(0x940A)
SW_CLEARING_MISMATCH = const(0x940B)
SW_NOT_REPORTED = const(0x940C)
SW_BUSY = const(0x9410)
SW_INTERNAL = const(0x6F00)


class Sense:
    """Decoded sense data."""

    __slots__ = ("detail", "key", "status")

    def __init__(self, key: int, status: int, detail: int = 0) -> None:
        self.key = key
        self.status = status
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sense)
            and self.key == other.key
            and self.status == other.status
            and self.detail == other.detail
        )

    def __repr__(self) -> str:
        return "Sense(key=0x%02x, status=0x%04x, detail=%d)" % (self.key, self.status, self.detail)


def encode_sense(sense: Sense) -> bytes:
    """Return the 18 bytes of fixed-format sense data."""
    if not 0 <= sense.key <= 0x0F:
        raise BadFrame("sense key %d is not 4 bits" % sense.key)
    if not 0 <= sense.status <= 0xFFFF or not 0 <= sense.detail <= 0xFFFF:
        raise BadFrame("vendor status or detail is not 16 bits")
    head = bytes((RESPONSE_CODE, 0, sense.key, 0, 0, 0, 0, 10, 0, 0))
    return head + struct.pack(">HH", sense.status, sense.detail) + bytes(4)


def decode_sense(buf: bytes) -> Sense:
    """Decode sense data: :class:`NeedMore` below 14 bytes (the vendor fields), else fields."""
    if len(buf) < 14:
        raise NeedMore(14 - len(buf), "sense data")
    if len(buf) > SENSE_SIZE:
        raise BadFrame("sense data is %d bytes, at most %d" % (len(buf), SENSE_SIZE))
    if buf[0] & 0x7F not in (0x70, 0x71):
        raise BadFrame("sense response code 0x%02x is not fixed format" % buf[0])
    status, detail = struct.unpack(">HH", bytes(buf[10:14]))
    return Sense(buf[2] & 0x0F, status, detail)
