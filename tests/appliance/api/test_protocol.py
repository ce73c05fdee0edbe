"""Line framer, line reader and JSON codec: any chunking, oversized lines, hostile input."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.api.client import LineReader
from appliance.api.errors import BAD_REQUEST, ApiError, BadReply
from appliance.api.protocol import (
    MAX_INT_ID,
    LineFramer,
    TooLong,
    decode,
    encode,
    is_request_id,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
messages = st.dictionaries(st.text(max_size=10), json_values, max_size=5)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut ``data`` at the positions ``cuts`` (taken modulo its length)."""
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def test_framer_returns_lines_without_newline() -> None:
    framer = LineFramer(16)
    assert framer.feed(b"one\ntwo\nthr") == [b"one", b"two"]
    assert framer.pending == 3
    assert framer.feed(b"ee\n") == [b"three"]
    assert framer.pending == 0


def test_a_line_of_exactly_the_limit_passes() -> None:
    assert LineFramer(4).feed(b"abcd\n") == [b"abcd"]


def test_a_complete_line_over_the_limit_is_reported() -> None:
    assert LineFramer(4).feed(b"abcde\nok\n") == [TooLong(5), b"ok"]


def test_an_unfinished_long_line_is_reported_once_and_discarded_to_its_newline() -> None:
    framer = LineFramer(4)
    assert framer.feed(b"abc") == []
    assert framer.feed(b"de") == [TooLong(5)]
    assert framer.pending == 0
    for _ in range(100):
        assert framer.feed(b"more junk without end") == []
        assert framer.pending == 0
    assert framer.feed(b"tail\nnext\n") == [b"next"]


@given(
    st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")), max_size=10), st.data()
)
def test_any_chunking_gives_the_same_lines(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    cuts = data.draw(st.lists(st.integers(0, 10_000), max_size=12))
    framer = LineFramer(64)
    out: list[bytes | TooLong] = []
    for chunk in split(stream, cuts):
        out.extend(framer.feed(chunk))
    assert out == lines


@given(st.binary(max_size=400), st.lists(st.integers(0, 10_000), max_size=12))
def test_the_framer_never_holds_more_than_its_limit(stream: bytes, cuts: list[int]) -> None:
    framer = LineFramer(16)
    for chunk in split(stream, cuts):
        for item in framer.feed(chunk):
            assert isinstance(item, TooLong) or len(item) <= 16
        assert framer.pending <= 16


@given(st.lists(messages, max_size=8), st.lists(st.integers(0, 100_000), max_size=20))
def test_the_line_reader_reassembles_messages_from_any_chunking(
    sent: list[dict[str, Any]], cuts: list[int]
) -> None:
    chunks = split(b"".join(encode(message) for message in sent), cuts)

    def recv(size: int) -> bytes:
        return chunks.pop(0) if chunks else b""

    reader = LineReader(recv)
    received = [json.loads(reader.read_line()) for _ in sent]
    assert received == sent
    with pytest.raises(EOFError):
        reader.read_line()


def test_the_line_reader_refuses_a_line_over_its_limit() -> None:
    chunks = [b"x" * 10, b"x" * 10, b"\n"]
    reader = LineReader(lambda size: chunks.pop(0), max_line=15)
    with pytest.raises(BadReply):
        reader.read_line()


@given(messages)
def test_encode_is_one_line_that_decodes_back(message: dict[str, Any]) -> None:
    line = encode(message)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert decode(line[:-1]) == message


def test_encode_keeps_chinese_readable() -> None:
    assert encode({"message_zh": "已清卡"}) == '{"message_zh":"已清卡"}\n'.encode()


def test_encode_escapes_a_lone_surrogate_instead_of_failing() -> None:
    line = encode({"text": "\ud800 已"})
    assert line.isascii()
    assert json.loads(line) == {"text": "\ud800 已"}


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode({"x": float("nan")})


@pytest.mark.parametrize(
    "line",
    [
        b"\xff\xfe",
        b"{",
        b"[1, 2]",
        b'"text"',
        b"NaN",
        b'{"x": Infinity}',
        b"[" * 100_000,
        b'{"n": ' + b"9" * 5000 + b"}",
    ],
)
def test_decode_refuses_anything_but_a_json_object(line: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        decode(line)
    assert caught.value.code == BAD_REQUEST


@pytest.mark.parametrize(
    ("value", "usable"),
    [
        (1, True),
        (-MAX_INT_ID, True),
        (MAX_INT_ID + 1, False),
        ("abc", True),
        ("x" * 65, False),
        (True, False),
        (None, False),
        (1.5, False),
        ([1], False),
    ],
)
def test_request_ids(value: object, usable: bool) -> None:
    assert is_request_id(value) is usable
