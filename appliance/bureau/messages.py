"""The business bodies of each call (the XML inside the envelope's base64 body), as data.

Every body is a flat XML document whose fields are declared once, as a table of
``(xml tag, attribute, kind)``; :func:`encode` and :func:`decode` read the table, so the client
and the bureau simulator cannot disagree about a body. Every kind checks its text strictly.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

from appliance.bureau import xmlcodec
from appliance.bureau.envelope import MAX_BODY
from appliance.bureau.xmlcodec import XmlError

# Service ids, the ``serviceId`` of the identity block.
HELLO = "HANDSHAKE_HELLO"
AUTH = "HANDSHAKE_AUTH"
COMPANY_INFO = "COMPANY_INFO_SYNC"
UPLOAD_SUMMARY = "UPLOAD_SUMMARY"
REQUEST_CLEARING = "REQUEST_CLEARING"
SERVICES = (HELLO, AUTH, COMPANY_INFO, UPLOAD_SUMMARY, REQUEST_CLEARING)
# Calls that need an open session.
SESSION_SERVICES = (COMPANY_INFO, UPLOAD_SUMMARY, REQUEST_CLEARING)

# A device holds a handful of invoice types; the field codec caps a list at 16 as well.
MAX_TYPES = 16


class _Kind:
    """How one field's value is written as text and read back."""

    def __init__(
        self, pattern: str, to_text: Callable[[Any], str], from_text: Callable[[str], Any]
    ) -> None:
        self.pattern = re.compile(pattern)
        self.to_text = to_text
        self.from_text = from_text


def _b64_kind(max_bytes: int, exact: bool = False) -> _Kind:
    chars = (max_bytes + 2) // 3 * 4

    def read(text: str) -> bytes:
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise XmlError(f"not base64: {exc}") from None
        if len(raw) > max_bytes or (exact and len(raw) != max_bytes):
            raise XmlError(f"{len(raw)} bytes where {max_bytes} are allowed")
        return raw

    return _Kind(
        rf"[A-Za-z0-9+/=]{{{'4,' if exact else '0,'}{chars}}}",
        lambda raw: base64.b64encode(raw).decode("ascii"),
        read,
    )


def _hex_kind(size: int) -> _Kind:
    return _Kind(rf"[0-9a-f]{{{2 * size}}}", bytes.hex, bytes.fromhex)


def _period(text: str) -> int:
    period = int(text)
    if not 1 <= period % 100 <= 12 or period // 100 < 1900:
        raise XmlError(f"period {text} is not a year and month")
    return period


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise XmlError(f"{text!r} is not a date") from None


