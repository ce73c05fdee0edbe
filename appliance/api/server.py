"""The local API server: JSON-line commands and an event stream on a Unix socket.

The daemon builds one :class:`ApiServer`, registers its business commands, starts it in its
event loop and publishes events from anywhere (worker threads included). Built in are
``subscribe``, ``unsubscribe``, ``ping`` and ``commands``. No request, malformed or not, and no
client, fast or stalled, can stop the server answering the others.

Slots are few and never held for good: a connection that sends no request for
``idle_timeout`` seconds is closed with a last line saying so (a subscriber is exempt while it
reads its events; one that stops reading for ``stall_timeout`` is dropped), and when every slot
is taken a new client gets the slot of the least recently active connection. Only when every
connection is running a command does a newcomer get the typed "busy" answer (A-429).
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import inspect
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from appliance.api.connection import Connection
from appliance.api.errors import (
    CLOSED,
    INTERNAL,
    LINE_TOO_LONG,
    UNKNOWN_COMMAND,
    ApiBusy,
    ApiError,
    ApiUnavailable,
    bad_request,
)
from appliance.api.protocol import (
    MAX_MESSAGE_LINE,
    MAX_REQUEST_LINE,
    LineFramer,
    RequestId,
    TooLong,
    decode,
    encode,
    error_reply,
    is_request_id,
    ok_reply,
)
from appliance.api.schema import NAME_PATTERN, Arg, ArgSchema
from appliance.api.socketfile import bind_listening, remove_if_ours, take_over_stale
from appliance.clock import clock

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]] | Callable[[dict[str, Any]], Any]
_Builtin = Callable[[Connection, dict[str, Any]], Any]

DEFAULT_MODE = 0o660
# The kiosk holds two connections, the CLI one per command, the fleet bridge one or two; 64 is
# far above that and still bounds the memory and descriptors an API flood can take.
MAX_CLIENTS = 64
# A connection without a request this long is closed (subscribers that read are exempt): the
# CLI and the kiosk send a request within milliseconds of connecting, and reconnect at once.
IDLE_TIMEOUT_S = 30.0
# Subscribers hear at least this often, so one that stopped reading shows it (its unread bytes
# grow) even when the box has nothing to tell.
KEEPALIVE_S = 15.0
# A subscriber that has not read what it was sent for this long is dropped.
STALL_TIMEOUT_S = 120.0
# Requests of one connection handled at once; beyond this the server stops reading from it.
MAX_IN_FLIGHT = 8
# Unread event bytes a subscriber may accumulate (on top of the kernel's socket buffer) before
# it is dropped: hundreds of ordinary events, so only a client that stopped reading hits it.
MAX_BUFFERED = 256 * 1024
READ_CHUNK = 64 * 1024

EVENT_PATTERN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
# Keys of the event envelope, set by publish, never by the publisher's fields.
EVENT_KEYS = frozenset({"event", "seq", "at"})
MAX_TOPICS = 32

TOPICS = Arg(
    "topics",
    list,
    required=False,
    max_len=MAX_TOPICS,
    items=Arg("topic", str, pattern=EVENT_PATTERN.pattern),
)


@dataclass(frozen=True)
class Command:
    """A registered command: its handler and the arguments it accepts."""

    handler: Handler
    schema: ArgSchema
    is_async: bool


@dataclass
class ServerStats:
    """Counters of a server since it was created."""

    clients: int = 0  # connected now
    requests: int = 0  # being handled now
    accepted: int = 0  # connections served since start
    refused: int = 0  # connections turned away: busy (every client running a command), or closing
    dropped: int = 0  # subscribers closed because they stopped reading
    idle_closed: int = 0  # connections closed after the idle timeout
    evicted: int = 0  # connections closed to make room for a new client
    seq: int = 0  # sequence number of the last event published


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


class ApiServer:
    """The local API on a Unix socket: register commands, start, publish events, close."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        mode: int = DEFAULT_MODE,
        group: str | int | None = None,
        max_clients: int = MAX_CLIENTS,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_buffered: int = MAX_BUFFERED,
        max_line: int = MAX_REQUEST_LINE,
        idle_timeout: float = IDLE_TIMEOUT_S,
        keepalive: float = KEEPALIVE_S,
        stall_timeout: float = STALL_TIMEOUT_S,
    ) -> None:
        if min(idle_timeout, keepalive, stall_timeout) <= 0 or max_clients < 1:
            raise ValueError("API timeouts must be positive and at least one client allowed")
        self.path = Path(path)
        self.mode = mode
        self.group = group
        self.max_clients = max_clients
        self.max_in_flight = max_in_flight
        self.max_buffered = max_buffered
        self.max_line = max_line
        self.idle_timeout = idle_timeout
        self.keepalive = keepalive
        self.stall_timeout = stall_timeout
        self._commands: dict[str, Command] = {}
        self._builtins: dict[str, tuple[_Builtin, ArgSchema]] = {
            "subscribe": (self._subscribe, ArgSchema(TOPICS)),
            "unsubscribe": (self._unsubscribe, ArgSchema()),
            "ping": (self._ping, ArgSchema()),
            "commands": (self._list_commands, ArgSchema()),
        }
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._identity: tuple[int, int] | None = None
        self._closing = False
        self._connections: dict[Connection, asyncio.Task[Any]] = {}
        self._requests: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stats = ServerStats()

    @property
    def stats(self) -> ServerStats:
        """Return the counters as they are now."""
        # A copy: callers may keep it.
        return replace(self._stats, clients=self._live(), requests=len(self._requests))

    @property
    def serving(self) -> bool:
        """Return whether the server is started and not closing."""
        return self._server is not None and not self._closing

    def register(self, cmd: str, handler: Handler, schema: ArgSchema) -> None:
        """Make ``cmd`` call ``handler`` with the arguments ``schema`` accepts.

        An async handler runs in the event loop; a plain function runs in a worker thread, so a
        blocking handler does not stall other clients. Raise :class:`ApiError` from a handler to
        answer with that error; any other exception answers A-500 and is logged.
        """
        if not NAME_PATTERN.fullmatch(cmd):
            raise ValueError(f"bad command name {cmd!r}")
        if cmd in self._builtins or cmd in self._commands:
            raise ValueError(f"command {cmd!r} is already registered")
        self._commands[cmd] = Command(handler, schema, inspect.iscoroutinefunction(handler))

    async def start(self) -> None:
        """Take the socket path (removing a stale socket) and start accepting clients."""
        if self._server is not None:
            raise RuntimeError("the API server is already started")
        gid = self._resolve_group()
        take_over_stale(self.path)
        sock, self._identity = bind_listening(self.path, self.mode, gid)
        try:
            self._server = await asyncio.start_unix_server(self._serve, sock=sock)
        except BaseException:
            sock.close()
            remove_if_ours(self.path, self._identity)
            raise
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._sweeper = asyncio.create_task(self._sweep())
        _LOGGER.info("local API listening on %s", self.path)

    async def close(self) -> None:
        """Stop accepting, close every client and remove the socket file."""
        server = self._server
        if server is None:
            return
        self._closing = True
        server.close()
        # Nothing here may wait before every client is cut off: a request read meanwhile
        # would still be dispatched.
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
        # Aborting a transport ends its connection's read loop with end-of-file; the serving
        # tasks are never cancelled, since Python 3.11's stream server logs a cancelled one as
        # an error.
        for connection in self._connections:
            connection.writer.transport.abort()
        current = asyncio.current_task()
        requests = [task for task in self._requests if task is not current]
        for task in requests:
            task.cancel()
        # A connection whose request is running this close cannot finish before it returns.
        serving = [
            task
            for connection, task in self._connections.items()
            if current not in connection.requests
        ]
        sweeping = [sweeper] if sweeper is not None else []
        await asyncio.gather(*requests, *serving, *sweeping, return_exceptions=True)
        await server.wait_closed()
        if self._identity is not None:
            remove_if_ours(self.path, self._identity)
        self._server = None
        self._identity = None
        _LOGGER.info("local API on %s closed", self.path)

    async def __aenter__(self) -> ApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def publish(self, event_type: str, fields: Mapping[str, Any] | None = None) -> None:
        """Send an event to every subscriber that wants ``event_type``; callable from any thread.

        Never waits for a subscriber. The event is encoded here, so a field that is not JSON
        raises TypeError or ValueError in the caller. Before start or after close it is ignored.
        """
        fields = fields or {}
        if not EVENT_PATTERN.fullmatch(event_type):
            raise ValueError(f"bad event type {event_type!r}")
        reserved = EVENT_KEYS.intersection(fields)
        if reserved:
            raise ValueError(f"event fields may not use the envelope keys {sorted(reserved)}")
        at = clock().stamp("milliseconds")
        # The sequence number is given out in the loop, in delivery order; encode everything
        # else now and append it there.
        head = encode({"event": event_type, **fields, "at": at})[: -len(b"}\n")]
        if len(head) + 32 > MAX_MESSAGE_LINE:
            raise ValueError(f"event {event_type} is larger than {MAX_MESSAGE_LINE} bytes")
        loop = self._loop
        if loop is None or self._closing:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            loop.call_soon_threadsafe(self._deliver, event_type, head)

    def _deliver(self, event_type: str, head: bytes) -> None:
        if self._closing:
            return
        self._stats.seq += 1
        line = head + b',"seq":' + str(self._stats.seq).encode("ascii") + b"}\n"
        for connection in list(self._connections):
            if connection.wants(event_type):
                connection.send_event(line)

    def _resolve_group(self) -> int | None:
        if self.group is None or isinstance(self.group, int):
            return self.group
        try:
            return grp.getgrnam(self.group).gr_gid
        except KeyError:
            raise ValueError(f"unknown group {self.group!r} for the API socket") from None

    # -- admission, idle connections, keepalives ----------------------------------------------

    def _live(self) -> int:
        return sum(1 for connection in self._connections if not connection.leaving)

    def _victim(self) -> Connection | None:
        """Return the least recently active connection that may give way, if any.

        A connection running a command keeps its slot (its reply is owed); among the others a
        misbehaving one goes first, then one of the user and the process holding the most
        connections, then the one seen active longest ago, the oldest first among equals.
        """
        now = time.monotonic()
        candidates = [
            connection
            for connection in self._connections
            if not connection.leaving and connection.running == 0
        ]
        if not candidates:
            return None
        held: Counter[tuple[str, int]] = Counter()
        for connection in candidates:
            held["uid", connection.uid] += 1
            held["pid", connection.pid] += 1
        return min(candidates, key=lambda connection: connection.rank(now, held))

    def _goodbye(self, connection: Connection, reason: str) -> None:
        if reason == "idle":
            self._stats.idle_closed += 1
            why = ApiError(
                CLOSED,
                f"connection closed after {self.idle_timeout:g} s without a request;"
                " connect again (a request sent since was not run)",
                f"连接空闲超过 {self.idle_timeout:g} 秒已关闭，请重新连接（之后发送的请求未执行）",
                {"reason": "idle"},
            )
        else:
            self._stats.evicted += 1
            why = ApiError(
                CLOSED,
                "connection closed to make room for another client; connect again"
                " (a request without a reply was not run)",
                "为接入其他客户端，本连接已关闭，请重新连接（未收到回复的请求未执行）",
                {"reason": "evicted"},
            )
        _LOGGER.info("%s: closed (%s)", connection.name, reason)
        connection.leave(encode(error_reply(None, why)))

    async def _sweep(self) -> None:
        """Close idle connections, drop stalled subscribers, keep subscribers hearing."""
        period = min(self.idle_timeout, self.keepalive, self.stall_timeout) / 4
        period = min(max(period, 0.005), 1.0)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for connection in list(self._connections):
                if connection.leaving or connection.closing:
                    continue
                if connection.subscribed:
                    self._tend_subscriber(connection, now)
                elif (
                    connection.running == 0
                    and not connection.requests
                    and not connection.pending_input()
                    and now - connection.last_request > self.idle_timeout
                ):
                    self._goodbye(connection, "idle")

    def _tend_subscriber(self, connection: Connection, now: float) -> None:
        connection.observe(now)
        if now - connection.caught_up > self.stall_timeout:
            _LOGGER.warning(
                "%s: dropped, nothing read for %.0f s", connection.name, self.stall_timeout
            )
            connection.dropped = True
            connection.leaving = True
            connection.writer.transport.abort()
        elif now - connection.last_sent >= self.keepalive:
            connection.send_event(encode({"keepalive": True, "seq": self._stats.seq}))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._closing and self._live() >= self.max_clients:
            victim = self._victim()
            if victim is not None:
                self._goodbye(victim, "evicted")
        if self._closing or self._live() >= self.max_clients:
            self._stats.refused += 1
            refusal: ApiError = (
                ApiUnavailable("the QingKa daemon is shutting down", "清卡盒后台服务正在停止")
                if self._closing
                else ApiBusy()
            )
            writer.write(encode(error_reply(None, refusal)))
            writer.close()
            return
        self._stats.accepted += 1
        connection = Connection(
            reader,
            writer,
            f"API client {self._stats.accepted}",
            self.max_buffered,
            self.max_in_flight,
        )
        task = asyncio.current_task()
        assert task is not None
        self._connections[connection] = task
        try:
            await self._read_requests(connection, reader)
            # The client closed its side; let its requests still answer (a one-shot client like
            # socat sends, half-closes, then waits for the reply).
            await asyncio.gather(*connection.requests, return_exceptions=True)
        except ConnectionError:
            pass
        finally:
            for request in connection.requests:
                request.cancel()
            connection.close()
            del self._connections[connection]
            if connection.dropped:
                self._stats.dropped += 1

    async def _read_requests(self, connection: Connection, reader: asyncio.StreamReader) -> None:
        framer = LineFramer(self.max_line)
        while not connection.leaving and (data := await reader.read(READ_CHUNK)):
            items = framer.feed(data)
            connection.partial = framer.pending
            for item in items:
                if connection.leaving:
                    return  # closed by the server: what it sent since is never run
                if isinstance(item, TooLong):
                    connection.misbehaved = True
                    too_long = ApiError(
                        LINE_TOO_LONG,
                        f"request longer than {self.max_line} bytes; ignored up to its newline",
                        f"请求超过 {self.max_line} 字节，已忽略至行尾",
                    )
                    await connection.send(encode(error_reply(None, too_long)))
                elif item.strip():
                    await self._accept(connection, item)

    async def _accept(self, connection: Connection, line: bytes) -> None:
        try:
            message = decode(line)
        except ApiError as error:
            connection.misbehaved = True
            await connection.send(encode(error_reply(None, error)))
            return
        request_id = message.get("id")
        if not is_request_id(request_id):
            connection.misbehaved = True
            missing_id = bad_request(
                "request needs an id: an integer or a string of at most 64 characters",
                "请求需要 id：整数或不超过 64 个字符的字符串",
                arg="id",
            )
            await connection.send(encode(error_reply(None, missing_id)))
            return
        connection.last_request = time.monotonic()
        await connection.slots.acquire()
        if connection.leaving:
            connection.slots.release()
            return
        task = asyncio.create_task(self._answer(connection, request_id, message))
        self._requests.add(task)
        connection.requests.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._requests.discard(done)
            connection.requests.discard(done)
            connection.started.discard(done)
            connection.slots.release()

        task.add_done_callback(finished)

    async def _answer(
        self, connection: Connection, request_id: RequestId, message: dict[str, Any]
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            connection.started.add(task)  # from here on, the request counts as run
        cmd = message.get("cmd")
        try:
            reply = ok_reply(request_id, await self._dispatch(connection, cmd, message))
        except ApiError as error:
            reply = error_reply(request_id, error)
        except Exception:
            _LOGGER.exception("%s: command %r failed", connection.name, cmd)
            reply = error_reply(request_id, _internal("the command failed", "命令执行失败"))
        try:
            line = encode(reply)
        except (TypeError, ValueError):
            _LOGGER.exception("%s: the result of %r is not JSON", connection.name, cmd)
            line = encode(error_reply(request_id, _internal("unusable result", "结果无法发送")))
        if len(line) > MAX_MESSAGE_LINE:
            _LOGGER.error("%s: the result of %r has %d bytes", connection.name, cmd, len(line))
            line = encode(error_reply(request_id, _internal("result too large", "结果过大")))
        with contextlib.suppress(ConnectionError):
            await connection.send(line)

    async def _dispatch(self, connection: Connection, cmd: object, message: dict[str, Any]) -> Any:
        if not isinstance(cmd, str):
            raise bad_request("request needs a cmd string", "请求需要 cmd 字符串", arg="cmd")
        if self._closing:
            raise ApiUnavailable("the QingKa daemon is shutting down", "清卡盒后台服务正在停止")
        builtin = self._builtins.get(cmd)
        if builtin is not None:
            run, schema = builtin
            return run(connection, schema.validate(message))
        command = self._commands.get(cmd)
        if command is None:
            raise ApiError(
                UNKNOWN_COMMAND, f"unknown command '{_short(cmd)}'", f"未知命令 {_short(cmd)}"
            )
        args = command.schema.validate(message)
        # A client whose command runs keeps its slot: the reply is owed to it.
        connection.running += 1
        try:
            if command.is_async:
                return await command.handler(args)
            result = await asyncio.to_thread(command.handler, args)
            if inspect.isawaitable(result):  # an object whose __call__ is async
                result = await result
            return result
        finally:
            connection.running -= 1

    def _subscribe(self, connection: Connection, args: dict[str, Any]) -> dict[str, Any]:
        # Built-ins run without awaiting, so this reply is written before any event the new
        # subscription lets through: a client reads its reply, then events.
        topics = args["topics"]
        connection.subscribe(None if topics is None else frozenset(topics))
        return {"topics": None if topics is None else sorted(set(topics)), "seq": self._stats.seq}

    def _unsubscribe(self, connection: Connection, args: dict[str, Any]) -> dict[str, Any]:
        connection.unsubscribe()
        return {"seq": self._stats.seq}

    def _ping(self, connection: Connection, args: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True, "seq": self._stats.seq}

    def _list_commands(self, connection: Connection, args: dict[str, Any]) -> list[str]:
        return sorted([*self._builtins, *self._commands])


def _internal(message: str, message_zh: str) -> ApiError:
    return ApiError(
        INTERNAL,
        f"internal error in the QingKa daemon: {message}",
        f"后台服务内部错误：{message_zh}",
    )
