"""Hypothesis strategies for the bureau's wire format: headers, envelopes, hostile XML."""

from __future__ import annotations

import string

from hypothesis import strategies as st

from appliance.bureau.envelope import Envelope, Header

_UPPER = string.ascii_uppercase
_HEX = "0123456789abcdef"

services = st.text(_UPPER + "_", min_size=1, max_size=32).filter(lambda s: s[0] != "_")
taxpayer_ids = st.text(string.digits + _UPPER, min_size=0, max_size=20)
device_nos = st.text(string.digits + string.ascii_letters, max_size=12)
send_times = (
    st.datetimes()
    .map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S"))
    .filter(lambda text: len(text) == 19)
)
ids = st.text(_HEX, min_size=32, max_size=32)
optional_ids = st.one_of(st.just(""), ids)
digests = st.one_of(st.just(""), st.text(_HEX, min_size=64, max_size=64))
messages = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"), max_size=200
)
codes = st.text(string.digits, min_size=4, max_size=4)


@st.composite
def headers(draw: st.DrawFn, answer: bool = False) -> Header:
    return Header(
        service=draw(services),
        taxpayer_id=draw(taxpayer_ids),
        device_no=draw(device_nos),
        send_time=draw(send_times),
        business_id=draw(optional_ids if answer else ids),
        session_id=draw(optional_ids),
        in_reply_to=draw(digests) if answer else "",
    )


@st.composite
def requests(draw: st.DrawFn) -> Envelope:
    return Envelope(draw(headers()), draw(st.binary(max_size=2048)))


@st.composite
def answers(draw: st.DrawFn) -> Envelope:
    return Envelope(
        draw(headers(answer=True)),
        draw(st.binary(max_size=2048)),
        draw(codes),
        draw(messages),
        draw(st.binary(min_size=64, max_size=64)),
    )


# Fragments that hostile or broken peers send: entity bombs, external entities, DTDs, odd
# encodings, stray markup.
hostile_fragments = st.sampled_from(
    [
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>',
        b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        b"<!ENTITY % p SYSTEM 'http://127.0.0.1/'>",
        b'<?xml version="1.0" encoding="GBK"?>',
        b"<business version='1'>",
        b"</business>",
        b"<identity>",
        b"&lol2;",
        b"<![CDATA[x]]>",
        b"\xff\xfe",
        b"\x00",
        b"<body>",
        b"</body>",
        b"<digest alg='SHA-256'>",
    ]
)
