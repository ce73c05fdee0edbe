"""The simulated bureau's HTTPS server: one ``/<authority>/service`` URL per tax authority.

A thread per connection, keep-alive, TLS done in that thread (a client that connects and then
stalls holds up nobody else). Bodies are capped before they are read; anything that is not a
request the bureau can read still gets the bureau's kind of answer (a signed envelope with
报文非法), and injected faults (``faults.py``) are applied on the way out.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from appliance.bureau import codes
from appliance.bureau.endpoints import AUTHORITIES
from appliance.bureau.envelope import MAX_ENVELOPE
from simulators.bureau.faults import Fault, FaultBoard
from simulators.bureau.service import BureauService

_log = logging.getLogger(__name__)
TLS_HANDSHAKE_SECONDS = 10.0
# A thread per connection: the cap keeps a flood of connections from exhausting threads or
# memory. Far above what the fleet-scale tests open at once.
MAX_CONNECTIONS = 1024
# A keep-alive connection idle this long is closed; also bounds a client sending its body
# byte by byte.
IDLE_SECONDS = 30.0
# How much of a refused oversized body is read and dropped before closing, and for how long.
_DRAIN_BYTES = 1024 * 1024
_DRAIN_SECONDS = 2.0
_PATH = re.compile(r"/([a-z]{2,20})/service")
_AUTHORITY_BY_NAME = {name: prefix for prefix, (name, _) in AUTHORITIES.items()}
# Enough of the envelope to find the service id for fault matching, without parsing it twice.
_SERVICE_ID = re.compile(rb"<serviceId>([A-Z_]{1,32})</serviceId>")


class Stats:
    """Requests received per service id, for the admin API and the tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, service: str) -> None:
        """Count one request."""
        with self._lock:
            self._counts[service] += 1

    def snapshot(self) -> dict[str, int]:
        """Return the counts so far."""
        with self._lock:
            return dict(self._counts)


class BureauServer(ThreadingHTTPServer):
    """HTTPS server of the simulated bureau."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        tls: ssl.SSLContext,
        service: BureauService,
        faults: FaultBoard,
        stats: Stats,
    ) -> None:
        self.tls = tls
        self.service = service
        self.faults = faults
        self.stats = stats
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, BureauHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, if a slot is free; else close it."""
        if not self._slots.acquire(blocking=False):
            _log.warning("connection from %s refused: %d open", client_address, MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Run TLS and then HTTP on an accepted connection (in its own thread)."""
        try:
            request.settimeout(TLS_HANDSHAKE_SECONDS)
            try:
                connection = self.tls.wrap_socket(request, server_side=True)
            except OSError as exc:  # ssl.SSLError is an OSError: a failed TLS handshake
                _log.debug("TLS handshake with %s failed: %s", client_address, exc)
                return
            try:
                connection.settimeout(IDLE_SECONDS)
                BureauHandler(connection, client_address, self)
            except OSError as exc:
                _log.debug("connection with %s ended: %s", client_address, exc)
            finally:
                connection.close()
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failure of one connection; the server carries on."""
        _log.exception("request from %s failed", client_address)


class BureauHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; POST carries the envelopes."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK, 40 ms per answer.
    disable_nagle_algorithm = True
    server_version = "BureauSim/1"
    sys_version = ""
    server: BureauServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log through ``logging`` (quiet unless debugging) instead of stderr."""
        _log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        """Answer the health check; nothing else is served by GET."""
        if self.path == "/health":
            self._plain(200, b"ok\n")
        else:
            self._plain(404, b"not found\n")

    def do_POST(self) -> None:
        """Answer one envelope."""
        match = _PATH.fullmatch(self.path)
        authority = _AUTHORITY_BY_NAME.get(match.group(1)) if match else None
        if authority is None:
            self._plain(404, b"no such service\n", close=True)
            return
        if "Transfer-Encoding" in self.headers:
            self._plain(411, b"a Content-Length is required\n", close=True)
            return
        declared = self.headers.get("Content-Length", "")
        if not declared.isdigit():
            self._plain(411, b"a Content-Length is required\n", close=True)
            return
        length = int(declared)
        if length > MAX_ENVELOPE:
            # Refused unread: reading it would let a client make the bureau buffer anything.
            answer = self.server.service.unread(codes.MESSAGE_TOO_LARGE, f"{length} bytes")
            self._send(413, answer, close=True)
            self._discard(length)
            return
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True
            return
        found = _SERVICE_ID.search(data)
        service_id = found.group(1).decode() if found else ""
        self.server.stats.count(service_id or "?")
        fault = self.server.faults.take(service_id)
        if fault is not None and fault.kind == "http-error":
            self._plain(fault.status, b"<html><body>Service Unavailable</body></html>\n")
            return
        forced = codes.COMMUNICATION_ERROR if fault and fault.kind == "comm-error" else ""
        answer = self.server.service.handle(data, authority, forced)
        self._deliver(answer, fault)

    def _discard(self, length: int) -> None:
        """Read and drop what a refused client is still sending, within bounds.

        Closing a socket with unread data makes the kernel send a reset, which could destroy
        the refusal before the client reads it; a short lingering read avoids that.
        """
        remaining = min(length, _DRAIN_BYTES)
        deadline = time.monotonic() + _DRAIN_SECONDS
        self.connection.settimeout(_DRAIN_SECONDS)
        try:
            while remaining > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:
            pass

    def _deliver(self, answer: bytes, fault: Fault | None) -> None:
        kind = fault.kind if fault else ""
        if fault is not None and kind == "latency":
            self.server.stopping.wait(fault.latency_ms / 1000)
        if fault is not None and kind == "blackhole":
            self.server.stopping.wait(fault.hold_s)
            self.close_connection = True
            return
        if kind == "garble":
            answer = _garble(answer)
        if kind not in ("reset", "truncate", "trickle"):
            self._send(200, answer)
            return
        self._headers(200, len(answer), close=True)
        half = answer[: len(answer) // 2]
        if kind == "reset":
            self.wfile.write(half)
            self.wfile.flush()
            # Linger 0 makes close() send a TCP RST instead of a FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif kind == "truncate":
            self.wfile.write(half)
            self.wfile.flush()
        elif fault is not None:
            for start in range(0, len(answer), fault.chunk):
                self.wfile.write(answer[start : start + fault.chunk])
                self.wfile.flush()
                if self.server.stopping.wait(fault.interval_ms / 1000):
                    break

    def _headers(self, status: int, length: int, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send(self, status: int, body: bytes, close: bool = False) -> None:
        self._headers(status, len(body), close)
        self.wfile.write(body)

    def _plain(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def _garble(answer: bytes) -> bytes:
    """Corrupt an answer the way a broken middlebox might: bytes overwritten mid-document."""
    middle = len(answer) // 2
    return answer[:middle] + b"\xff\x00<<garbled>>\x00" + answer[middle + 16 :]


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """Return the server's TLS context (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    # No TLS 1.3 session tickets: no client resumes sessions, and without them everything the
    # server sends after the handshake is HTTP, which keeps faults at the TCP level exact.
    context.num_tickets = 0
    return context
