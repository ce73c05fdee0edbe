"""One client connection of the server: its outgoing buffer, subscription, requests and activity."""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
import termios
import time
from collections import Counter

_LOGGER = logging.getLogger(__name__)

# A subscriber that had read everything this recently counts as reading now: the line sent a
# moment ago may simply not have been read yet.
READ_GRACE_S = 1.0


def _peer_of(sock: socket.socket | None) -> tuple[int, int]:
    """Return (uid, pid) of the process on the other end of a Unix socket ((-1, -1) unknown)."""
    if sock is None:
        return (-1, -1)
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return (-1, -1)
    pid, uid, _ = struct.unpack("3i", raw)
    return (uid, pid)


def _queued_bytes(sock: socket.socket | None, request: int) -> int:
    """Return what the kernel holds for a Unix socket: unread by the peer, or by us."""
    if sock is None:
        return 0
    count = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), request, count, True)
    except (OSError, ValueError):
        return 0
    return count[0]


class Connection:
    """The server's side of one client: writes to it, what it subscribed to, how active it is.

    Replies wait while the client is slow to read (only that client's own requests wait). Events
    never wait: an event that would push the outgoing buffer past ``max_buffered`` bytes closes
    the connection instead, so one stalled subscriber can neither block :meth:`ApiServer.publish`
    nor make the daemon buffer without bound.

    *Activity* decides which connection gives way when every slot is taken and which ones the
    idle timeout closes: a complete request received, or, for a subscriber, having read all it
    was sent. Bytes that never make a line (a slow-loris client) are not activity. A connection
    that misbehaves (lines that are not requests, a line left half sent, replies left unread)
    gives way before any that does not, however recently it was active; and a user or a
    process holding many connections gives way before one holding few, so a flood from one
    process cannot push out the kiosk's two connections or the CLI's one.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        name: str,
        max_buffered: int,
        max_in_flight: int,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.name = name
        self.max_buffered = max_buffered
        # Taken before a request is dispatched and given back after its reply is written, so a
        # client piling up requests without reading replies stops being read from.
        self.slots = asyncio.Semaphore(max_in_flight)
        self.requests: set[asyncio.Task[None]] = set()
        self.started: set[asyncio.Task[None]] = set()  # requests past their first step
        self.running = 0  # business handlers running for this client now
        self.subscribed = False
        self.topics: frozenset[str] | None = None
        self.dropped = False
        self.leaving = False  # the server closed it: nothing more is read or run
        self.misbehaved = False  # it sent a line that was not a request
        self.partial = 0  # bytes of an unfinished line the server holds for it
        now = time.monotonic()
        self.connected_at = now
        self.last_request = now  # the last complete request read (or the connection's start)
        self.last_sent = now  # the last line written to it
        self.caught_up = now  # the last time it had read everything it was sent
        self._socket: socket.socket | None = writer.get_extra_info("socket")
        self.uid, self.pid = _peer_of(self._socket)

    @property
    def closing(self) -> bool:
        """Return whether the connection is closed or closing."""
        return self.leaving or self.writer.transport.is_closing()

    # -- subscription ------------------------------------------------------------------------

    def subscribe(self, topics: frozenset[str] | None) -> None:
        """Receive events of ``topics`` from now on (None: every event)."""
        self.subscribed = True
        self.topics = topics

    def unsubscribe(self) -> None:
        """Receive no more events."""
        self.subscribed = False
        self.topics = None

    def wants(self, event_type: str) -> bool:
        """Return whether an event of ``event_type`` goes to this connection."""
        return self.subscribed and (self.topics is None or event_type in self.topics)

    # -- activity ----------------------------------------------------------------------------

    def unread(self) -> int:
        """Return the bytes sent to the client that it has not read yet (ours and the kernel's)."""
        if self.writer.transport.is_closing():
            return 0
        buffered = self.writer.transport.get_write_buffer_size()
        return buffered + _queued_bytes(self._socket, termios.TIOCOUTQ)

    def pending_input(self) -> bool:
        """Return whether the client sent something the server has not acted on yet."""
        # StreamReader keeps what the transport read in ``_buffer``; no public accessor exists.
        buffered = len(getattr(self.reader, "_buffer", b""))
        queued = len(self.requests - self.started)
        return bool(buffered or queued or _queued_bytes(self._socket, termios.FIONREAD))

    def observe(self, now: float) -> None:
        """Note the moment if the client has read everything it was sent."""
        if self.unread() == 0:
            self.caught_up = now

    def activity(self, now: float) -> float:
        """Return when the client was last seen active (``now`` if it is right now)."""
        if self.pending_input():
            return now
        if self.subscribed:
            self.observe(now)
            if now - self.caught_up < READ_GRACE_S:
                return now
            return max(self.caught_up, self.last_request)
        return self.last_request

    def well_behaved(self) -> bool:
        """Return whether the client speaks the protocol and reads what it is answered."""
        if self.misbehaved or self.partial:
            return False
        return self.subscribed or self.unread() == 0

    def rank(
        self, now: float, held: Counter[tuple[str, int]]
    ) -> tuple[bool, int, int, float, float]:
        """Return the order in which connections give way, lowest first.

        ``held`` counts the connections of each ``("uid", n)`` and ``("pid", n)``.
        """
        return (
            self.well_behaved(),
            -held["uid", self.uid],
            -held["pid", self.pid],
            self.activity(now),
            self.connected_at,
        )

    # -- writing -----------------------------------------------------------------------------

    def send_event(self, line: bytes) -> bool:
        """Queue an event line without waiting; on overflow drop the connection, return False."""
        if self.closing:
            return False
        transport = self.writer.transport
        if transport.get_write_buffer_size() + len(line) > self.max_buffered:
            _LOGGER.warning(
                "%s: dropped, %d bytes of events waiting unread",
                self.name,
                transport.get_write_buffer_size(),
            )
            self.dropped = True
            # abort, not close: close would keep the unread backlog until it is flushed.
            transport.abort()
            return False
        transport.write(line)
        self.last_sent = time.monotonic()
        return True

    async def send(self, line: bytes) -> None:
        """Write a reply line, waiting while the client is slow to read it."""
        if self.closing:
            return
        self.writer.write(line)
        self.last_sent = time.monotonic()
        await self.writer.drain()

    def leave(self, line: bytes) -> None:
        """Close with a last line; never waits: a client that does not read gets no line."""
        if self.leaving:
            return
        self.leaving = True
        for request in self.requests - self.started:
            request.cancel()  # never started: the goodbye line says it did not run
        transport = self.writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() == 0:
            transport.write(line)
        if transport.get_write_buffer_size() == 0:
            self.writer.close()
        else:
            transport.abort()

    def close(self) -> None:
        """Close the connection, flushing what is buffered."""
        with contextlib.suppress(RuntimeError):  # the loop is already closing
            self.writer.close()
