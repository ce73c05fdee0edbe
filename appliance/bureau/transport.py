"""One HTTPS POST to the bureau, bounded whole by the attempt's deadline, every failure typed.

Every step of an attempt waits at most until the attempt's deadline, and no single wait longer
than the read timeout: the name lookup, the TCP connect (each address), the TLS handshake (run
non-blocking, one wait per flight of records), sending the request, the status line, the
headers and the body. A bureau that answers one byte a second, at any point, cannot hold the
box past the deadline. The bytes of one answer are capped too, headers and chunk framing
included, so endless headers, endless 1xx answers or endless chunks end as soon as the cap is
crossed. TLS is always verified against the configured CA bundle; nothing is read from the
environment (proxies, CA paths), and nothing is retried here: retrying is the client's decision,
made by error type.

HTTP itself is parsed by :mod:`http.client` (status line, header lines of at most 64 KiB, at
most 100 headers, chunked and length-delimited bodies) on a socket that enforces the above. A
keep-alive connection is kept between posts while the bureau answers cleanly.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import ipaddress
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appliance.bureau.errors import (
    BureauError,
    BureauTimeout,
    GarbledResponse,
    NetworkError,
    ServerError,
    TlsError,
)

_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    # No compression: a compressed answer could expand far beyond the size cap.
    "Accept-Encoding": "identity",
    "User-Agent": "QingKaBox/1",
}
# What an answer may spend on its status line, headers and chunk framing on top of the body's
# cap: a bureau's headers are a few hundred bytes.
HEADER_ALLOWANCE = 64 * 1024
_SEND_CHUNK = 16 * 1024


class _OutOfTime(TimeoutError):
    """The attempt's deadline passed (or one wait ran past the read timeout)."""


class _TooLarge(Exception):
    """The answer, framing included, crossed its byte cap."""


class _Budget:
    """The time and bytes one exchange may still spend."""

    def __init__(
        self, deadline: float, wait_s: float, max_bytes: int, monotonic: Callable[[], float]
    ) -> None:
        self.deadline = deadline
        self.wait_s = wait_s
        self.bytes_left = max_bytes
        self.monotonic = monotonic

    def left(self) -> float:
        """Return the seconds left before the deadline; :class:`_OutOfTime` if none."""
        left = self.deadline - self.monotonic()
        if left <= 0:
            raise _OutOfTime("the attempt's deadline passed")
        return left

    def wait(self) -> float:
        """Return how long the next single wait may last."""
        return min(self.wait_s, self.left())


