"""The serial frame of the bench device: whole, byte by byte, several at once, hostile."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.protocol import serial_frame as sf
from appliance.protocol.errors import BadCheck, BadFrame, NeedMore, ProtocolError, TooLarge

frames = st.builds(
    sf.Frame,
    st.sampled_from(sf.KINDS),
    st.integers(0, 255),
    st.binary(max_size=300),
)


def test_layout() -> None:
    raw = sf.encode_frame(sf.Frame(sf.KIND_ACK, 9, b"ok"))
    assert raw[:2] == b"\xa5\x5a"
    assert raw[2:6] == bytes((sf.KIND_ACK, 9, 0, 2))
    assert raw[6:8] == b"ok"
    assert len(raw) == 10


@given(frames)
def test_round_trip(frame: sf.Frame) -> None:
    raw = sf.encode_frame(frame)
    assert sf.decode_frame(raw) == (frame, len(raw))


@given(frames)
def test_every_prefix_needs_more(frame: sf.Frame) -> None:
    raw = sf.encode_frame(frame)
    for cut in range(len(raw)):
        with pytest.raises(NeedMore):
            sf.decode_frame(raw[:cut])


@given(st.lists(frames, min_size=1, max_size=5), st.integers(1, 64))
def test_stream_in_arbitrary_chunks(sent: list[sf.Frame], chunk: int) -> None:
    stream = b"".join(sf.encode_frame(f) for f in sent)
    decoder = sf.FrameDecoder()
    got = []
    for start in range(0, len(stream), chunk):
        decoder.feed(stream[start : start + chunk])
        while (frame := decoder.next_frame()) is not None:
            got.append(frame)
    assert got == sent
    assert decoder.pending() == 0


@given(st.lists(frames, min_size=1, max_size=4), st.binary(max_size=40))
def test_garbage_between_frames_costs_only_itself(sent: list[sf.Frame], noise: bytes) -> None:
    noise = noise.replace(b"\xa5", b"\x00")  # noise that contains no start marker
    stream = b"".join(noise + sf.encode_frame(f) for f in sent)
    decoder = sf.FrameDecoder()
    decoder.feed(stream)
    got = []
    errors = 0
    while True:
        try:
            frame = decoder.next_frame()
        except BadFrame:
            errors += 1
            continue
        if frame is None:
            break
        got.append(frame)
    assert got == sent
    assert errors <= len(sent)


def test_corrupted_frame_is_dropped_and_the_next_one_survives() -> None:
    first = bytearray(sf.encode_frame(sf.Frame(sf.KIND_IN_DATA, 1, b"hello")))
    first[7] ^= 0x01
    second = sf.encode_frame(sf.Frame(sf.KIND_ACK, 2))
    decoder = sf.FrameDecoder()
    decoder.feed(bytes(first) + second)
    with pytest.raises(BadCheck):
        decoder.next_frame()
    assert decoder.next_frame() == sf.Frame(sf.KIND_ACK, 2)


def test_payload_cap() -> None:
    with pytest.raises(TooLarge):
        sf.encode_frame(sf.Frame(sf.KIND_BULK_OUT, 0, bytes(sf.MAX_PAYLOAD + 1)))
    header = b"\xa5\x5a" + bytes((sf.KIND_BULK_OUT, 0)) + (sf.MAX_PAYLOAD + 1).to_bytes(2, "big")
    with pytest.raises(TooLarge):
        sf.decode_frame(header)


def test_backlog_cap() -> None:
    decoder = sf.FrameDecoder()
    with pytest.raises(TooLarge):
        decoder.feed(bytes(2 * sf.MAX_FRAME + 1))
    assert decoder.pending() == 0


@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_decoder(raw: bytes) -> None:
    decoder = sf.FrameDecoder()
    decoder.feed(raw)
    for _ in range(len(raw) + 1):
        try:
            if decoder.next_frame() is None:
                break
        except ProtocolError:
            continue
