"""The simulated bureau's front door: request bytes in, signed answer bytes out.

Order of checks for every request: the envelope (XML, digest), the service id, the taxpayer and
its device certificate, the province the request was sent to, the session (business calls),
then the business id: a business id seen before with the same content gets the stored answer
again, with other content it is refused. Only then do the business rules run. Whatever the
bytes, the answer is a signed envelope; nothing a client sends can raise out of :meth:`handle`.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from appliance.bureau import codes, envelope, messages
from appliance.bureau.endpoints import EndpointError, authority_prefix
from appliance.bureau.envelope import DigestMismatch, Envelope, Header
from appliance.bureau.signing import sign
from appliance.bureau.xmlcodec import XmlError, XmlTooLarge
from appliance.protocol.commands import SUMMARY_LAYOUT, signed_bytes
from appliance.protocol.errors import ProtocolError
from simulators.bureau import keys
from simulators.bureau.filing import Filing
from simulators.bureau.handshake import Handshakes
from simulators.bureau.refusal import Refusal
from simulators.bureau.store import Store
from simulators.catalog import SimTaxpayer, lookup

_log = logging.getLogger(__name__)
_CERT_REFUSALS = {
    "lost": codes.CERT_LOST,
    "revoked": codes.CERT_REVOKED,
    "unknown": codes.CERT_UNKNOWN,
}
_MAX_MESSAGE = 200


class BureauService:
    """Answers envelopes according to the bureau's rules."""

    def __init__(self, store: Store, filing: Filing, now: Callable[[], datetime]) -> None:
        self.store = store
        self.filing = filing
        self.now = now
        self.handshakes = Handshakes(store)

    def handle(self, data: bytes, authority: str, forced_code: str = "") -> bytes:
        """Answer one request sent to ``authority``; ``forced_code`` answers it unprocessed."""
        try:
            request = envelope.decode(data, answer=False)
        except DigestMismatch as exc:
            return self._answer(exc.envelope, codes.ILLEGAL_MESSAGE, "digest mismatch")
        except XmlTooLarge as exc:
            return self.unread(codes.MESSAGE_TOO_LARGE, str(exc))
        except XmlError as exc:
            return self.unread(codes.ILLEGAL_MESSAGE, str(exc))
        if forced_code:
            return self._answer(request, forced_code)
        try:
            body = self._dispatch(request, authority)
        except Refusal as refusal:
            return self._answer(request, refusal.code, refusal.detail)
        except sqlite3.Error:
            # The bureau's database failing is what the real one reports as a communication
            # error: the client retries, which is right for a passing failure.
            _log.exception("bureau store failed on %s", request.header.service)
            return self._answer(request, codes.COMMUNICATION_ERROR, "store unavailable")
        return self._answer(request, codes.OK, "", body)

    def unread(self, code: str, detail: str = "") -> bytes:
        """Answer a request that could not be read at all: no identity to echo."""
        header = Header("", "", "", envelope.send_time(self.now()), "")
        return self._encode(header, code, detail, b"")

    def _answer(self, request: Envelope, code: str, detail: str = "", body: bytes = b"") -> bytes:
        asked = request.header
        header = Header(
            service=asked.service,
            taxpayer_id=asked.taxpayer_id,
            device_no=asked.device_no,
            send_time=envelope.send_time(self.now()),
            business_id=asked.business_id,
            session_id=asked.session_id,
            in_reply_to=request.digest,
        )
        return self._encode(header, code, detail, body)

    def _encode(self, header: Header, code: str, detail: str, body: bytes) -> bytes:
        text = codes.text(code)
        message = f"{text}（{detail}）" if detail and code != codes.OK else text
        message = "".join(char if char.isprintable() else " " for char in message)
        answer = envelope.signed_answer(
            header, code, message[:_MAX_MESSAGE], body, lambda data: sign(keys.bureau_key(), data)
        )
        return envelope.encode(answer)

    def _dispatch(self, request: Envelope, authority: str) -> bytes:
        head = request.header
        if head.service not in messages.SERVICES:
            raise Refusal(codes.UNKNOWN_SERVICE, head.service)
        taxpayer = lookup(head.taxpayer_id)
        if taxpayer is None or taxpayer.device_no != head.device_no:
            raise Refusal(codes.CERT_UNKNOWN, "no certificate issued to this device")
        try:
            home = authority_prefix(taxpayer.region)
        except EndpointError:
            home = ""
        if home != authority:
            raise Refusal(codes.WRONG_PROVINCE)
        status = self.store.cert_status(taxpayer.taxpayer_id)
        if status in _CERT_REFUSALS:
            raise Refusal(_CERT_REFUSALS[status])
        if head.service in messages.SESSION_SERVICES:
            self.handshakes.check_session(head.session_id, taxpayer, authority)
        content = _content_key(request)
        stored = self.store.answer(head.business_id)
        if stored is not None:
            if stored[0] != content:
                raise Refusal(codes.DUPLICATE_BUSINESS_ID, head.business_id)
            # Uploads are idempotent by their own rule and then say the summary was on file
            # already; every other call gets its first answer again.
            if head.service != messages.UPLOAD_SUMMARY:
                return stored[1]
        body = self._business(head.service, taxpayer, authority, request.body)
        self.store.add_answer(head.business_id, content, body)
        return body

    def _business(self, service: str, taxpayer: SimTaxpayer, authority: str, body: bytes) -> bytes:
        now = self.now()
        try:
            if service == messages.HELLO:
                hello = messages.decode(messages.Hello, body)
                return messages.encode(self.handshakes.hello(taxpayer, hello))
            if service == messages.AUTH:
                auth = messages.decode(messages.Auth, body)
                return messages.encode(self.handshakes.auth(taxpayer, authority, auth))
            if service == messages.COMPANY_INFO:
                messages.decode(messages.CompanyInfoQuery, body)
                return messages.encode(self.filing.company_info(taxpayer, now))
            if service == messages.UPLOAD_SUMMARY:
                upload = messages.decode(messages.SummaryUpload, body)
                return messages.encode(self.filing.upload(taxpayer, upload, now))
            request = messages.decode(messages.ClearingRequest, body)
            return messages.encode(self.filing.clear(taxpayer, request, now))
        except XmlError as exc:
            raise Refusal(codes.ILLEGAL_MESSAGE, f"business body: {exc}") from None


def _content_key(request: Envelope) -> str:
    """Return what makes two requests under one business id the same request.

    For an upload that is the summary's signed content, not its bytes: a device may sign the
    same summary differently when it is read again after a crash.
    """
    head = request.header
    content = request.body
    if head.service == messages.UPLOAD_SUMMARY:
        try:
            upload = messages.decode(messages.SummaryUpload, request.body)
            fields = SUMMARY_LAYOUT.decode(upload.summary)
            content = signed_bytes(SUMMARY_LAYOUT, fields)
        except (XmlError, ProtocolError):
            pass  # refused by the upload rules in a moment; the raw body is key enough
    who = "\x00".join((head.service, head.taxpayer_id, head.device_no)).encode()
    return hashlib.sha256(who + b"\x00" + content).hexdigest()
