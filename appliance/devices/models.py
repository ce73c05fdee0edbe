"""What the driver reads from a device, as typed values (protocol ints turned into dates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from appliance.protocol.commands import FAMILY_AISINO, FAMILY_NISEC, FAMILY_UKEY, KIND_GENERAL

FAMILY_NAMES = {FAMILY_UKEY: "税务UKey", FAMILY_NISEC: "税控盘", FAMILY_AISINO: "金税盘"}
TYPE_NAMES = {
    "004": "增值税专用发票",
    "007": "增值税普通发票",
    "026": "增值税电子普通发票",
    "028": "增值税电子专用发票",
}
TYPE_NAMES_EN = {
    "004": "VAT special invoice",
    "007": "VAT ordinary invoice",
    "026": "VAT e-invoice (ordinary)",
    "028": "VAT e-invoice (special)",
}


# The years a tax device's dates can honestly fall in. The codec accepts any four BCD digits
# from 1900 on; a clock reading 9999 is garbage, and would overflow the month arithmetic of the
# calendar further on, so it is refused here with the other impossible dates.
MIN_YEAR = 2000
MAX_YEAR = 2099


class ImpossibleValue(ValueError):
    """A well-encoded protocol value that names no real moment (31 February, year 9999)."""


def to_date(value: int) -> date | None:
    """Turn a protocol ``YYYYMMDD`` int into a date (0 means none).

    Raises :class:`ImpossibleValue` for a date that does not exist or lies outside
    :data:`MIN_YEAR`..:data:`MAX_YEAR`.
    """
    if not value:
        return None
    year, month, day = value // 10000, value // 100 % 100, value % 100
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ImpossibleValue(f"date {value:08d}: year outside {MIN_YEAR}..{MAX_YEAR}")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ImpossibleValue(f"date {value:08d} does not exist: {exc}") from exc


def to_datetime(value: int) -> datetime | None:
    """Turn a protocol ``YYYYMMDDhhmmss`` int into a datetime (0 means none).

    Raises :class:`ImpossibleValue` like :func:`to_date`, and for an impossible time of day.
    """
    if not value:
        return None
    day = to_date(value // 1_000_000)
    rest = value % 1_000_000
    if day is None:
        raise ImpossibleValue(f"moment {value:014d} has no date")
    try:
        return datetime(day.year, day.month, day.day, rest // 10000, rest // 100 % 100, rest % 100)
    except ValueError as exc:
        raise ImpossibleValue(f"moment {value:014d} does not exist: {exc}") from exc


def from_date(value: date | None) -> int:
    """Turn a date into a protocol ``YYYYMMDD`` int."""
    return 0 if value is None else value.year * 10000 + value.month * 100 + value.day


def from_datetime(value: datetime | None) -> int:
    """Turn a datetime into a protocol ``YYYYMMDDhhmmss`` int."""
    if value is None:
        return 0
    return from_date(value.date()) * 1_000_000 + (
        value.hour * 10000 + value.minute * 100 + value.second
    )


@dataclass(frozen=True)
class Identity:
    """Who a device belongs to and what it is."""

    device_no: str
    taxpayer_id: str
    taxpayer_name: str
    region: str
    taxpayer_kind: int
    family: int
    training: bool
    firmware: str
    cert_serial: str
    vendor: str = ""

    @property
    def general_taxpayer(self) -> bool:
        """Tell whether clearing is compared with a VAT declaration (一般纳税人)."""
        return self.taxpayer_kind == KIND_GENERAL

    @property
    def family_name(self) -> str:
        """Return the family in the words a shop uses."""
        return FAMILY_NAMES.get(self.family, f"family {self.family}")

    @classmethod
    def from_fields(cls, fields: dict[str, Any], vendor: str = "") -> Identity:
        """Build from the decoded ``identify`` response."""
        return cls(
            device_no=fields["device_no"],
            taxpayer_id=fields["taxpayer_id"],
            taxpayer_name=fields["taxpayer_name"],
            region=fields["region"],
            taxpayer_kind=fields["taxpayer_kind"],
            family=fields["family"],
            training=bool(fields["training"]),
            firmware=fields["firmware"],
            cert_serial=fields["cert_serial"],
            vendor=vendor,
        )


@dataclass(frozen=True)
class MonitorData:
    """Monitor data (监控数据) of one invoice type."""

    type_code: str
    kpjzsj: datetime
    bsqsrq: date | None
    bszzrq: date | None
    zxbsrq: date | None
    scjzrq: int
    dzkpxe: int
    lxkpsc: int
    lxzs: int
    lxzsje: int
    syrl: int
    offline_pending: int

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> MonitorData:
        """Build from the decoded ``read_monitor`` response."""
        kpjzsj = to_datetime(fields["kpjzsj"])
        if kpjzsj is None:
            raise ImpossibleValue("monitor data without a lock moment")
        return cls(
            type_code=fields["type"],
            kpjzsj=kpjzsj,
            bsqsrq=to_date(fields["bsqsrq"]),
            bszzrq=to_date(fields["bszzrq"]),
            zxbsrq=to_date(fields["zxbsrq"]),
            scjzrq=fields["scjzrq"],
            dzkpxe=fields["dzkpxe"],
            lxkpsc=fields["lxkpsc"],
            lxzs=fields["lxzs"],
            lxzsje=fields["lxzsje"],
            syrl=fields["syrl"],
            offline_pending=fields["offline_pending"],
        )


@dataclass(frozen=True)
class Summary:
    """A period's summary (汇总) of one invoice type, with the device's signature.

    ``raw`` is the response body exactly as the device sent it: the backup keeps it and the
    bureau verifies the signature over it.
    """

    type_code: str
    period: int
    fields: dict[str, Any] = field(repr=False)
    raw: bytes = field(repr=False)
    signed: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class CopyResult:
    """What copy tax (抄税) answered for one type."""

    type_code: str
    period: int
    zxbsrq: date | None


@dataclass(frozen=True)
class ClearResult:
    """What the device answered to clearing data."""

    types: tuple[str, ...]
    kpjzsj: datetime | None
    already: bool = False


@dataclass(frozen=True)
class Certificate:
    """The device certificate: serial and public key (uncompressed P-256 point)."""

    serial: str
    public_key: bytes
