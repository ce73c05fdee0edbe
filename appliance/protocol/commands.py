"""The command table of the NISEC / tax UKey family: the one place the protocol is defined.

The driver (``appliance.devices``) builds requests and parses responses from this table, and the
device simulator parses requests and builds responses from the same table. The byte layouts of
real devices are not public in full, so the layouts below are ours; when a hardware capture
confirms a real layout, this file is the only one to change.

Every response body travels with a 2-byte trailer: CRC-16/X-25 of the body, big endian, so a
corrupted IN transfer is caught as surely as a corrupted OUT transfer (which the CDB check byte
covers).

``repeatable`` marks commands a host may send again when the answer was lost or garbled: they
only read, or select, so a second copy changes nothing. The others (a PIN, copy tax, clearing
data, a signature) are never re-sent on a garbled answer: a second wrong PIN costs a try.

A layout whose last field is ``signature`` is signed: the signature covers the encoding of the
fields before it (see :func:`signed_bytes`).
"""

import struct

from appliance.protocol.compat import const
from appliance.protocol.crc import crc16_x25
from appliance.protocol.errors import BadCheck, BadFrame, NeedMore, TooLarge
from appliance.protocol.fields import Layout

TRAILER_SIZE = const(2)
APPLICATION_ID = "NISECTAX"
DEFAULT_PIN = "88888888"

# Invoice types (票种) a device may carry.
TYPE_SPECIAL = "004"  # 增值税专用发票
TYPE_ORDINARY = "007"  # 增值税普通发票
TYPE_E_ORDINARY = "026"  # 增值税电子普通发票
TYPE_E_SPECIAL = "028"  # 增值税电子专用发票 (UKey)

FAMILY_UKEY = const(1)
FAMILY_NISEC = const(2)
FAMILY_AISINO = const(3)

KIND_GENERAL = const(1)  # 一般纳税人: clearing is compared with the VAT declaration
KIND_SMALL = const(2)  # 小规模纳税人

IDENTITY = (
    ("device_no", "ascii:12"),
    ("taxpayer_id", "ascii:20"),
    ("taxpayer_name", "text"),
    ("region", "ascii:6"),
    ("taxpayer_kind", "u8"),
    ("family", "u8"),
    ("training", "u8"),
    ("firmware", "text"),
    ("cert_serial", "ascii:16"),
)

MONITOR = (
    ("type", "ascii:3"),
    ("kpjzsj", "datetime"),  # 开票截止时间: lock moment
    ("bsqsrq", "date"),  # 报税起始日期: report window start
    ("bszzrq", "date"),  # 报税终止日期: report window end
    ("zxbsrq", "date"),  # 最新报税日期: last copy-tax date
    ("scjzrq", "u8"),  # 上传截止日期: day of month offline invoices must be uploaded by
    ("dzkpxe", "u64"),  # 单张开票限额, fen
    ("lxkpsc", "u16"),  # 离线开票时长, hours
    ("lxzs", "u32"),  # 离线开票张数
    ("lxzsje", "u64"),  # 离线开票总金额, fen
    ("syrl", "u32"),  # 剩余容量, invoices
    ("offline_pending", "u32"),  # invoices issued offline, not yet uploaded
)

SUMMARY = (
    ("type", "ascii:3"),
    ("period", "u32"),  # YYYYMM of the month the summary closes
    ("bsqsrq", "date"),
    ("bszzrq", "date"),
    ("issued_count", "u32"),
    ("issued_amount", "u64"),  # fen, before tax
    ("issued_tax", "u64"),
    ("negative_count", "u32"),  # red invoices
    ("negative_amount", "u64"),
    ("negative_tax", "u64"),
    ("void_count", "u32"),
    ("void_amount", "u64"),
    ("stock_start", "u32"),  # blank invoices at period start
    ("bought", "u32"),
    ("returned", "u32"),
    ("stock_end", "u32"),
    ("device_no", "ascii:12"),
    ("taxpayer_id", "ascii:20"),
    ("signature", "blob"),  # device key, ECDSA P-256, r || s
)

