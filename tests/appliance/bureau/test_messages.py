"""Business bodies: the table-driven codec, round trips and hostile input."""

from __future__ import annotations

import contextlib
from dataclasses import fields
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.bureau import messages, xmlcodec
from appliance.bureau.xmlcodec import XmlError

SAMPLES: list[Any] = [
    messages.Hello("0123456789ABCDEF", b"\x04" + bytes(64), bytes(16), "420103"),
    messages.Challenge(bytes(range(32)), 60),
    messages.Auth(bytes(32), bytes(16), bytes(64)),
    messages.SessionGrant("f" * 32, 1800, "general"),
    messages.CompanyInfoQuery(),
    messages.CompanyInfo(
        "汉阳区示范餐饮有限公司",
        "420105",
        "general",
        "国家税务总局湖北省税务局",
        "valid",
        202610,
        date(2026, 11, 16),
        "filed",
        ["004", "007"],
        [],
    ),
    messages.SummaryUpload("007", 202610, b"\x01" * 300),
    messages.Receipt("SB202611050000000001", "007", 202610, "a" * 64, datetime(2026, 11, 5), True),
    messages.ClearingRequest(202610, ["007", "026"]),
    messages.ClearingAnswer(b"\x01" * 200, False),
]


def test_every_body_class_has_a_layout_naming_all_its_fields() -> None:
    for cls, (_, layout) in messages.LAYOUTS.items():
        assert {field.name for field in fields(cls)} == {attribute for _, attribute, _ in layout}


@pytest.mark.parametrize("body", SAMPLES, ids=lambda body: type(body).__name__)
def test_round_trip(body: Any) -> None:
    assert messages.decode(type(body), messages.encode(body)) == body


@pytest.mark.parametrize(
    ("body", "old", "new"),
    [
        (SAMPLES[8], b"<period>202610", b"<period>202613"),
        (SAMPLES[8], b"<type>026</type>", b"<type>007</type>"),
        (SAMPLES[8], b"<type>026</type>", b"<type>26</type>"),
        (SAMPLES[8], b"<types>", b'<types a="1">'),
        (SAMPLES[1], b"<expiresIn>60", b"<expiresIn>-60"),
        (SAMPLES[2], b"<clientNonce>", b"<clientNonce>00"),
        (SAMPLES[2], b"<signature>", b"<signature>AAAA"),
        (SAMPLES[5], b"<deadline>2026-11-16", b"<deadline>2026-02-30"),
        (SAMPLES[7], b"<acceptedAt>2026-11-05T00:00:00", b"<acceptedAt>2026-11-05T24:00:00"),
        (SAMPLES[7], b"<repeated>1", b"<repeated>2"),
        (SAMPLES[3], b"<session>", b"<session x='1'>"),
        (SAMPLES[3], b"</session>", b"<extra/></session>"),
    ],
)
def test_malformed_bodies_are_typed_errors(body: Any, old: bytes, new: bytes) -> None:
    data = messages.encode(body)
    assert old in data
    with pytest.raises(XmlError):
        messages.decode(type(body), data.replace(old, new))


def test_type_lists_are_capped() -> None:
    request = messages.ClearingRequest(202610, [f"{n:03d}" for n in range(messages.MAX_TYPES)])
    assert messages.decode(messages.ClearingRequest, messages.encode(request)) == request
    too_many = messages.encode(request).replace(b"<types>", b"<types><type>999</type>")
    with pytest.raises(XmlError, match="cap"):
        messages.decode(messages.ClearingRequest, too_many)


def test_oversized_bodies_are_refused_before_parsing() -> None:
    with pytest.raises(xmlcodec.XmlTooLarge):
        messages.decode(messages.ClearingAnswer, b"<" * (messages.MAX_BODY + 1))


@given(
    st.sampled_from(sorted(messages.LAYOUTS, key=lambda cls: cls.__name__)),
    st.binary(max_size=2048),
)
def test_random_bytes_only_raise_xml_errors(cls: type[Any], data: bytes) -> None:
    with contextlib.suppress(XmlError):
        messages.decode(cls, data)


@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_bodies_fail_typed(body: Any, data: st.DataObject) -> None:
    encoded = bytearray(messages.encode(body))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(XmlError):
        messages.decode(type(body), bytes(encoded))


@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=100),
    st.lists(st.text("0123456789", min_size=3, max_size=3), unique=True, max_size=16),
)
def test_any_company_info_round_trips(name: str, types: list[str]) -> None:
    body = messages.CompanyInfo(
        name, "420100", "small", "x", "lost", 202612, date(2027, 1, 20), "missing", types, types
    )
    assert messages.decode(messages.CompanyInfo, messages.encode(body)) == body