def _moment(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise XmlError(f"{text!r} is not a date and time") from None


KINDS: dict[str, _Kind] = {
    "serial": _Kind(r"[0-9A-F]{16}", str, str),
    "region": _Kind(r"\d{6}", str, str),
    "word": _Kind(r"[a-z-]{1,20}", str, str),
    "id": _Kind(r"[0-9a-f]{32}", str, str),
    "digest": _Kind(r"[0-9a-f]{64}", str, str),
    "receipt": _Kind(r"[0-9A-Z]{1,32}", str, str),
    "text": _Kind(r"[^\x00-\x1f\x7f]{1,100}", str, str),
    "count": _Kind(r"\d{1,9}", str, int),
    "flag": _Kind(r"[01]", lambda flag: "1" if flag else "0", lambda text: text == "1"),
    "period": _Kind(r"\d{6}", str, _period),
    "type": _Kind(r"\d{3}", str, str),
    "date": _Kind(r"\d{4}-\d{2}-\d{2}", date.isoformat, _date),
    "moment": _Kind(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", lambda m: m.strftime("%Y-%m-%dT%H:%M:%S"), _moment
    ),
    "nonce": _hex_kind(32),
    "client-nonce": _hex_kind(16),
    "point": _b64_kind(65, exact=True),
    "signature": _b64_kind(64, exact=True),
    # A summary or clearing data: fixed fields plus one signature blob, a few hundred bytes;
    # 2 KiB bounds either with room to spare.
    "record": _b64_kind(2048),
}


@dataclass(frozen=True)
class Hello:
    """Handshake, step 1: who the device is; the bureau answers a :class:`Challenge`."""

    cert_serial: str
    public_key: bytes
    client_nonce: bytes
    region: str


@dataclass(frozen=True)
class Challenge:
    """The bureau's nonce to be signed, valid for ``expires_in`` seconds."""

    nonce: bytes
    expires_in: int


@dataclass(frozen=True)
class Auth:
    """Handshake, step 2: the device's signature of the handshake message."""

    nonce: bytes
    client_nonce: bytes
    signature: bytes


@dataclass(frozen=True)
class SessionGrant:
    """The session the bureau opened, and what kind of taxpayer it knows this one as."""

    session_id: str
    expires_in: int
    taxpayer_kind: str


@dataclass(frozen=True)
class CompanyInfoQuery:
    """Company-info sync: ask what the bureau holds about the session's taxpayer."""


@dataclass(frozen=True)
class CompanyInfo:
    """What the bureau holds about a taxpayer, and where its filing stands this month."""

    name: str
    region: str
    taxpayer_kind: str
    authority: str
    cert_status: str
    period: int  # the period to report and clear this month
    deadline: date  # this month's filing deadline
    declaration: str  # filed, missing, mismatched, or not-required
    uploaded: list[str]  # types whose summary of ``period`` the bureau accepted
    cleared: list[str]  # types cleared for ``period``


@dataclass(frozen=True)
class SummaryUpload:
    """One invoice type's summary, exactly as the device produced and signed it."""

    type_code: str
    period: int
    summary: bytes


@dataclass(frozen=True)
class Receipt:
    """The bureau's receipt of an accepted summary; the same content always gets the same one."""

    receipt_no: str
    type_code: str
    period: int
    summary_digest: str
    accepted_at: datetime
    repeated: bool


@dataclass(frozen=True)
class ClearingRequest:
    """Ask for clearing data for ``types`` of ``period``."""

    period: int
    types: list[str]


@dataclass(frozen=True)
class ClearingAnswer:
    """The signed clearing data; ``reissued`` when it is the copy of an earlier issue."""

    data: bytes
    reissued: bool


# Each body class: its root tag, then (xml tag, attribute, kind) of each field in order.
LAYOUTS: dict[type[Any], tuple[str, tuple[tuple[str, str, str], ...]]] = {
    Hello: (
        "hello",
        (
            ("certSerial", "cert_serial", "serial"),
            ("publicKey", "public_key", "point"),
            ("clientNonce", "client_nonce", "client-nonce"),
            ("regionCode", "region", "region"),
        ),
    ),
    Challenge: (
        "challenge",
        (("nonce", "nonce", "nonce"), ("expiresIn", "expires_in", "count")),
    ),
    Auth: (
        "auth",
        (
            ("nonce", "nonce", "nonce"),
            ("clientNonce", "client_nonce", "client-nonce"),
            ("signature", "signature", "signature"),
        ),
    ),
    SessionGrant: (
        "session",
        (
            ("sessionId", "session_id", "id"),
            ("expiresIn", "expires_in", "count"),
            ("taxpayerKind", "taxpayer_kind", "word"),
        ),
    ),
    CompanyInfoQuery: ("companyInfoQuery", ()),
    CompanyInfo: (
        "companyInfo",
        (
            ("name", "name", "text"),
            ("regionCode", "region", "region"),
            ("taxpayerKind", "taxpayer_kind", "word"),
            ("authority", "authority", "text"),
            ("certStatus", "cert_status", "word"),
            ("period", "period", "period"),
            ("deadline", "deadline", "date"),
            ("declaration", "declaration", "word"),
            ("uploaded", "uploaded", "types"),
            ("cleared", "cleared", "types"),
        ),
    ),
    SummaryUpload: (
        "summaryUpload",
        (
            ("type", "type_code", "type"),
            ("period", "period", "period"),
            ("summary", "summary", "record"),
        ),
    ),
    Receipt: (
        "receipt",
        (
            ("receiptNo", "receipt_no", "receipt"),
            ("type", "type_code", "type"),
            ("period", "period", "period"),
            ("summaryDigest", "summary_digest", "digest"),
            ("acceptedAt", "accepted_at", "moment"),
            ("repeated", "repeated", "flag"),
        ),
    ),
    ClearingRequest: (
        "clearingRequest",
        (("period", "period", "period"), ("types", "types", "types")),
    ),
    ClearingAnswer: (
        "clearing",
        (("data", "data", "record"), ("reissued", "reissued", "flag")),
    ),
}

_T = TypeVar("_T")


def encode(body: object) -> bytes:
    """Return the XML document of a body."""
    tag, layout = LAYOUTS[type(body)]
    items: list[tuple[str, str | list[tuple[str, str]]]] = []
    for xml_tag, attribute, kind in layout:
        content = getattr(body, attribute)
        if kind == "types":
            items.append((xml_tag, [("type", code) for code in content]))
        else:
            items.append((xml_tag, KINDS[kind].to_text(content)))
    return xmlcodec.serialize(xmlcodec.build(tag, items))


def decode(cls: type[_T], data: bytes) -> _T:
    """Parse a body of class ``cls``; :class:`XmlError` on anything not exactly that."""
    tag, layout = LAYOUTS[cls]
    root = xmlcodec.parse(data, tag, MAX_BODY)
    if root.attrib:
        raise XmlError(f"<{tag}> carries attributes")
    found = xmlcodec.children(root, [xml_tag for xml_tag, _, _ in layout])
    values: dict[str, Any] = {}
    for xml_tag, attribute, kind in layout:
        element = found[xml_tag]
        if kind == "types":
            values[attribute] = _read_types(element)
            continue
        text = xmlcodec.value(element, KINDS[kind].pattern)
        try:
            values[attribute] = KINDS[kind].from_text(text)
        except XmlError as exc:
            raise XmlError(f"<{xml_tag}>: {exc}") from None
    return cls(**values)


def _read_types(element: Element) -> list[str]:
    if element.attrib:
        raise XmlError(f"<{element.tag}> carries attributes")
    items = xmlcodec.repeated(element, "type", MAX_TYPES)
    codes = [xmlcodec.value(item, KINDS["type"].pattern) for item in items]
    if len(set(codes)) != len(codes):
        raise XmlError(f"<{element.tag}> lists an invoice type twice")
    return codes
