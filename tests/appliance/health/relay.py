"""A TCP relay between a box and the broker that can cut the network without closing it.

``blackhole()`` stops forwarding in both directions while every socket stays open, as a 4G link
that died does: neither side sees a FIN or a RST, only silence, until a keepalive notices.
``restore()`` forwards again (for new connections; the old ones stay dead, as on the road).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Relay:
    """Listens on 127.0.0.1:<port> and relays to ``target``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def blackhole(self) -> None:
        """Drop everything from now on, and kill the connections there are (silently)."""
        self._open.clear()

    def restore(self) -> None:
        """Forward new connections again; connections made during the black hole stay dead."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.close()
        self._open.set()

    def close(self) -> None:
        """Stop everything."""
        self._closing.set()
        self._listener.close()
        self.restore()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            if not self._open.is_set():
                # A connection attempt into the black hole: accepted, then never answered.
                with self._lock:
                    self._pairs.append((client, client))
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not self._open.is_set():
                    continue  # swallowed by the black hole
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
