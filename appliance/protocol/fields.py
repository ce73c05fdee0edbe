"""Field layouts: the codec that turns a command's fields into bytes and back.

A layout is a tuple of ``(name, kind)`` pairs, read from the command table. Kinds:

=============  ===================================  =====================================
kind           bytes                                Python value
=============  ===================================  =====================================
``u8`` ..      1, 2, 4 or 8, big endian             int
``u64``
``date``       4, BCD ``YYYYMMDD`` (zeros: none)    int ``YYYYMMDD`` (0: none)
``datetime``   7, BCD ``YYYYMMDDhhmmss``            int ``YYYYMMDDhhmmss`` (0: none)
``ascii:N``    N, NUL padded                        str
``raw:N``      N                                    bytes
``text``       u8 length + UTF-8                    str
``blob``       u16 length + bytes                   bytes
``types``      u8 count + 3 ASCII digits each       list of str, e.g. ``["004", "026"]``
=============  ===================================  =====================================

Values are plain ints and strings (no ``datetime``) because this module also runs on MicroPython.
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.errors import BadFrame, NeedMore, TooLarge

# A blob is a signature, a public key or a clearing blob; none reaches 1 KiB. The cap stops a
# corrupted length from swallowing the fields after it.
MAX_BLOB = const(1024)
# A tax device holds at most a handful of invoice types (004, 007, 026, 028 and a few regional
# ones); 16 is generous and keeps a corrupted count from building a huge list.
MAX_TYPES = const(16)

_INT_SIZES = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
_INT_FORMATS = {"u8": ">B", "u16": ">H", "u32": ">I", "u64": ">Q"}


class Layout:
    """A compiled field layout."""

    __slots__ = ("fields", "max_size", "names")

    def __init__(self, spec: tuple[tuple[str, str], ...]) -> None:
        fields = []
        names = []
        for name, kind in spec:
            size = 0
            base = kind
            if ":" in kind:
                base, count = kind.split(":")
                size = int(count)
            elif kind in _INT_SIZES:
                size = _INT_SIZES[kind]
            elif kind == "date":
                size = 4
            elif kind == "datetime":
                size = 7
            if base not in ("u8", "u16", "u32", "u64", "date", "datetime", "ascii", "raw") and (
                base not in ("text", "blob", "types")
            ):
                raise ValueError("unknown field kind %s for %s" % (kind, name))
            fields.append((name, base, size))
            names.append(name)
        self.fields = tuple(fields)
        self.names = tuple(names)
        self.max_size = sum(_max_field_size(base, size) for _, base, size in fields)

    def encode(self, values: dict[str, object], count: int = -1) -> bytes:
        """Return the bytes of ``values`` (a dict holding every field of the layout).

        ``count`` limits the encoding to the first fields (for the part a signature covers).
        """
        out = bytearray()
        for name, base, size in self.fields if count < 0 else self.fields[:count]:
            if name not in values:
                raise BadFrame("field %s is missing" % name)
            _encode_field(out, name, base, size, values[name])
        return bytes(out)

    def decode(self, buf: bytes) -> dict[str, object]:
        """Decode ``buf`` (exactly one record) into a dict; typed errors on garbage."""
        values, end = self.decode_prefix(buf)
        if end != len(buf):
            raise BadFrame("%d trailing byte(s) after the last field" % (len(buf) - end))
        return values

    def decode_prefix(self, buf: bytes) -> tuple[dict[str, object], int]:
        """Decode one record at the start of ``buf``; return it and the bytes it used."""
        pos = 0
        values: dict[str, object] = {}
        for name, base, size in self.fields:
            values[name], pos = _decode_field(buf, pos, name, base, size)
        return values, pos


def _max_field_size(base: str, size: int) -> int:
    if base == "text":
        return 1 + 255
    if base == "blob":
        return 2 + MAX_BLOB
    if base == "types":
        return 1 + 3 * MAX_TYPES
    return size


def _encode_field(out: bytearray, name: str, base: str, size: int, value: object) -> None:
    if base in _INT_FORMATS:
        if not isinstance(value, int) or value < 0 or value >= 1 << (8 * size):
            raise BadFrame("field %s: %r is not a %d-byte unsigned int" % (name, value, size))
        out.extend(struct.pack(_INT_FORMATS[base], value))
    elif base in ("date", "datetime"):
        digits = size * 2
        if not isinstance(value, int) or value < 0 or value >= 10**digits:
            raise BadFrame("field %s: %r is not a %d-digit date" % (name, value, digits))
        if value:
            _check_date_digits(name, value, digits)
        out.extend(_to_bcd(value, size))
    elif base == "ascii":
        raw = _ascii_bytes(name, value)
        if len(raw) > size:
            raise TooLarge("field %s: %d characters above %d" % (name, len(raw), size))
        out.extend(raw + bytes(size - len(raw)))
    elif base == "raw":
        if not isinstance(value, (bytes, bytearray)) or len(value) != size:
            raise BadFrame("field %s: needs exactly %d bytes" % (name, size))
        out.extend(value)
    elif base == "text":
        if not isinstance(value, str):
            raise BadFrame("field %s: %r is not text" % (name, value))
        raw = value.encode()
        if len(raw) > 255:
            raise TooLarge("field %s: %d bytes of text above 255" % (name, len(raw)))
        out.append(len(raw))
        out.extend(raw)
    elif base == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise BadFrame("field %s: %r is not bytes" % (name, value))
        if len(value) > MAX_BLOB:
            raise TooLarge("field %s: %d bytes above cap %d" % (name, len(value), MAX_BLOB))
        out.extend(struct.pack(">H", len(value)))
        out.extend(value)
    else:  # types
        if not isinstance(value, (list, tuple)) or len(value) > MAX_TYPES:
            raise TooLarge("field %s: not a list of at most %d types" % (name, MAX_TYPES))
        out.append(len(value))
        for code in value:
            raw = _ascii_bytes(name, code)
            if len(raw) != 3 or not _all_digits(raw):
                raise BadFrame("field %s: invoice type %r is not 3 digits" % (name, code))
            out.extend(raw)


def _decode_field(buf: bytes, pos: int, name: str, base: str, size: int) -> tuple[object, int]:
    if base in ("text", "blob", "types"):
        head = 1 if base in ("text", "types") else 2
        _need(buf, pos, head, name)
        if head == 1:
            count = buf[pos]
        else:
            count = struct.unpack(">H", bytes(buf[pos : pos + 2]))[0]
        pos += head
        if base == "blob" and count > MAX_BLOB:
            raise TooLarge("field %s: length %d above cap %d" % (name, count, MAX_BLOB))
        if base == "types":
            if count > MAX_TYPES:
                raise TooLarge("field %s: %d types above cap %d" % (name, count, MAX_TYPES))
            _need(buf, pos, 3 * count, name)
            codes = []
            for i in range(count):
                raw = bytes(buf[pos + 3 * i : pos + 3 * i + 3])
                if not _all_digits(raw):
                    raise BadFrame("field %s: invoice type %s is not 3 digits" % (name, raw.hex()))
                codes.append(raw.decode())
            return codes, pos + 3 * count
        _need(buf, pos, count, name)
        raw = bytes(buf[pos : pos + count])
        if base == "blob":
            return raw, pos + count
        try:
            return raw.decode(), pos + count
        except UnicodeError:
            raise BadFrame("field %s: text is not UTF-8" % name) from None
    _need(buf, pos, size, name)
    raw = bytes(buf[pos : pos + size])
    pos += size
    if base in _INT_FORMATS:
        return struct.unpack(_INT_FORMATS[base], raw)[0], pos
    if base in ("date", "datetime"):
        value = _from_bcd(name, raw)
        if value:
            _check_date_digits(name, value, size * 2)
        return value, pos
    if base == "raw":
        return raw, pos
    # ascii: NUL padding only at the end, printable ASCII before it
    end = raw.find(b"\x00")
    text = raw if end < 0 else raw[:end]
    if end >= 0 and raw[end:] != bytes(size - end):
        raise BadFrame("field %s: bytes after the NUL padding" % name)
    for byte in text:
        if byte < 0x20 or byte > 0x7E:
            raise BadFrame("field %s: byte 0x%02x is not printable ASCII" % (name, byte))
    return text.decode(), pos


def _need(buf: bytes, pos: int, count: int, name: str) -> None:
    if len(buf) - pos < count:
        raise NeedMore(count - (len(buf) - pos), "field " + name)


def _ascii_bytes(name: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise BadFrame("field %s: %r is not a string" % (name, value))
    raw = value.encode()
    for byte in raw:
        if byte < 0x20 or byte > 0x7E:
            raise BadFrame("field %s: %r is not printable ASCII" % (name, value))
    return raw


def _all_digits(raw: bytes) -> bool:
    for byte in raw:
        if byte < 0x30 or byte > 0x39:
            return False
    return True


def _to_bcd(value: int, size: int) -> bytes:
    out = bytearray(size)
    for i in range(size - 1, -1, -1):
        low = value % 10
        value //= 10
        high = value % 10
        value //= 10
        out[i] = (high << 4) | low
    return bytes(out)


def _from_bcd(name: str, raw: bytes) -> int:
    value = 0
    for byte in raw:
        high = byte >> 4
        low = byte & 0x0F
        if high > 9 or low > 9:
            raise BadFrame("field %s: byte 0x%02x is not BCD" % (name, byte))
        value = value * 100 + high * 10 + low
    return value


def _check_date_digits(name: str, value: int, digits: int) -> None:
    """Reject impossible calendar fields (month 13, day 32, hour 24...) in a date or datetime."""
    if digits == 14:
        second = value % 100
        minute = value // 100 % 100
        hour = value // 10000 % 100
        if second > 59 or minute > 59 or hour > 23:
            raise BadFrame("field %s: time %d is not a time of day" % (name, value % 1000000))
        value //= 1000000
    day = value % 100
    month = value // 100 % 100
    year = value // 10000
    if not 1 <= month <= 12 or not 1 <= day <= 31 or year < 1900:
        raise BadFrame("field %s: %d is not a calendar date" % (name, value))
