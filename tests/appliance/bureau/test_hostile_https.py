"""Hostile HTTPS servers (real TLS, throwaway CA): every attempt ends by its deadline, typed.

Each server misbehaves at one step of an exchange: the TCP accept, the TLS handshake, the status
line, the headers, the body's framing. The client's attempt deadline covers all of them; the
error's type says whether the retry policy tries again (transient) or stops at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.bureau import BureauClient, EndpointTable, RetryPolicy
from appliance.bureau.config import BureauConfig
from appliance.bureau.errors import (
    TRANSIENT_ERRORS,
    BureauError,
    BureauTimeout,
    BureauUnavailable,
    GarbledResponse,
    NetworkError,
    ServerError,
    TlsError,
)
from appliance.bureau.transport import Transport
from simulators.bureau.tls import ensure_tls
from tests.appliance.bureau.hostile_https import (
    OK_HEAD,
    Behaviour,
    HostileServer,
    TlsPeer,
    answer,
    close_after,
    forever,
    reset_after,
    silent,
    slow_handshake,
)
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

ATTEMPT_S = 0.4  # the attempt deadline of these tests
READ_S = 0.2  # the longest single wait; every trickle below is faster than this
PACE_S = 0.03  # one byte every 30 ms: never silent for a whole read timeout
MARGIN_S = 0.5  # scheduling noise on a loaded machine
MAX_ANSWER = 32 * 1024
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def slow_headers(peer: TlsPeer) -> None:
    peer.handshake()
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\n")
    peer.send(b"Content-Type: text/xml\r\nX-Padding: " + b"p" * 200 + b"\r\n\r\n", PACE_S)


def accept_and_close(peer: TlsPeer) -> None:
    peer.sock.close()


CASES: dict[str, tuple[Behaviour, type[BureauError]]] = {
    "accepts and never speaks": (silent, BureauTimeout),
    "closes at once": (accept_and_close, NetworkError),
    "slow TLS handshake": (slow_handshake(PACE_S), BureauTimeout),
    "slow status line": (answer(OK_HEAD, b"hello", pace_s=PACE_S), BureauTimeout),
    "slow headers": (slow_headers, BureauTimeout),
    "slow body": (answer(OK_HEAD.replace(b": 5", b": 200"), b"x" * 200, 0, PACE_S), BureauTimeout),
    "endless headers": (forever(b"HTTP/1.1 200 OK\r\n", b"X-Hostile: yes\r\n"), GarbledResponse),
    "huge header line": (forever(b"HTTP/1.1 200 OK\r\nX-Big: ", b"a" * 1024), GarbledResponse),
    "endless 100 Continue": (forever(b"", b"HTTP/1.1 100 Continue\r\n\r\n"), GarbledResponse),
    "not HTTP": (answer(b"\x00\x01 garbage\r\n\r\n"), GarbledResponse),
    "chunk size not hex": (answer(CHUNKED, b"zz\r\nabc\r\n0\r\n\r\n"), GarbledResponse),
    "endless chunks": (forever(CHUNKED, b"1\r\na\r\n"), GarbledResponse),
    "endless chunk size line": (forever(CHUNKED, b"1" * 1024), GarbledResponse),
    "huge chunk": (forever(CHUNKED + b"ffffffffffff\r\n", b"a" * 1024), GarbledResponse),
    "endless trailers": (forever(CHUNKED + b"0\r\n", b"X-Trailer: 1\r\n"), GarbledResponse),
    "chunk cut short": (close_after(CHUNKED + b"10\r\nabc"), NetworkError),
    "length above the cap": (
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n"),
        GarbledResponse,
    ),
    "length lie, held open": (
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", b"short"),
        BureauTimeout,
    ),
    "length lie, then closed": (
        close_after(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort"),
        NetworkError,
    ),
    "length not a number, held open": (
        answer(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", b"x"),
        BureauTimeout,
    ),
    "reset mid-headers": (reset_after(b"HTTP/1.1 200 OK\r\nContent-Le"), NetworkError),
    "server error": (answer(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"), ServerError),
}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[type[HostileServer]]:
    servers: list[HostileServer] = []

    class Started(HostileServer):
        def __init__(self, behaviour: Behaviour) -> None:
            super().__init__(tmp_path / "tls", behaviour)
            servers.append(self)

    yield Started
    for server in servers:
        server.close()


def _client(server: HostileServer, ca_bundle: Path | None = None) -> BureauClient:
    config = BureauConfig(
        endpoints=EndpointTable.per_authority(server.url),
        ca_bundle=ca_bundle or server.ca_bundle,
        bureau_public_key=SimTaxpayerDevice(3).point,
        connect_timeout=READ_S,
        read_timeout=READ_S,
        attempt_timeout=ATTEMPT_S,
        max_response_bytes=MAX_ANSWER,
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, deadline=10.0),
    )
    return BureauClient(config)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_hostile_server_ends_typed_within_the_attempt_deadline(
    start: type[HostileServer], case: str
) -> None:
    behaviour, expected = CASES[case]
    server = start(behaviour)
    device = SimTaxpayerDevice(3)
    started = time.monotonic()
    with _client(server) as client, pytest.raises(BureauError) as caught:
        client.handshake(device.identity, device.certificate, device.sign)
    took = time.monotonic() - started
    assert expected in TRANSIENT_ERRORS or issubclass(expected, TRANSIENT_ERRORS)
    # Transient: tried again, once per attempt allowed, each bounded by the attempt deadline.
    assert isinstance(caught.value, BureauUnavailable), caught.value
    assert isinstance(caught.value.last, expected), caught.value.last
    assert caught.value.attempts == 2 and client.attempts == 2
    assert server.connections == 2  # a broken connection is never reused
    assert took < 2 * ATTEMPT_S + MARGIN_S, took


@pytest.mark.parametrize(
    "case", ["accepts and never speaks", "slow TLS handshake", "slow status line", "slow headers"]
)
def test_one_attempt_stops_at_its_deadline(start: type[HostileServer], case: str) -> None:
    behaviour, expected = CASES[case]
    server = start(behaviour)
    transport = Transport(server.ca_bundle, MAX_ANSWER)
    started = time.monotonic()
    with pytest.raises(expected):
        transport.post(f"{server.url}/x", b"<a/>", READ_S, READ_S, time.monotonic() + ATTEMPT_S)
    assert time.monotonic() - started < ATTEMPT_S + MARGIN_S
    transport.close()


def test_a_foreign_certificate_is_not_retried(start: type[HostileServer], tmp_path: Path) -> None:
    server = start(answer(OK_HEAD, b"hello"))
    foreign = ensure_tls(tmp_path / "other", ["127.0.0.1"]).ca_cert
    device = SimTaxpayerDevice(3)
    with _client(server, foreign) as client, pytest.raises(TlsError):
        client.handshake(device.identity, device.certificate, device.sign)
    assert client.attempts == 1


def test_a_missing_ca_bundle_is_a_tls_error(start: type[HostileServer], tmp_path: Path) -> None:
    server = start(answer(OK_HEAD, b"hello"))
    transport = Transport(tmp_path / "no-such-ca.pem", MAX_ANSWER)
    with pytest.raises(TlsError):
        transport.post(f"{server.url}/x", b"<a/>", READ_S, READ_S, time.monotonic() + ATTEMPT_S)


def _keep_alive_then(extra: bytes) -> Behaviour:
    """Answer every request of the connection with "hello", followed once by ``extra``."""

    def behave(peer: TlsPeer) -> None:
        peer.handshake()
        sent_extra = False
        while True:
            peer.read_request()
            peer.send(OK_HEAD + b"hello" + (b"" if sent_extra else extra))
            sent_extra = True

    return behave


def test_a_clean_connection_is_kept_alive(start: type[HostileServer]) -> None:
    server = start(_keep_alive_then(b""))
    transport = Transport(server.ca_bundle, MAX_ANSWER)
    for _ in range(3):
        deadline = time.monotonic() + ATTEMPT_S
        assert transport.post(f"{server.url}/x", b"<a/>", READ_S, READ_S, deadline) == (
            200,
            b"hello",
        )
    assert server.connections == 1
    transport.close()


def test_bytes_beyond_an_answer_never_reach_the_next_one(start: type[HostileServer]) -> None:
    # Content-Length says 5, the server sends more (a whole forged answer): the kept connection
    # is dropped, and the next post reads its own answer on a new one.
    server = start(_keep_alive_then(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"))
    transport = Transport(server.ca_bundle, MAX_ANSWER)
    for _ in range(2):
        deadline = time.monotonic() + ATTEMPT_S
        assert transport.post(f"{server.url}/x", b"<a/>", READ_S, READ_S, deadline) == (
            200,
            b"hello",
        )
    assert server.connections == 2
    transport.close()


def test_a_name_lookup_that_hangs_costs_the_deadline_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # getaddrinfo has no timeout of its own; a resolver that hangs must not hold the attempt.
    release = threading.Event()

    def hanging(*args: object, **kwargs: object) -> list[object]:
        release.wait(10)
        raise OSError("resolver gave up")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    transport = Transport(tmp_path / "ca.pem", MAX_ANSWER)
    started = time.monotonic()
    with pytest.raises(BureauTimeout):
        transport.post(
            "https://bureau.example:443/x", b"<a/>", READ_S, READ_S, time.monotonic() + ATTEMPT_S
        )
    assert time.monotonic() - started < ATTEMPT_S + MARGIN_S
    release.set()
