"""Nothing in an answer is used before it is verified: the client against crafted answers.

A stub transport stands in for HTTPS and answers each request through a function that may
tamper with the answer the honest bureau would give.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from appliance.bureau import (
    BureauClient,
    BureauConfig,
    EndpointTable,
    RetryPolicy,
    codes,
    envelope,
    messages,
)
from appliance.bureau.envelope import Envelope, Header
from appliance.bureau.errors import (
    BureauUnavailable,
    GarbledResponse,
    IllegalMessage,
    NotFilingPeriod,
    UnexpectedAnswer,
    UntrustedResponse,
)
from appliance.bureau.ids import summary_digest, upload_business_id
from appliance.bureau.models import BureauSession
from appliance.bureau.signing import sign
from simulators.bureau import keys
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

DEVICE = SimTaxpayerDevice(0)
Tamper = Callable[[Envelope, Envelope], tuple[int, bytes]]


def honest(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
    return 200, envelope.encode(answer)


class StubTransport:
    """Answers each request with ``tamper(request, honest answer)``."""

    def __init__(self, tamper: Tamper, body: bytes, code: str = codes.OK) -> None:
        self.tamper = tamper
        self.body = body
        self.code = code
        self.calls = 0

    def post(
        self, url: str, data: bytes, connect: float, read: float, deadline: float
    ) -> tuple[int, bytes]:
        self.calls += 1
        request = envelope.decode(data, answer=False)
        head = replace(request.header, send_time="2026-11-05T10:00:00", in_reply_to=request.digest)
        answer = _signed(head, self.code, codes.text(self.code), self.body)
        return self.tamper(request, answer)

    def close(self) -> None:
        pass


def _signed(head: Header, code: str, message: str, body: bytes) -> Envelope:
    return envelope.signed_answer(
        head, code, message, body, lambda data: sign(keys.bureau_key(), data)
    )


def _client(
    tamper: Tamper, body: bytes, code: str = codes.OK
) -> tuple[BureauClient, StubTransport]:
    config = BureauConfig(
        endpoints=EndpointTable.per_authority("https://bureau.invalid"),
        ca_bundle=Path("/nonexistent/ca.pem"),
        bureau_public_key=keys.bureau_public_point(),
        retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
    )
    client = BureauClient(config, rng=random.Random(1), sleep=lambda _: None)
    stub = StubTransport(tamper, body, code)
    client.transport = stub  # type: ignore[assignment]
    client.session = BureauSession(
        "c" * 32,
        DEVICE.taxpayer_id,
        DEVICE.identity.device_no,
        "https://x/hubei/service",
        "general",
        float("inf"),
    )
    return client, stub


INFO = messages.encode(
    messages.CompanyInfo(
        "n",
        "420103",
        "general",
        "a",
        "valid",
        202610,
        datetime(2026, 11, 16).date(),
        "filed",
        [],
        [],
    )
)


def test_an_honest_answer_is_accepted() -> None:
    client, stub = _client(honest, INFO)
    assert client.company_info().period == 202610 and stub.calls == 1


@pytest.mark.parametrize(
    "field",
    ["service", "taxpayer_id", "device_no", "business_id", "session_id", "in_reply_to"],
)
def test_an_answer_to_another_request_is_untrusted(field: str) -> None:
    def other(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        filler = {"service": "F", "taxpayer_id": "F", "device_no": "9"}.get(field, "f")
        head = replace(answer.header, **{field: filler * len(getattr(answer.header, field))})
        return 200, envelope.encode(_signed(head, answer.code, answer.message, answer.body))

    client, stub = _client(other, INFO)
    with pytest.raises(UntrustedResponse):
        client.company_info()
    assert stub.calls == 1


def test_a_forged_signature_is_untrusted() -> None:
    def forged(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        return 200, envelope.encode(replace(answer, signature=bytes(63) + b"\x01"))

    client, stub = _client(forged, INFO)
    with pytest.raises(UntrustedResponse):
        client.company_info()
    assert stub.calls == 1


def test_a_garbled_answer_is_retried() -> None:
    answers = [b"<business", b"\x00" * 10]

    def flaky(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        return 200, answers.pop(0) if answers else envelope.encode(answer)

    client, stub = _client(flaky, INFO)
    assert client.company_info().period == 202610 and stub.calls == 3


def test_a_digest_mismatch_is_garbled_and_retried_to_exhaustion() -> None:
    def tampered(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        data = envelope.encode(answer)
        return 200, data.replace(b"<code>0000</code>", b"<code>0001</code>")

    client, stub = _client(tampered, INFO)
    with pytest.raises(BureauUnavailable) as caught:
        client.company_info()
    assert isinstance(caught.value.last, GarbledResponse) and stub.calls == 3


def test_a_refusal_of_an_unreadable_request_is_an_illegal_message() -> None:
    def unread(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        head = Header("", "", "", "2026-11-05T10:00:00", "")
        return 413, envelope.encode(_signed(head, codes.MESSAGE_TOO_LARGE, "报文过大", b""))

    client, stub = _client(unread, INFO)
    with pytest.raises(IllegalMessage):
        client.company_info()
    assert stub.calls == 1


def test_an_unsigned_refusal_is_untrusted() -> None:
    def unsigned(request: Envelope, answer: Envelope) -> tuple[int, bytes]:
        head = Header("", "", "", "2026-11-05T10:00:00", "")
        return 200, envelope.encode(Envelope(head, b"", codes.ILLEGAL_MESSAGE, "", bytes(64)))

    client, _ = _client(unsigned, INFO)
    with pytest.raises(UntrustedResponse):
        client.company_info()


@pytest.mark.parametrize(
    ("tamper", "body", "code", "error"),
    [
        (lambda r, a: (404, b"<html>not found</html>"), INFO, codes.OK, UnexpectedAnswer),
        (lambda r, a: (400, envelope.encode(a)), INFO, codes.OK, UnexpectedAnswer),
        (honest, INFO, "7777", UnexpectedAnswer),
        (honest, b"<companyInfo/>", codes.OK, UnexpectedAnswer),
        (honest, b"", codes.NO_SUMMARY_OR_NOT_FILING, NotFilingPeriod),
    ],
)
def test_answers_that_are_not_success(
    tamper: Tamper, body: bytes, code: str, error: type[Exception]
) -> None:
    client, stub = _client(tamper, body, code)
    with pytest.raises(error):
        client.company_info()
    assert stub.calls == 1


def test_a_receipt_for_another_summary_is_untrusted() -> None:
    summary = DEVICE.summary("007", 202610)
    receipt = messages.Receipt("SB1", "007", 202610, "0" * 64, datetime(2026, 11, 5), False)
    client, _ = _client(honest, messages.encode(receipt))
    with pytest.raises(UntrustedResponse, match="another summary"):
        client.upload_summary(summary)


def test_upload_business_id_is_derived_from_content() -> None:
    summary = DEVICE.summary("007", 202610)
    digest = summary_digest(summary.signed)
    receipt = messages.Receipt("SB1", "007", 202610, digest, datetime(2026, 11, 5), False)
    client, _ = _client(honest, messages.encode(receipt))
    first = client.upload_summary(summary)
    second = client.upload_summary(DEVICE.summary("007", 202610))
    assert (
        first.business_id
        == second.business_id
        == upload_business_id(DEVICE.taxpayer_id, DEVICE.identity.device_no, 202610, "007", digest)
    )
