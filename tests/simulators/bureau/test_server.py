"""The simulator's HTTPS server against bad input: the real kind of answer, and it stays up."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from appliance.bureau import codes, envelope, messages
from appliance.bureau.envelope import Envelope, Header
from simulators.bureau import BureauProcess, BureauSimulator
from simulators.bureau.server import BureauServer
from tests.simulators.bureau.sim_taxpayer import SimTaxpayerDevice

DEVICE = SimTaxpayerDevice(0)


def _address(bureau: BureauProcess) -> tuple[str, int]:
    parts = urlsplit(bureau.ready.url)
    return parts.hostname or "127.0.0.1", parts.port or 443


def _connection(bureau: BureauProcess) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(bureau.ready.ca_cert))
    host, port = _address(bureau)
    return http.client.HTTPSConnection(host, port, context=context, timeout=10)


def _post(
    bureau: BureauProcess, body: bytes, path: str = "/hubei/service", **headers: str
) -> tuple[int, bytes]:
    connection = _connection(bureau)
    try:
        connection.request("POST", path, body, {"Content-Type": "text/xml", **headers})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _answer_code(data: bytes) -> str:
    return envelope.decode(data, answer=True).code


def _request() -> bytes:
    header = Header(
        messages.COMPANY_INFO,
        DEVICE.taxpayer_id,
        DEVICE.identity.device_no,
        "2026-11-05T10:00:00",
        "e" * 32,
    )
    return envelope.encode(Envelope(header, messages.encode(messages.CompanyInfoQuery())))


def _alive(bureau: BureauProcess) -> None:
    connection = _connection(bureau)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b"ok\n"
    connection.close()
    assert bureau.process.poll() is None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml at all", codes.ILLEGAL_MESSAGE),
        (b"<business version='1'><identity>", codes.ILLEGAL_MESSAGE),
        (b"\xff\xfe<\x00b\x00", codes.ILLEGAL_MESSAGE),
        (
            b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><business>&b;</business>',
            codes.ILLEGAL_MESSAGE,
        ),
        (
            b'<!DOCTYPE business [<!ENTITY x SYSTEM "file:///etc/passwd">]><business>&x;</business>',
            codes.ILLEGAL_MESSAGE,
        ),
        (b"", codes.ILLEGAL_MESSAGE),
    ],
)
def test_malformed_xml_gets_illegal_message(bureau: BureauProcess, body: bytes, code: str) -> None:
    status, data = _post(bureau, body)
    assert status == 200 and _answer_code(data) == code
    _alive(bureau)


def test_wrong_digest(bureau: BureauProcess) -> None:
    request = _request()
    digest = envelope.decode(request, answer=False).digest.encode()
    status, data = _post(bureau, request.replace(digest, b"0" * 64))
    answer = envelope.decode(data, answer=True)
    assert status == 200 and answer.code == codes.ILLEGAL_MESSAGE
    assert answer.header.business_id == "e" * 32


def test_a_readable_request_without_session(bureau: BureauProcess) -> None:
    status, data = _post(bureau, _request())
    assert status == 200 and _answer_code(data) == codes.SESSION_INVALID


def test_oversized_body_is_refused_unread(bureau: BureauProcess) -> None:
    started = time.monotonic()
    status, data = _post(bureau, b"x" * (envelope.MAX_ENVELOPE + 1))
    assert status == 413 and _answer_code(data) == codes.MESSAGE_TOO_LARGE
    # Announcing a huge body without sending it is refused at once, not waited for.
    host, port = _address(bureau)
    context = ssl.create_default_context(cafile=str(bureau.ready.ca_cert))
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"POST /hubei/service HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n")
        head = tls.recv(65536)
    assert head.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5
    _alive(bureau)


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/hubei/service", {"Transfer-Encoding": "chunked"}, 411),
        ("/atlantis/service", {}, 404),
        ("/hubei/other", {}, 404),
    ],
)
def test_http_level_refusals(
    bureau: BureauProcess, path: str, headers: dict[str, str], status: int
) -> None:
    connection = _connection(bureau)
    if headers:
        connection.putrequest("POST", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        connection.send(b"5\r\nhello\r\n0\r\n\r\n")
    else:
        connection.request("POST", path, b"<x/>")
    assert connection.getresponse().status == status
    connection.close()
    _alive(bureau)


def test_garbage_instead_of_tls_and_half_requests(bureau: BureauProcess) -> None:
    host, port = _address(bureau)
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
        with contextlib.suppress(OSError):  # a TLS alert, a reset or a close: all fine
            raw.recv(1024)
    context = ssl.create_default_context(cafile=str(bureau.ready.ca_cert))
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(b"POST /hubei/service HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<bus")
    _alive(bureau)


def test_many_bad_requests_in_a_row_on_one_connection(bureau: BureauProcess) -> None:
    connection = _connection(bureau)
    for body in (b"<a/>", _request(), b"\x00" * 100, _request()):
        connection.request("POST", "/hubei/service", body)
        response = connection.getresponse()
        assert response.status == 200
        assert _answer_code(response.read()) in (codes.ILLEGAL_MESSAGE, codes.SESSION_INVALID)
    connection.close()
    _alive(bureau)


def test_in_process_simulator_caps_open_connections(tmp_path: Path) -> None:
    simulator = BureauSimulator(tmp_path, now=datetime(2026, 11, 5, 10))
    ready = simulator.start()
    try:
        server = simulator.servers[0]
        assert isinstance(server, BureauServer)
        slots = threading.BoundedSemaphore(1)
        server._slots = slots
        parts = urlsplit(ready.url)
        address = (parts.hostname or "", parts.port or 0)
        slots.acquire()  # every slot taken, as by a connection still open
        with (
            socket.create_connection(address, timeout=5) as refused,
            contextlib.suppress(ConnectionResetError),
        ):
            assert refused.recv(1) == b""  # closed at once
        slots.release()
        context = ssl.create_default_context(cafile=str(ready.ca_cert))
        connection = http.client.HTTPSConnection(*address, context=context, timeout=5)
        connection.request("GET", "/health")
        assert connection.getresponse().read() == b"ok\n"  # the slot came back
        connection.close()
    finally:
        simulator.stop()
    assert not (tmp_path / "ready.json").exists()
