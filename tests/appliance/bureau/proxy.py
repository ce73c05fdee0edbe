"""A fault-injecting TCP proxy for the bureau tests: resets and black holes in mid-answer.

It relays bytes between the client and the simulator without decrypting them, and reads only
the TLS record headers (5 bytes: type, version, length) to know where it is. The simulator sends
no TLS 1.3 session tickets, so once the client has sent application data beyond its Finished
message, the server's records are HTTP answers, two each: status line and headers, then the
body. ``reset`` relays the first and half of the second, then closes the client's socket with a
TCP RST; ``blackhole`` relays as much and then nothing more; ``refuse`` resets a new connection
at once. Faults are queued and each strikes the next answer (or connection) it fits.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

_APPLICATION_DATA = 23
_HOLD_SECONDS = 30.0


class FaultProxy:
    """Listens on 127.0.0.1:<port> and relays to ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._faults: list[str] = []
        self.connections = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def inject(self, kind: str, count: int = 1) -> None:
        """Queue ``kind`` for the next ``count`` answers (reset, blackhole) or connections."""
        assert kind in ("reset", "blackhole", "refuse")
        with self._lock:
            self._faults.extend([kind] * count)

    def close(self) -> None:
        """Stop accepting and end every relay."""
        self._stopping.set()
        self._listener.close()
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            if self._next_fault(("refuse",)):
                _reset(client)
                continue
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _relay(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        with self._lock:
            self._sockets.update((client, server))
        sent_by_client = _RecordCounter()
        upstream = threading.Thread(
            target=self._pump_up, args=(client, server, sent_by_client), daemon=True
        )
        upstream.start()
        try:
            self._pump_down(server, client, sent_by_client)
        finally:
            with contextlib.suppress(OSError):
                server.close()
            with contextlib.suppress(OSError):
                client.close()
            upstream.join(timeout=5)
            with self._lock:
                self._sockets.difference_update((client, server))

    def _pump_up(
        self, client: socket.socket, server: socket.socket, counter: _RecordCounter
    ) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                counter.feed(data)
                server.sendall(data)
            server.shutdown(socket.SHUT_WR)

    def _pump_down(
        self, server: socket.socket, client: socket.socket, sent: _RecordCounter
    ) -> None:
        answer_records = 0
        fault = ""
        with contextlib.suppress(OSError):
            for kind, record in _records(server, self._stopping):
                # The client's first application-data record is its Finished message; once a
                # second one went out, everything the server sends is answers, two records each
                # (status line and headers, then the body).
                if sent.application_records >= 2 and kind == _APPLICATION_DATA:
                    answer_records += 1
                    if answer_records % 2 == 1:
                        fault = self._next_fault(("reset", "blackhole"))
                    elif fault:
                        client.sendall(record[: len(record) // 2])
                        if fault == "reset":
                            _reset(client)
                        else:
                            self._stopping.wait(_HOLD_SECONDS)
                        return
                client.sendall(record)

    def _next_fault(self, kinds: tuple[str, ...]) -> str:
        with self._lock:
            if self._faults and self._faults[0] in kinds:
                return self._faults.pop(0)
        return ""


class _RecordCounter:
    """Counts whole TLS application-data records in a byte stream fed piece by piece."""

    def __init__(self) -> None:
        self.application_records = 0
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 5:
            kind, _, length = struct.unpack(">BHH", self._buffer[:5])
            if len(self._buffer) < 5 + length:
                return
            self.application_records += kind == _APPLICATION_DATA
            self._buffer = self._buffer[5 + length :]


def _records(sock: socket.socket, stopping: threading.Event) -> Iterator[tuple[int, bytes]]:
    """Yield (type, bytes) of each whole TLS record the socket delivers."""
    buffer = b""
    while not stopping.is_set():
        data = sock.recv(65536)
        if not data:
            return
        buffer += data
        while len(buffer) >= 5:
            kind, _, length = struct.unpack(">BHH", buffer[:5])
            if len(buffer) < 5 + length:
                break
            yield kind, buffer[: 5 + length]
            buffer = buffer[5 + length :]


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (linger 0) rather than a FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