class _BoundedSocket:
    """A connected TLS (or plain) socket whose every read and write obeys the current budget.

    :mod:`http.client` uses only ``sendall``, ``makefile`` and ``close`` of its socket.
    """

    def __init__(self, sock: socket.socket, budget: _Budget) -> None:
        self.sock = sock
        self.budget = budget
        # Set when an answer ended with bytes after it already read: the connection is out of
        # step with the bureau and is never used again.
        self.dirty = False
        # http.client closes its connection while the answer is still being read (an answer
        # that ends with the connection): the socket stays open until that reader is done.
        self.readers = 0
        self._close_asked = False

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            self.sock.settimeout(self.budget.wait())
            sent = self.sock.send(view[:_SEND_CHUNK])
            view = view[sent:]

    def recv_into(self, buffer: memoryview) -> int:
        if self.budget.bytes_left <= 0:
            raise _TooLarge("answer above its size cap")
        self.sock.settimeout(self.budget.wait())
        limit = min(len(buffer), self.budget.bytes_left)
        count = self.sock.recv_into(buffer[:limit])
        self.budget.bytes_left -= count
        return count

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        self.readers += 1
        return _Buffered(_Reader(self))

    def reader_closed(self) -> None:
        self.readers -= 1
        if self._close_asked and self.readers <= 0:
            self.force_close()

    def close(self) -> None:
        self._close_asked = True
        if self.readers <= 0:
            self.force_close()

    def force_close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def reusable(self) -> bool:
        """Tell whether the connection is idle: not closed, nothing unasked waiting in it."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        if self.dirty or (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
            return False
        return not readable


class _Reader(io.RawIOBase):
    """The raw byte stream of a :class:`_BoundedSocket`, for a buffered reader."""

    def __init__(self, sock: _BoundedSocket) -> None:
        self.sock = sock
        self.probing = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if self.probing:
            return None  # "nothing available now": never touch the socket while probing
        return self.sock.recv_into(memoryview(buffer).cast("B"))


class _Buffered(io.BufferedReader):
    """The reader of one answer; on close it notes bytes read beyond the answer's end."""

    def close(self) -> None:
        raw = self.raw
        if not self.closed and isinstance(raw, _Reader):
            raw.probing = True
            try:
                if self.peek(1):
                    raw.sock.dirty = True
            except (OSError, ValueError):
                raw.sock.dirty = True
            super().close()
            raw.sock.reader_closed()
            return
        super().close()


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a socket this module connected and bounds."""

    def __init__(self, host: str, port: int, bounded: _BoundedSocket) -> None:
        super().__init__(host, port)
        self.sock = bounded
        self.bounded = bounded

    def connect(self) -> None:
        # Never reconnect behind the transport's back (http.client would, with no bound).
        raise http.client.NotConnected("connection already closed")


class Transport:
    """HTTPS posts to the bureau over one kept-alive connection."""

    def __init__(
        self,
        ca_bundle: Path,
        max_response_bytes: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ca_bundle = str(ca_bundle)
        self.max_response_bytes = max_response_bytes
        self.monotonic = monotonic
        self._context: ssl.SSLContext | None = None
        self._idle: tuple[tuple[str, str, int], _Connection] | None = None
        self.connections = 0  # connections opened: for diagnostics and tests

    def close(self) -> None:
        """Close the kept connection."""
        if self._idle is not None:
            self._idle[1].close()
            self._idle[1].bounded.force_close()
            self._idle = None

    def post(
        self, url: str, body: bytes, connect_timeout: float, read_timeout: float, deadline: float
    ) -> tuple[int, bytes]:
        """POST ``body``; return (HTTP status, answer bytes) for any status below 500.

        Ends by ``deadline`` (monotonic) whatever the bureau does, with a
        :class:`~appliance.bureau.errors.BureauError`.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise NetworkError(f"{url} is not an http(s) address")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise NetworkError(f"{url} has a bad port") from None
        origin = (parts.scheme, parts.hostname, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        budget = _Budget(
            deadline,
            max(read_timeout, 0.001),
            self.max_response_bytes + HEADER_ALLOWANCE,
            self.monotonic,
        )
        connection: _Connection | None = None
        keep = False
        try:
            connection = self._reuse(origin, budget)
            if connection is None:
                connection = self._open(origin, connect_timeout, budget)
            status, data, keep = self._exchange(connection, path, body, url)
            return status, data
        except BureauError:
            raise
        except (_OutOfTime, TimeoutError) as exc:
            raise BureauTimeout(f"{url}: no complete answer in time ({exc})") from exc
        except _TooLarge as exc:
            raise GarbledResponse(
                f"{url} answered more than {self.max_response_bytes} B (with headers)"
            ) from exc
        except ssl.SSLError as exc:
            if _certificate_failure(exc):
                raise TlsError(f"{url}: {exc}") from exc
            raise NetworkError(f"TLS connection to {url} failed: {exc}") from exc
        except ssl.CertificateError as exc:
            raise TlsError(f"{url}: {exc}") from exc
        except http.client.IncompleteRead as exc:
            if _chained(exc, ValueError):  # how http.client reports a chunk size not in hex
                raise GarbledResponse(f"{url}: chunk size is not a number") from exc
            raise NetworkError(f"{url}: answer cut short: {exc!r}") from exc
        except http.client.RemoteDisconnected as exc:
            raise NetworkError(f"{url}: closed without an answer: {exc!r}") from exc
        except (http.client.HTTPException, ValueError) as exc:
            # A status line, header or chunk that is not HTTP (ValueError: a bad chunk size).
            raise GarbledResponse(f"{url}: the answer is not readable HTTP: {exc!r}") from exc
        except OSError as exc:
            raise NetworkError(f"{url}: {exc}") from exc
        finally:
            if connection is not None:
                if keep:
                    self._idle = (origin, connection)
                else:
                    connection.close()
                    connection.bounded.force_close()

    # -- connecting ----------------------------------------------------------------------------

    def _reuse(self, origin: tuple[str, str, int], budget: _Budget) -> _Connection | None:
        idle, self._idle = self._idle, None
        if idle is None:
            return None
        kept_origin, connection = idle
        if kept_origin != origin or not connection.bounded.reusable():
            connection.close()
            connection.bounded.force_close()
            return None
        connection.bounded.budget = budget
        return connection

    def _open(
        self, origin: tuple[str, str, int], connect_timeout: float, budget: _Budget
    ) -> _Connection:
        scheme, host, port = origin
        sock = _connect(host, port, connect_timeout, budget)
        try:
            if scheme == "https":
                sock = _handshake(self._tls(), sock, host, budget)
        except BaseException:
            sock.close()
            raise
        self.connections += 1
        return _Connection(host, port, _BoundedSocket(sock, budget))

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            try:
                context = ssl.create_default_context(cafile=self.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise TlsError(f"cannot load the CA bundle {self.ca_bundle}: {exc}") from exc
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._context = context
        return self._context

    # -- one request and its answer ------------------------------------------------------------

    def _exchange(
        self, connection: _Connection, path: str, body: bytes, url: str
    ) -> tuple[int, bytes, bool]:
        """Return (status, body, whether the connection can be kept)."""
        headers = dict(_HEADERS)
        headers["Content-Length"] = str(len(body))
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        if response.status >= 500:
            raise ServerError(f"{url} answered HTTP {response.status}")
        declared = response.length
        if declared is not None and declared > self.max_response_bytes:
            raise GarbledResponse(
                f"{url} announced {declared} bytes, above the cap of {self.max_response_bytes}"
            )
        data = response.read(self.max_response_bytes + 1)
        if len(data) > self.max_response_bytes:
            raise GarbledResponse(f"{url} answered more than {self.max_response_bytes} B")
        if declared is not None and len(data) != declared:
            raise NetworkError(f"{url}: answer of {len(data)} bytes, {declared} announced")
        keep = response.isclosed() and not response.will_close
        return response.status, data, keep


def _resolve(host: str, port: int, budget: _Budget) -> list[tuple[Any, ...]]:
    """Return the addresses of ``host``; a lookup that hangs costs the deadline, no more."""
    with contextlib.suppress(ValueError):
        address = ipaddress.ip_address(host)
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    found: list[list[tuple[Any, ...]]] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)

    # getaddrinfo has no timeout of its own: it runs aside, and an answer after the deadline
    # is dropped with the thread.
    worker = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(budget.left())
    if failed:
        raise failed[0]
    if not found:
        raise _OutOfTime(f"looking up {host} took too long")
    return found[0]


def _connect(host: str, port: int, connect_timeout: float, budget: _Budget) -> socket.socket:
    last: OSError | None = None
    for family, kind, proto, _, address in _resolve(host, port, budget):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(min(connect_timeout, budget.left()))
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
            if isinstance(exc, TimeoutError):
                budget.left()  # out of time: stop here rather than try the next address
    if last is None:
        raise NetworkError(f"{host} has no address")
    raise last


def _handshake(
    context: ssl.SSLContext, sock: socket.socket, host: str, budget: _Budget
) -> ssl.SSLSocket:
    """Run the TLS handshake without blocking, waiting at most ``budget.wait()`` each time."""
    # A TCP close without TLS's close_notify is an error, not the end of the answer: a cut
    # connection must not pass for a complete (shorter) answer.
    tls = context.wrap_socket(
        sock, server_hostname=host, do_handshake_on_connect=False, suppress_ragged_eofs=False
    )
    tls.setblocking(False)
    while True:
        try:
            tls.do_handshake()
            return tls
        except ssl.SSLWantReadError:
            readable, _, _ = select.select([tls], [], [], budget.wait())
            if not readable:
                raise _OutOfTime("TLS handshake stalled") from None
        except ssl.SSLWantWriteError:
            _, writable, _ = select.select([], [tls], [], budget.wait())
            if not writable:
                raise _OutOfTime("TLS handshake stalled") from None


def _chained(exc: BaseException, kind: type[BaseException]) -> bool:
    """Tell whether ``kind`` is among the causes and contexts ``exc`` was raised from."""
    seen: set[int] = set()
    item: BaseException | None = exc
    while item is not None and id(item) not in seen:
        if isinstance(item, kind):
            return True
        seen.add(id(item))
        item = item.__cause__ or item.__context__
    return False


def _certificate_failure(exc: BaseException) -> bool:
    """Tell whether an SSL error is a failed certificate check rather than a broken link."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError | ssl.CertificateError):
            return True
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        pending.extend(item.args)
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)
