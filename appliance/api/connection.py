"""One client connection of the server: its outgoing buffer, subscription and requests in flight."""

from __future__ import annotations

import asyncio
import logging

_LOGGER = logging.getLogger(__name__)


class Connection:
    """The server's side of one client: writes to it, and what it subscribed to.

    Replies wait while the client is slow to read (only that client's own requests wait). Events
    never wait: an event that would push the outgoing buffer past ``max_buffered`` bytes closes
    the connection instead, so one stalled subscriber can neither block :meth:`ApiServer.publish`
    nor make the daemon buffer without bound.
    """

    def __init__(
        self, writer: asyncio.StreamWriter, name: str, max_buffered: int, max_in_flight: int
    ) -> None:
        self.writer = writer
        self.name = name
        self.max_buffered = max_buffered
        # Taken before a request is dispatched and given back after its reply is written, so a
        # client piling up requests without reading replies stops being read from.
        self.slots = asyncio.Semaphore(max_in_flight)
        self.requests: set[asyncio.Task[None]] = set()
        self.subscribed = False
        self.topics: frozenset[str] | None = None
        self.dropped = False

    @property
    def closing(self) -> bool:
        """Return whether the connection is closed or closing."""
        return self.writer.transport.is_closing()

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
        return True

    async def send(self, line: bytes) -> None:
        """Write a reply line, waiting while the client is slow to read it."""
        if self.closing:
            return
        self.writer.write(line)
        await self.writer.drain()

    def close(self) -> None:
        """Close the connection, flushing what is buffered."""
        self.writer.close()
