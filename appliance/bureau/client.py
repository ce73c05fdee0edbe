"""The bureau client: handshake, company-info sync, summary upload and clearing request.

Every answer is checked before anything in it is used: the envelope's digest, the bureau's
signature, and that it answers *this* request (service, taxpayer, device, business id, session
and the digest of the request). Transient failures are retried by
:class:`~appliance.bureau.retry.Retrier`; the bureau's refusals raise typed errors at once.

One client serves one device at a time and is not meant to be shared between threads.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from appliance.bureau import codes, envelope, messages
from appliance.bureau.clearing_data import check_clearing_data
from appliance.bureau.config import BureauConfig
from appliance.bureau.endpoints import EndpointError
from appliance.bureau.envelope import DigestMismatch, Envelope, Header
from appliance.bureau.errors import (
    BureauError,
    BureauTimeout,
    GarbledResponse,
    IllegalMessage,
    NoEndpoint,
    NotConnected,
    SessionExpired,
    SummaryRejected,
    UnexpectedAnswer,
    UntrustedResponse,
    from_result,
)
from appliance.bureau.ids import random_business_id, summary_digest, upload_business_id
from appliance.bureau.models import BureauSession, ClearingData, Receipt
from appliance.bureau.retry import Retrier
from appliance.bureau.signing import CLIENT_NONCE_SIZE, handshake_message, public_key, verify
from appliance.bureau.transport import Transport
from appliance.bureau.xmlcodec import XmlError
from appliance.clock import clock
from appliance.devices.models import Certificate, Identity, Summary

_log = logging.getLogger(__name__)
_A = TypeVar("_A")
# The answers to a request the bureau could not even read carry no identity to compare.
_UNREAD_REQUEST_CODES = (codes.ILLEGAL_MESSAGE, codes.MESSAGE_TOO_LARGE)


def china_now() -> datetime:
    """Return the product clock's Beijing time, the bureau's time zone."""
    return clock().china()


class BureauClient:
    """Talks to the tax bureau for one device."""

    def __init__(
        self,
        config: BureauConfig,
        *,
        clock: Callable[[], datetime] = china_now,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.monotonic = monotonic
        self.bureau_key = public_key(config.bureau_public_key)
        self.transport = Transport(config.ca_bundle, config.max_response_bytes, monotonic)
        # Jitter only spreads retries over time; it needs no cryptographic randomness.
        jitter = rng or random.Random()  # noqa: S311
        self.retrier = Retrier(config.retry, jitter, sleep, monotonic)
        self.session: BureauSession | None = None
        self.attempts = 0  # requests sent, retries included: for diagnostics and tests

    def close(self) -> None:
        """Drop the session and close the connections."""
        self.session = None
        self.transport.close()

    def __enter__(self) -> BureauClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def handshake(
        self, identity: Identity, certificate: Certificate, sign: Callable[[bytes], bytes]
    ) -> BureauSession:
        """Open a session for the device: ``sign`` is the device's signing (bytes -> r||s)."""
        try:
            base = self.config.endpoints.url_for(identity.region)
        except EndpointError as exc:
            raise NoEndpoint(str(exc)) from exc
        url = f"{base}/{self.config.service_path}"
        self.session = None
        who = BureauSession("", identity.taxpayer_id, identity.device_no, url, "", 0.0)
        client_nonce = secrets.token_bytes(CLIENT_NONCE_SIZE)
        hello = messages.Hello(
            certificate.serial, certificate.public_key, client_nonce, identity.region
        )
        challenge = self._call(who, messages.HELLO, hello, messages.Challenge)
        signed = handshake_message(
            challenge.nonce,
            client_nonce,
            identity.taxpayer_id,
            identity.device_no,
            certificate.serial,
        )
        auth = messages.Auth(challenge.nonce, client_nonce, sign(signed))
        grant = self._call(who, messages.AUTH, auth, messages.SessionGrant)
        self.session = BureauSession(
            session_id=grant.session_id,
            taxpayer_id=identity.taxpayer_id,
            device_no=identity.device_no,
            url=url,
            taxpayer_kind=grant.taxpayer_kind,
            expires_at=self.monotonic() + grant.expires_in,
        )
        return self.session

    def company_info(self) -> messages.CompanyInfo:
        """Return what the bureau holds about the taxpayer and this month's filing."""
        session = self._open_session()
        return self._call(
            session, messages.COMPANY_INFO, messages.CompanyInfoQuery(), messages.CompanyInfo
        )

    def upload_summary(self, summary: Summary) -> Receipt:
        """Upload one invoice type's summary; the same summary always gets the same receipt."""
        session = self._open_session()
        owner = (summary.fields.get("taxpayer_id"), summary.fields.get("device_no"))
        if owner != (session.taxpayer_id, session.device_no):
            raise SummaryRejected(f"summary belongs to {owner}, not to the session's device")
        if not summary.signed or not summary.raw.startswith(summary.signed):
            raise SummaryRejected("summary's signed part is not the start of its bytes")
        digest = summary_digest(summary.signed)
        business_id = upload_business_id(
            session.taxpayer_id, session.device_no, summary.period, summary.type_code, digest
        )
        upload = messages.SummaryUpload(summary.type_code, summary.period, summary.raw)
        answer = self._call(session, messages.UPLOAD_SUMMARY, upload, messages.Receipt, business_id)
        if (answer.type_code, answer.period, answer.summary_digest) != (
            summary.type_code,
            summary.period,
            digest,
        ):
            raise UntrustedResponse("receipt is for another summary than the one uploaded")
        return Receipt(
            receipt_no=answer.receipt_no,
            taxpayer_id=session.taxpayer_id,
            device_no=session.device_no,
            type_code=answer.type_code,
            period=answer.period,
            summary_digest=answer.summary_digest,
            accepted_at=answer.accepted_at,
            business_id=business_id,
            repeated=answer.repeated,
        )

    def request_clearing(
        self, period: int, types: Sequence[str], business_id: str | None = None
    ) -> ClearingData:
        """Ask for clearing data of ``types`` for ``period`` (YYYYMM) and check it."""
        session = self._open_session()
        wanted = tuple(sorted(set(types)))
        if not wanted or len(wanted) > messages.MAX_TYPES:
            raise ValueError(f"clearing needs 1..{messages.MAX_TYPES} invoice types")
        request = messages.ClearingRequest(period, list(wanted))
        answer = self._call(
            session, messages.REQUEST_CLEARING, request, messages.ClearingAnswer, business_id
        )
        return check_clearing_data(
            answer.data,
            self.bureau_key,
            session.taxpayer_id,
            session.device_no,
            period,
            wanted,
            answer.reissued,
        )

    def _open_session(self) -> BureauSession:
        if self.session is None:
            raise NotConnected("no handshake has opened a session")
        if self.monotonic() >= self.session.expires_at:
            self.session = None
            raise SessionExpired("the session's lifetime is over")
        return self.session

    def _call(
        self,
        session: BureauSession,
        service: str,
        body: object,
        answer_type: type[_A],
        business_id: str | None = None,
    ) -> _A:
        payload = messages.encode(body)
        business_id = business_id or random_business_id()

        def attempt(deadline: float) -> _A:
            now = self.monotonic()
            remaining = min(deadline, now + self.config.attempt_timeout) - now
            if remaining <= 0:
                raise BureauTimeout(f"no time left for {service}")
            header = Header(
                service=service,
                taxpayer_id=session.taxpayer_id,
                device_no=session.device_no,
                send_time=envelope.send_time(self.clock()),
                business_id=business_id,
                session_id=session.session_id,
            )
            request = Envelope(header, payload)
            self.attempts += 1
            status, data = self.transport.post(
                session.url,
                envelope.encode(request),
                min(self.config.connect_timeout, remaining),
                min(self.config.read_timeout, remaining),
                now + remaining,
            )
            answer = self._check_answer(request, status, data)
            try:
                return messages.decode(answer_type, answer.body)
            except XmlError as exc:
                raise UnexpectedAnswer(f"{service} answer body unreadable: {exc}") from exc

        def log_retry(attempt_no: int, error: BureauError, pause: float) -> None:
            _log.info(
                "%s attempt %d failed (%s); retrying in %.2fs", service, attempt_no, error, pause
            )

        return self.retrier.run(attempt, log_retry)

    def _check_answer(self, request: Envelope, status: int, data: bytes) -> Envelope:
        """Return the verified answer to ``request``, or raise what it means."""
        try:
            answer = envelope.decode(data, answer=True, max_bytes=self.config.max_response_bytes)
        except DigestMismatch as exc:
            raise GarbledResponse(f"answer digest mismatch: {exc}") from exc
        except XmlError as exc:
            if status != 200:
                raise UnexpectedAnswer(f"HTTP {status} without a bureau answer") from exc
            raise GarbledResponse(f"answer is not a bureau envelope: {exc}") from exc
        if not verify(self.bureau_key, answer.canonical(), answer.signature):
            raise UntrustedResponse("answer signature does not verify with the bureau key")
        head, asked = answer.header, request.header
        if not head.business_id and answer.code in _UNREAD_REQUEST_CODES:
            raise IllegalMessage(answer.message, result_code=answer.code)
        expected = (
            asked.service,
            asked.taxpayer_id,
            asked.device_no,
            asked.business_id,
            asked.session_id,
            request.digest,
        )
        echoed = (
            head.service,
            head.taxpayer_id,
            head.device_no,
            head.business_id,
            head.session_id,
            head.in_reply_to,
        )
        if echoed != expected:
            raise UntrustedResponse(f"answer identity {echoed} does not match the request")
        if answer.code != codes.OK:
            raise from_result(answer.code, answer.message)
        if status != 200:
            raise UnexpectedAnswer(f"success answer with HTTP {status}")
        return answer