# Clearing data (清卡数据 / 反写数据): issued by the bureau, written to the device, which checks
# the signature with the bureau's public key and every binding field against its own state. The
# full description, for the bureau side as well, is docs/clearing-data.md.
CLEARING_DATA = (
    ("version", "u8"),
    ("taxpayer_id", "ascii:20"),
    ("device_no", "ascii:12"),
    ("period", "u32"),  # YYYYMM being closed; must equal the device's report window
    ("types", "types"),  # every invoice type this clears (a UKey: all of them)
    ("kpjzsj", "datetime"),  # the new lock moment (next month's filing deadline)
    ("bsqsrq", "date"),  # the new report window
    ("bszzrq", "date"),
    ("issued_at", "datetime"),
    ("nonce", "raw:16"),
    ("signature", "blob"),  # bureau key, ECDSA P-256, r || s
)
CLEARING_DATA_VERSION = const(1)


class Command:
    """One row of the table."""

    __slots__ = ("allocation", "name", "needs_pin", "op", "repeatable", "request", "response")

    def __init__(
        self,
        op: int,
        name: str,
        request: tuple[tuple[str, str], ...],
        response: tuple[tuple[str, str], ...],
        needs_pin: bool,
        repeatable: bool,
    ) -> None:
        self.op = op
        self.name = name
        self.request = Layout(request)
        self.response = Layout(response)
        self.needs_pin = needs_pin
        self.repeatable = repeatable
        self.allocation = self.response.max_size + TRAILER_SIZE

    def __repr__(self) -> str:
        return "Command(0x%02x %s)" % (self.op, self.name)


COMMANDS = (
    # op, name, request layout, response layout, needs PIN, repeatable
    Command(0x01, "open_session", (), (("session", "u32"),), False, True),
    Command(0x02, "close_session", (), (), False, True),
    Command(0x05, "select_app", (("aid", "ascii:8"),), (), False, True),
    Command(0x10, "identify", (), IDENTITY, False, True),
    Command(0x11, "verify_pin", (("pin", "ascii:16"),), (("tries_left", "u8"),), False, False),
    Command(0x12, "list_types", (), (("types", "types"),), False, True),
    Command(0x13, "read_clock", (), (("clock", "datetime"),), False, True),
    Command(
        0x14, "read_cert", (), (("cert_serial", "ascii:16"), ("public_key", "blob")), False, True
    ),
    Command(0x20, "select_type", (("type", "ascii:3"),), (), True, True),
    Command(0x21, "read_monitor", (), MONITOR, True, True),
    Command(
        0x22,
        "copy_tax",
        (),
        (("type", "ascii:3"), ("period", "u32"), ("zxbsrq", "date")),
        True,
        False,
    ),
    Command(0x23, "read_summary", (), SUMMARY, True, True),
    Command(
        0x24,
        "write_clearing",
        (("data", "blob"),),
        (("types", "types"), ("kpjzsj", "datetime")),
        True,
        False,
    ),
    Command(0x30, "sign", (("challenge", "blob"),), (("signature", "blob"),), True, False),
)

BY_OP = {}
BY_NAME = {}
for _command in COMMANDS:
    BY_OP[_command.op] = _command
    BY_NAME[_command.name] = _command

CLEARING_LAYOUT = Layout(CLEARING_DATA)
SUMMARY_LAYOUT = BY_NAME["read_summary"].response


def command(name: str) -> Command:
    """Return the row called ``name``."""
    return BY_NAME[name]


def encode_response(cmd: Command, values: dict[str, object]) -> bytes:
    """Return a response body with its CRC trailer."""
    body = cmd.response.encode(values)
    return body + struct.pack(">H", crc16_x25(body))


def decode_response(cmd: Command, buf: bytes) -> dict[str, object]:
    """Check the trailer of a response and decode its fields."""
    if len(buf) > cmd.allocation:
        raise TooLarge("%s response of %d bytes above %d" % (cmd.name, len(buf), cmd.allocation))
    if len(buf) < TRAILER_SIZE:
        raise NeedMore(TRAILER_SIZE - len(buf), cmd.name + " response")
    body = bytes(buf[:-TRAILER_SIZE])
    (crc,) = struct.unpack(">H", bytes(buf[-TRAILER_SIZE:]))
    if crc16_x25(body) != crc:
        raise BadCheck("%s response CRC 0x%04x does not match its body" % (cmd.name, crc))
    return cmd.response.decode(body)


def signed_bytes(layout: Layout, values: dict[str, object]) -> bytes:
    """Return the bytes a signed record's ``signature`` covers: every field before it."""
    if not layout.names or layout.names[-1] != "signature":
        raise BadFrame("layout is not signed")
    return layout.encode(values, len(layout.fields) - 1)
