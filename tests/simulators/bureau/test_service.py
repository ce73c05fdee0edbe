"""The bureau's front door in process: every input gets a signed answer with the right code."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.bureau import codes, envelope, messages
from appliance.bureau.envelope import Envelope, Header
from appliance.bureau.signing import CLIENT_NONCE_SIZE, handshake_message, public_key, verify
from appliance.calendar import default_calendar
from simulators.bureau import keys
from simulators.bureau.filing import Filing
from simulators.bureau.service import BureauService
from simulators.bureau.store import Store
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

NOW = datetime(2026, 11, 5, 10, 0, 0)
HUBEI = "42"
BUREAU_KEY = public_key(keys.bureau_public_point())


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BureauService]:
    store = Store(Path(tmp_path_factory.mktemp("service")) / "bureau.sqlite3")
    yield BureauService(store, Filing(store, default_calendar()), lambda: NOW)
    store.close()


def _request(
    device: SimTaxpayerDevice, service_id: str, body: object, session: str = "", bid: str = ""
) -> Envelope:
    header = Header(
        service_id,
        device.taxpayer_id,
        device.identity.device_no,
        "2026-11-05T10:00:00",
        bid or secrets.token_hex(16),
        session,
    )
    return Envelope(header, messages.encode(body) if not isinstance(body, bytes) else body)


def _answer(service: BureauService, request: Envelope | bytes, authority: str = HUBEI) -> Envelope:
    data = request if isinstance(request, bytes) else envelope.encode(request)
    answer = envelope.decode(service.handle(data, authority), answer=True)
    assert verify(BUREAU_KEY, answer.canonical(), answer.signature)
    if isinstance(request, Envelope):
        assert answer.header.in_reply_to == request.digest
        assert answer.header.business_id == request.header.business_id
    return answer


def _session(service: BureauService, device: SimTaxpayerDevice) -> str:
    client_nonce = bytes(CLIENT_NONCE_SIZE)
    cert = device.certificate
    hello = messages.Hello(cert.serial, cert.public_key, client_nonce, device.identity.region)
    answer = _answer(service, _request(device, messages.HELLO, hello))
    challenge = messages.decode(messages.Challenge, answer.body)
    signed = handshake_message(
        challenge.nonce, client_nonce, device.taxpayer_id, device.identity.device_no, cert.serial
    )
    auth = messages.Auth(challenge.nonce, client_nonce, device.sign(signed))
    grant = _answer(service, _request(device, messages.AUTH, auth))
    assert grant.code == codes.OK
    return messages.decode(messages.SessionGrant, grant.body).session_id


def test_handshake_and_a_replayed_challenge(service: BureauService) -> None:
    device = SimTaxpayerDevice(500)
    client_nonce = bytes(CLIENT_NONCE_SIZE)
    cert = device.certificate
    hello = messages.Hello(cert.serial, cert.public_key, client_nonce, device.identity.region)
    challenge = messages.decode(
        messages.Challenge, _answer(service, _request(device, messages.HELLO, hello)).body
    )
    signed = handshake_message(
        challenge.nonce, client_nonce, device.taxpayer_id, device.identity.device_no, cert.serial
    )
    auth = messages.Auth(challenge.nonce, client_nonce, device.sign(signed))
    assert _answer(service, _request(device, messages.AUTH, auth)).code == codes.OK
    # The same signed challenge under a new business id: the challenge is spent.
    assert _answer(service, _request(device, messages.AUTH, auth)).code == codes.HANDSHAKE_FAILED


def test_hello_for_another_region_or_key(service: BureauService) -> None:
    device = SimTaxpayerDevice(501)
    cert = device.certificate
    nonce = bytes(CLIENT_NONCE_SIZE)
    wrong_region = messages.Hello(cert.serial, cert.public_key, nonce, "110101")
    assert (
        _answer(service, _request(device, messages.HELLO, wrong_region)).code
        == codes.ILLEGAL_MESSAGE
    )
    other = SimTaxpayerDevice(502).certificate
    foreign = messages.Hello(other.serial, other.public_key, nonce, device.identity.region)
    assert _answer(service, _request(device, messages.HELLO, foreign)).code == codes.CERT_UNKNOWN


def test_identity_checks(service: BureauService) -> None:
    device = SimTaxpayerDevice(503)
    query = messages.CompanyInfoQuery()
    assert _answer(service, _request(device, "NO_SUCH_CALL", query)).code == codes.UNKNOWN_SERVICE
    assert _answer(service, _request(device, messages.COMPANY_INFO, query), "11").code == (
        codes.WRONG_PROVINCE
    )
    assert _answer(service, _request(device, messages.COMPANY_INFO, query)).code == (
        codes.SESSION_INVALID
    )
    stranger = _request(device, messages.COMPANY_INFO, query)
    stranger = Envelope(
        Header(
            messages.COMPANY_INFO,
            "91420103MA9999999X",
            "661900000000",
            "2026-11-05T10:00:00",
            "a" * 32,
        ),
        stranger.body,
    )
    assert _answer(service, stranger).code == codes.CERT_UNKNOWN


def test_a_session_belongs_to_its_device(service: BureauService) -> None:
    owner, other = SimTaxpayerDevice(504), SimTaxpayerDevice(505)
    session = _session(service, owner)
    query = messages.CompanyInfoQuery()
    assert _answer(service, _request(owner, messages.COMPANY_INFO, query, session)).code == "0000"
    assert _answer(service, _request(other, messages.COMPANY_INFO, query, session)).code == (
        codes.SESSION_INVALID
    )


def test_business_ids(service: BureauService) -> None:
    device = SimTaxpayerDevice(506)
    session = _session(service, device)
    upload = messages.SummaryUpload("007", 202610, device.summary("007", 202610).raw)
    first = _answer(service, _request(device, messages.UPLOAD_SUMMARY, upload, session, "1" * 32))
    again = _answer(service, _request(device, messages.UPLOAD_SUMMARY, upload, session, "1" * 32))
    receipts = [messages.decode(messages.Receipt, a.body) for a in (first, again)]
    assert receipts[0].receipt_no == receipts[1].receipt_no and receipts[1].repeated
    other = messages.SummaryUpload("004", 202610, device.summary("004", 202610).raw)
    replayed = _answer(service, _request(device, messages.UPLOAD_SUMMARY, other, session, "1" * 32))
    assert replayed.code == codes.DUPLICATE_BUSINESS_ID


def test_bad_business_bodies(service: BureauService) -> None:
    device = SimTaxpayerDevice(507)
    session = _session(service, device)
    summary = device.summary("007", 202610)
    cases = [
        (messages.UPLOAD_SUMMARY, b"<summaryUpload/>", codes.ILLEGAL_MESSAGE),
        (messages.UPLOAD_SUMMARY, messages.SummaryUpload("007", 202610, b"\x00"), "2001"),
        (messages.UPLOAD_SUMMARY, messages.SummaryUpload("004", 202610, summary.raw), "2001"),
        (
            messages.UPLOAD_SUMMARY,
            messages.SummaryUpload("007", 202610, SimTaxpayerDevice(2).summary("007", 202610).raw),
            codes.SUMMARY_SIGNATURE,
        ),
        (messages.REQUEST_CLEARING, messages.ClearingRequest(202610, []), codes.ILLEGAL_MESSAGE),
        (messages.COMPANY_INFO, b"<companyInfoQuery>x</companyInfoQuery>", codes.ILLEGAL_MESSAGE),
    ]
    for service_id, body, code in cases:
        assert _answer(service, _request(device, service_id, body, session)).code == code


def test_unreadable_requests_get_an_unechoed_refusal(service: BureauService) -> None:
    answer = envelope.decode(service.handle(b"<business", HUBEI), answer=True)
    assert answer.code == codes.ILLEGAL_MESSAGE and answer.header.business_id == ""
    assert verify(BUREAU_KEY, answer.canonical(), answer.signature)
    big = envelope.decode(service.handle(b" " * (envelope.MAX_ENVELOPE + 1), HUBEI), answer=True)
    assert big.code == codes.MESSAGE_TOO_LARGE


def test_a_wrong_digest_is_an_echoed_refusal(service: BureauService) -> None:
    request = _request(SimTaxpayerDevice(508), messages.COMPANY_INFO, messages.CompanyInfoQuery())
    data = envelope.encode(request).replace(request.digest.encode(), b"0" * 64)
    answer = envelope.decode(service.handle(data, HUBEI), answer=True)
    assert answer.code == codes.ILLEGAL_MESSAGE
    assert answer.header.business_id == request.header.business_id


def test_forced_codes_answer_unprocessed(service: BureauService) -> None:
    request = _request(SimTaxpayerDevice(509), messages.COMPANY_INFO, messages.CompanyInfoQuery())
    data = service.handle(envelope.encode(request), HUBEI, codes.COMMUNICATION_ERROR)
    assert envelope.decode(data, answer=True).code == codes.COMMUNICATION_ERROR


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000), st.sampled_from(["42", "11", "4403"]))
def test_any_bytes_get_a_signed_answer(service: BureauService, data: bytes, where: str) -> None:
    answer = envelope.decode(service.handle(data, where), answer=True)
    assert answer.code != codes.OK
    assert verify(BUREAU_KEY, answer.canonical(), answer.signature)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_requests_get_a_signed_answer(service: BureauService, data: st.DataObject) -> None:
    device = SimTaxpayerDevice(510)
    body = messages.SummaryUpload("007", 202610, device.summary("007", 202610).raw)
    encoded = bytearray(envelope.encode(_request(device, messages.UPLOAD_SUMMARY, body)))
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] = data.draw(st.integers(0, 255))
    answer = envelope.decode(service.handle(bytes(encoded), HUBEI), answer=True)
    assert answer.code != codes.OK  # never accepted without a session
    assert verify(BUREAU_KEY, answer.canonical(), answer.signature)
