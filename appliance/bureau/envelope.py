"""The XML envelope every bureau call travels in, both ways.

::

    <business version="1">
      <identity>
        <serviceId>UPLOAD_SUMMARY</serviceId> <taxpayerId/> <deviceNo/> <sendTime/>
        <businessId/> <sessionId/> <inReplyTo/>          (inReplyTo: answers only)
      </identity>
      <result><code>0000</code><message>成功</message></result>   (answers only)
      <body>base64 of the business body</body>
      <digest alg="SHA-256">hex</digest>
      <signature alg="ECDSA-P256-SHA256">base64 r||s</signature>   (answers only)
    </business>

The digest and the signature cover the *canonical form* (:meth:`Envelope.canonical`): one
``name=value`` line per identity and result field and the SHA-256 of the body, so they do not
depend on how the XML happens to be laid out. docs/bureau.md describes the whole wire format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from appliance.bureau import xmlcodec
from appliance.bureau.xmlcodec import XmlError

VERSION = "1"
DIGEST_ALG = "SHA-256"
SIGNATURE_ALG = "ECDSA-P256-SHA256"
SEND_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
# A summary is a few hundred bytes and clearing data about two hundred: 32 KiB of body and
# 64 KiB of envelope leave room for growth while keeping a hostile peer from making either side
# buffer or parse megabytes.
MAX_BODY = 32 * 1024
MAX_ENVELOPE = 64 * 1024

_CANONICAL_TAG = "QINGKA-BUREAU-ENVELOPE/1"
# Empty only in the answer to a request the bureau could not read at all.
_SERVICE = re.compile(r"(?:[A-Z][A-Z_]{0,31})?")
_TAXPAYER = re.compile(r"[0-9A-Z]{0,20}")
_DEVICE = re.compile(r"[0-9A-Za-z]{0,12}")
_SEND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_BUSINESS_ID = re.compile(r"[0-9a-f]{32}")
_OPTIONAL_ID = re.compile(r"(?:[0-9a-f]{32})?")
_OPTIONAL_DIGEST = re.compile(r"(?:[0-9a-f]{64})?")
_CODE = re.compile(r"\d{4}")
_MESSAGE = re.compile(r"[^\x00-\x1f\x7f]{0,200}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")

_IDENTITY_TAGS = (
    ("serviceId", "service", _SERVICE),
    ("taxpayerId", "taxpayer_id", _TAXPAYER),
    ("deviceNo", "device_no", _DEVICE),
    ("sendTime", "send_time", _SEND_TIME),
    ("businessId", "business_id", _OPTIONAL_ID),
    ("sessionId", "session_id", _OPTIONAL_ID),
)


class DigestMismatch(XmlError):
    """A well-formed envelope whose digest does not match its content (garbled in transit)."""

    def __init__(self, message: str, envelope: Envelope) -> None:
        super().__init__(message)
        self.envelope = envelope


@dataclass(frozen=True)
class Header:
    """The identity block: which call, for whom, when, and its global business id."""

    service: str
    taxpayer_id: str
    device_no: str
    send_time: str
    business_id: str
    session_id: str = ""
    in_reply_to: str = ""  # answers: the digest of the request answered


@dataclass(frozen=True)
class Envelope:
    """One request (no result) or answer (result code, message and signature)."""

    header: Header
    body: bytes
    code: str = ""
    message: str = ""
    signature: bytes = b""

    @property
    def is_answer(self) -> bool:
        """Tell whether this is an answer (it carries a result code)."""
        return bool(self.code)

    def canonical(self) -> bytes:
        """Return the bytes the digest and the signature cover."""
        head = self.header
        lines = [
            _CANONICAL_TAG,
            f"service={head.service}",
            f"taxpayer={head.taxpayer_id}",
            f"device={head.device_no}",
            f"sendTime={head.send_time}",
            f"businessId={head.business_id}",
            f"session={head.session_id}",
            f"inReplyTo={head.in_reply_to}",
            f"code={self.code}",
            f"message={self.message}",
            f"body={hashlib.sha256(self.body).hexdigest()}",
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    @property
    def digest(self) -> str:
        """Return the SHA-256 of the canonical form, hex."""
        return hashlib.sha256(self.canonical()).hexdigest()


def send_time(moment: datetime) -> str:
    """Return ``moment`` as an envelope send time."""
    return moment.strftime(SEND_TIME_FORMAT)


def signed_answer(
    header: Header, code: str, message: str, body: bytes, sign: Callable[[bytes], bytes]
) -> Envelope:
    """Return an answer envelope signed with ``sign`` (canonical bytes in, r||s out)."""
    unsigned = Envelope(header, body, code, message)
    return Envelope(header, body, code, message, sign(unsigned.canonical()))


def encode(envelope: Envelope) -> bytes:
    """Return the XML document of ``envelope``."""
    head = envelope.header
    if len(envelope.body) > MAX_BODY:
        raise xmlcodec.XmlTooLarge(f"body of {len(envelope.body)} bytes above {MAX_BODY}")
    identity: list[tuple[str, str]] = [
        ("serviceId", head.service),
        ("taxpayerId", head.taxpayer_id),
        ("deviceNo", head.device_no),
        ("sendTime", head.send_time),
        ("businessId", head.business_id),
        ("sessionId", head.session_id),
    ]
    if envelope.is_answer:
        identity.append(("inReplyTo", head.in_reply_to))
    fields: list[tuple[str, str | list[tuple[str, str]]]] = [("identity", identity)]
    if envelope.is_answer:
        fields.append(("result", [("code", envelope.code), ("message", envelope.message)]))
    fields.append(("body", base64.b64encode(envelope.body).decode("ascii")))
    fields.append(("digest", envelope.digest))
    if envelope.is_answer:
        fields.append(("signature", base64.b64encode(envelope.signature).decode("ascii")))
    attributes = {
        "business": {"version": VERSION},
        "digest": {"alg": DIGEST_ALG},
        "signature": {"alg": SIGNATURE_ALG},
    }
    return xmlcodec.serialize(xmlcodec.build("business", fields, attributes))


def decode(data: bytes, *, answer: bool, max_bytes: int = MAX_ENVELOPE) -> Envelope:
    """Parse a request (``answer=False``) or an answer and check its digest.

    Raises :class:`~appliance.bureau.xmlcodec.XmlTooLarge`, :class:`XmlError` for anything
    malformed, and :class:`DigestMismatch` (carrying the parsed envelope) for a digest that does
    not match.
    """
    root = xmlcodec.parse(data, "business", max_bytes)
    if root.attrib != {"version": VERSION}:
        raise XmlError(f"envelope attributes {root.attrib!r}, expected version {VERSION}")
    if answer:
        parts = xmlcodec.children(root, ("identity", "result", "body", "digest", "signature"))
    else:
        parts = xmlcodec.children(root, ("identity", "body", "digest"))
    header = _decode_header(parts["identity"], answer)
    code = message = ""
    signature = b""
    if answer:
        result = xmlcodec.children(parts["result"], ("code", "message"))
        code = xmlcodec.value(result["code"], _CODE)
        message = xmlcodec.value(result["message"], _MESSAGE)
        signature = base64.b64decode(
            xmlcodec.value(parts["signature"], _SIGNATURE, {"alg": SIGNATURE_ALG})
        )
    elif not header.service or not _BUSINESS_ID.fullmatch(header.business_id):
        raise XmlError("request without a service id or business id")
    body = _decode_body(xmlcodec.value(parts["body"], _BASE64))
    digest = xmlcodec.value(parts["digest"], _DIGEST, {"alg": DIGEST_ALG})
    envelope = Envelope(header, body, code, message, signature)
    if envelope.digest != digest:
        raise DigestMismatch("envelope digest does not match its content", envelope)
    return envelope


def _decode_header(identity: Element, answer: bool) -> Header:
    tags = [tag for tag, _, _ in _IDENTITY_TAGS]
    found = xmlcodec.children(identity, tags + (["inReplyTo"] if answer else []))
    values = {name: xmlcodec.value(found[tag], pattern) for tag, name, pattern in _IDENTITY_TAGS}
    try:
        datetime.strptime(values["send_time"], SEND_TIME_FORMAT)
    except ValueError:
        raise XmlError(f"send time {values['send_time']!r} is not a date and time") from None
    in_reply_to = xmlcodec.value(found["inReplyTo"], _OPTIONAL_DIGEST) if answer else ""
    return Header(in_reply_to=in_reply_to, **values)


def _decode_body(text: str) -> bytes:
    if len(text) > (MAX_BODY + 2) // 3 * 4:
        raise xmlcodec.XmlTooLarge(f"body of {len(text)} base64 characters above the cap")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise XmlError(f"body is not base64: {exc}") from None
