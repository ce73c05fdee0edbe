"""The envelope codec, both directions, with hostile and random input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.bureau import envelope
from appliance.bureau.envelope import DigestMismatch, Envelope, Header
from appliance.bureau.xmlcodec import XmlError, XmlTooLarge
from tests.appliance.bureau import strategies

HEADER = Header(
    "UPLOAD_SUMMARY", "91420103MA0000000A", "661900000000", "2026-11-05T10:00:00", "a" * 32
)


def test_request_round_trip_and_layout() -> None:
    request = Envelope(HEADER, b"<summaryUpload/>")
    data = envelope.encode(request)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<business version="1">')
    assert b'<digest alg="SHA-256">' in data and b"<signature" not in data
    assert envelope.decode(data, answer=False) == request


def test_answer_round_trip() -> None:
    answer = envelope.signed_answer(
        replace(HEADER, in_reply_to="b" * 64), "0000", "成功", b"body", lambda data: bytes(64)
    )
    decoded = envelope.decode(envelope.encode(answer), answer=True)
    assert decoded == answer and decoded.is_answer


def test_digest_covers_every_field() -> None:
    base = Envelope(HEADER, b"x", "0000", "ok")
    variants = [
        replace(base, header=replace(HEADER, service="OTHER")),
        replace(base, header=replace(HEADER, taxpayer_id="X")),
        replace(base, header=replace(HEADER, device_no="1")),
        replace(base, header=replace(HEADER, send_time="2026-11-05T10:00:01")),
        replace(base, header=replace(HEADER, business_id="c" * 32)),
        replace(base, header=replace(HEADER, session_id="d" * 32)),
        replace(base, header=replace(HEADER, in_reply_to="e" * 64)),
        replace(base, body=b"y"),
        replace(base, code="0001"),
        replace(base, message="ok!"),
    ]
    assert len({variant.digest for variant in [base, *variants]}) == len(variants) + 1


def test_a_changed_body_is_a_digest_mismatch_carrying_the_envelope() -> None:
    data = envelope.encode(Envelope(HEADER, b"original"))
    forged = data.replace(base64.b64encode(b"original"), base64.b64encode(b"modified"))
    with pytest.raises(DigestMismatch) as caught:
        envelope.decode(forged, answer=False)
    assert caught.value.envelope.header == HEADER


def test_requests_need_a_business_id() -> None:
    data = envelope.encode(Envelope(replace(HEADER, business_id=""), b""))
    with pytest.raises(XmlError, match="business id"):
        envelope.decode(data, answer=False)


def test_a_request_is_not_an_answer_and_back() -> None:
    request = envelope.encode(Envelope(HEADER, b""))
    answer = envelope.encode(Envelope(HEADER, b"", "0000", "", bytes(64)))
    with pytest.raises(XmlError):
        envelope.decode(request, answer=True)
    with pytest.raises(XmlError):
        envelope.decode(answer, answer=False)


def test_size_caps() -> None:
    with pytest.raises(XmlTooLarge):
        envelope.decode(b" " * (envelope.MAX_ENVELOPE + 1), answer=False)
    with pytest.raises(XmlTooLarge):
        envelope.encode(Envelope(HEADER, bytes(envelope.MAX_BODY + 1)))
    big = Envelope(HEADER, bytes(envelope.MAX_BODY))
    assert envelope.decode(envelope.encode(big), answer=False, max_bytes=10**6) == big


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'version="1"', b'version="2"'),
        (b"<serviceId>UPLOAD_SUMMARY</serviceId>", b"<serviceId>upload</serviceId>"),
        (b"<sendTime>2026-11-05T10:00:00</sendTime>", b"<sendTime>2026-13-05T10:00:00</sendTime>"),
        (b"<deviceNo>661900000000</deviceNo>", b"<deviceNo>661900000000<x/></deviceNo>"),
        (b"<identity>", b"<identity>text"),
        (b"</identity>", b"</identity><identity/>"),
        (b'alg="SHA-256"', b'alg="MD5"'),
        (b"<body>", b"<body>!!"),
    ],
)
def test_malformed_requests_are_typed_errors(old: bytes, new: bytes) -> None:
    data = envelope.encode(Envelope(HEADER, b"payload"))
    assert old in data
    with pytest.raises(XmlError):
        envelope.decode(data.replace(old, new), answer=False)


@given(strategies.requests())
def test_any_request_round_trips(request: Envelope) -> None:
    assert envelope.decode(envelope.encode(request), answer=False) == request


@given(strategies.answers())
def test_any_answer_round_trips(answer: Envelope) -> None:
    assert envelope.decode(envelope.encode(answer), answer=True) == answer


@given(st.binary(max_size=4096), st.booleans())
def test_random_bytes_only_raise_xml_errors(data: bytes, answer: bool) -> None:
    with contextlib.suppress(XmlError):
        envelope.decode(data, answer=answer)


@settings(max_examples=300)
@given(strategies.requests(), st.data())
def test_mutated_envelopes_decode_the_same_or_fail_typed(
    request: Envelope, data: st.DataObject
) -> None:
    encoded = bytearray(envelope.encode(request))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            encoded[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del encoded[position : position + data.draw(st.integers(1, 64))]
        else:
            encoded[position:position] = data.draw(strategies.hostile_fragments)
    try:
        decoded = envelope.decode(bytes(encoded), answer=False)
    except XmlError:
        return
    # Whatever survives mutation must still be self-consistent: the digest held.
    assert hashlib.sha256(decoded.canonical()).hexdigest() == decoded.digest


@pytest.mark.parametrize(
    "doctype",
    [
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>',
        b'<!DOCTYPE business [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b'<!DOCTYPE business SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
)
def test_dtds_and_entities_are_refused(doctype: bytes) -> None:
    encoded = envelope.encode(Envelope(HEADER, b""))
    head, rest = encoded.split(b"\n", 1)
    if b"lol2" in doctype:
        rest = rest.replace(b"<deviceNo>661900000000", b"<deviceNo>&lol2;")
    with pytest.raises(XmlError):
        envelope.decode(head + b"\n" + doctype + rest, answer=False)
