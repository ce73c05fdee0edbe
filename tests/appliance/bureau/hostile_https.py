"""Hostile HTTPS servers with a throwaway CA: real TLS, misbehaving at the byte level.

TLS runs over memory BIOs in the server's thread, so every byte the server sends, handshake
included, can be paced: one byte at a time, one TLS record per byte for plaintext. Each server
holds a connection at most ``hold_s`` (so a client that would wait for ever fails a test rather
than hanging it) and closes everything on :meth:`HostileServer.close`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from pathlib import Path

from simulators.bureau.tls import ensure_tls


class Closed(Exception):
    """The client went away, or the server is stopping."""


class TlsPeer:
    """The server's side of one TLS connection, driven byte by byte."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=True)

    def pause(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Closed("server stopping")

    def raw_send(self, data: bytes, pace_s: float = 0.0) -> None:
        if not pace_s:
            self.sock.sendall(data)
            return
        for byte in data:
            self.pause(pace_s)
            self.sock.sendall(bytes((byte,)))

    def _flush(self, pace_s: float = 0.0) -> None:
        data = self.outgoing.read()
        if data:
            self.raw_send(data, pace_s)

    def _feed(self) -> None:
        self.sock.settimeout(0.05)
        while True:
            if self.stop.is_set():
                raise Closed("server stopping")
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise Closed("client closed")
            self.incoming.write(data)
            return

    def handshake(self, pace_s: float = 0.0) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush(pace_s)
                self._feed()
        self._flush(pace_s)

    def read_request(self) -> bytes:
        """Return one whole request (headers and Content-Length body)."""
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._read_some()
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += self._read_some()
        return data

    def _read_some(self) -> bytes:
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()

    def send(self, plaintext: bytes, pace_s: float = 0.0) -> None:
        """Send ``plaintext``; paced: one byte per TLS record, ``pace_s`` apart."""
        if not pace_s:
            self.tls.write(plaintext)
            self._flush()
            return
        for byte in plaintext:
            self.pause(pace_s)
            self.tls.write(bytes((byte,)))
            self._flush()

    def send_forever(self, piece: bytes) -> None:
        """Send ``piece`` again and again, as fast as the client takes it, until stopped."""
        self.sock.settimeout(1.0)
        while not self.stop.is_set():
            self.send(piece * 64)

    def reset(self) -> None:
        """Close with a TCP RST."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Behaviour = Callable[[TlsPeer], None]


class HostileServer:
    """Listens on 127.0.0.1; every connection runs ``behaviour`` in a thread of its own."""

    def __init__(self, directory: Path, behaviour: Behaviour, hold_s: float = 5.0) -> None:
        files = ensure_tls(directory, ["127.0.0.1"])
        self.ca_bundle = files.ca_cert
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(files.server_cert, files.server_key)
        self.context.num_tickets = 0
        self.behaviour = behaviour
        self.hold_s = hold_s
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # accept() is not woken by close() from another thread
        self.port: int = self.listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.connections = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        accepter = threading.Thread(target=self._accept, daemon=True)
        accepter.start()
        self._threads.append(accepter)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            self.connections += 1
            self._sockets.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        peer = TlsPeer(sock, self.context, self.stop)
        timer = threading.Timer(self.hold_s, lambda: _shut(sock))
        timer.start()
        try:
            self.behaviour(peer)
            self.stop.wait(self.hold_s)  # hold the connection open; the client decides
        except (Closed, OSError, ssl.SSLError):
            pass
        finally:
            timer.cancel()
            _shut(sock)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        for sock in self._sockets:
            _shut(sock)
        for thread in self._threads:
            thread.join(5)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


# -- behaviours ---------------------------------------------------------------------------------

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\n"


def silent(peer: TlsPeer) -> None:
    """Accept the TCP connection and never say a word (no TLS handshake)."""
    peer.pause(60)


def slow_handshake(pace_s: float) -> Behaviour:
    def behave(peer: TlsPeer) -> None:
        peer.handshake(pace_s)

    return behave


def answer(
    head: bytes, body: bytes = b"", pace_s: float = 0.0, body_pace_s: float = 0.0
) -> Behaviour:
    """Complete the handshake, read the request, then send ``head`` and ``body`` as paced."""

    def behave(peer: TlsPeer) -> None:
        peer.handshake()
        peer.read_request()
        peer.send(head, pace_s)
        peer.send(body, body_pace_s)

    return behave


def forever(head: bytes, piece: bytes) -> Behaviour:
    """Send ``head``, then ``piece`` without end."""

    def behave(peer: TlsPeer) -> None:
        peer.handshake()
        peer.read_request()
        peer.send(head)
        peer.send_forever(piece)

    return behave


def reset_after(head: bytes) -> Behaviour:
    """Send ``head`` (part of an answer), then reset the connection."""

    def behave(peer: TlsPeer) -> None:
        peer.handshake()
        peer.read_request()
        peer.send(head)
        peer.pause(0.05)
        peer.reset()
        raise Closed("reset")

    return behave


def close_after(head: bytes) -> Behaviour:
    """Send ``head`` then close cleanly (TLS close_notify and FIN)."""

    def behave(peer: TlsPeer) -> None:
        peer.handshake()
        peer.read_request()
        peer.send(head)
        with contextlib.suppress(ssl.SSLError):
            peer.tls.unwrap()
        with contextlib.suppress(ssl.SSLError, OSError):
            peer.raw_send(peer.outgoing.read())
        _shut(peer.sock)
        raise Closed("closed")

    return behave
