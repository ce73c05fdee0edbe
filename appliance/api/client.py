"""The synchronous client of the local API, for the CLI and the kiosk (plain sockets, no asyncio).

``ApiClient.call`` sends one request at a time on a connection it keeps; ``subscribe`` opens a
connection of its own that yields events until the daemon goes away or it is closed. Every
failure to reach or understand the daemon is an :class:`ApiUnavailable` (:class:`ApiBusy` when
the daemon runs but has no slot free, :class:`DaemonNotRunning` when none runs); an error
answered by the daemon is an :class:`ApiError` with the daemon's code and messages.
:func:`status_of` tells running, busy and absent apart without raising.
"""

from __future__ import annotations

import contextlib
import enum
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from appliance.api.errors import (
    CLOSED,
    LINE_TOO_LONG,
    ApiBusy,
    ApiError,
    ApiTimeout,
    ApiUnavailable,
    BadReply,
    DaemonNotRunning,
)
from appliance.api.protocol import (
    MAX_MESSAGE_LINE,
    MAX_REQUEST_LINE,
    LineFramer,
    TooLong,
    decode,
    default_socket_path,
    encode,
)

DEFAULT_TIMEOUT = 5.0
RECV_CHUNK = 64 * 1024
# How often a request is sent again after the daemon closed its connection before reading it
# (idle timeout, or room made for another client); such a request was never run.
RESENDS = 3
# A listen backlog that is full answers a connect with EAGAIN at once: try again this often.
_BACKLOG_RETRY_S = 0.005


class LineReader:
    """Read whole lines from ``recv`` (a socket's), at most ``max_line`` bytes each."""

    def __init__(self, recv: Callable[[int], bytes], max_line: int = MAX_MESSAGE_LINE) -> None:
        self._recv = recv
        self._framer = LineFramer(max_line)
        self._lines: deque[bytes | TooLong] = deque()

    def read_line(self) -> bytes:
        """Return the next line without its newline.

        Raises EOFError when the stream ends, BadReply for a line over the limit, and whatever
        ``recv`` raises (a timeout, a reset connection).
        """
        while not self._lines:
            data = self._recv(RECV_CHUNK)
            if not data:
                raise EOFError("the daemon closed the connection")
            self._lines.extend(self._framer.feed(data))
        line = self._lines.popleft()
        if isinstance(line, TooLong):
            raise BadReply(
                f"the daemon sent a line of more than {self._framer.max_line} bytes",
                f"后台服务发送的消息超过 {self._framer.max_line} 字节",
            )
        return line


def _connect(path: Path, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(str(path))
            return sock
        except BlockingIOError:
            # Every connection the daemon has not accepted yet fills its backlog: a flood of
            # connects. The daemon is there; knock again until the timeout.
            sock.close()
            if time.monotonic() >= deadline:
                raise ApiBusy(
                    "the QingKa daemon is flooded with connections; try again in a moment",
                    "清卡盒后台服务连接请求过多，请稍后再试",
                ) from None
            time.sleep(_BACKLOG_RETRY_S)
        except FileNotFoundError:
            sock.close()
            raise DaemonNotRunning(
                f"the QingKa daemon is not running (no socket at {path})",
                f"清卡盒后台服务未运行（{path} 不存在）",
            ) from None
        except ConnectionRefusedError:
            sock.close()
            raise DaemonNotRunning(
                f"the QingKa daemon is not running (nobody listens on {path})",
                f"清卡盒后台服务未运行（{path} 无人监听）",
            ) from None
        except PermissionError:
            sock.close()
            raise ApiUnavailable(
                f"no permission to use {path}: is this user in the daemon's group?",
                f"无权使用 {path}：当前用户是否属于后台服务的用户组？",
            ) from None
        except TimeoutError:
            sock.close()
            raise ApiTimeout() from None
        except OSError as error:
            sock.close()
            raise ApiUnavailable(
                f"cannot connect to the QingKa daemon at {path}: {error.strerror}",
                f"无法连接清卡盒后台服务（{path}）：{error.strerror}",
            ) from error


def _lost() -> ApiUnavailable:
    return ApiUnavailable(
        "the connection to the QingKa daemon was lost", "与清卡盒后台服务的连接已断开"
    )


def _send(sock: socket.socket, line: bytes) -> None:
    try:
        sock.sendall(line)
    except TimeoutError:
        raise ApiTimeout() from None
    except OSError:
        # The daemon hung up. What it said before (such as "too many clients") is still there
        # to read, and reading then ends in "connection lost" if it said nothing.
        pass


def _decode_reply(line: bytes) -> dict[str, Any]:
    try:
        return decode(line)
    except ApiError:
        raise BadReply() from None


class ApiClient:
    """A client of the local API at ``path`` whose calls give up after ``timeout`` seconds.

    Safe to share between threads: calls are made one at a time.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.path = Path(path if path is not None else default_socket_path())
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reader: LineReader | None = None
        self._next_id = 0
        self._subscriptions: set[Subscription] = set()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def call(self, cmd: str, /, **args: Any) -> Any:
        """Run ``cmd`` with ``args`` on the daemon and return its result.

        Raises ApiError for an error the daemon answers, ApiUnavailable (ApiTimeout, BadReply)
        when it cannot be reached, does not answer in time, or answers nonsense. Never resends:
        after a failure the request may or may not have run.
        """
        reserved = {"id", "cmd"}.intersection(args)
        if reserved:
            raise ValueError(f"{sorted(reserved)} are request envelope keys, not arguments")
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            line = encode({"id": request_id, "cmd": cmd, **args})
            if len(line) - 1 > MAX_REQUEST_LINE:
                raise ApiError(
                    LINE_TOO_LONG,
                    f"request longer than {MAX_REQUEST_LINE} bytes",
                    f"请求超过 {MAX_REQUEST_LINE} 字节",
                )
            deadline = time.monotonic() + self.timeout
            for resend in range(RESENDS + 1):
                sock, reader = self._connection(deadline)
                try:
                    _send(sock, line)
                    reply = self._await_reply(sock, reader, request_id, deadline)
                except BaseException:
                    # Whatever arrives later on this connection belongs to this request.
                    self._disconnect()
                    raise
                if not _closed_unread(reply) or resend == RESENDS:
                    break
                # The daemon closed the connection before reading the request: it did not run,
                # so it goes again on a new connection.
                self._disconnect()
        if reply.get("ok") is True:
            return reply.get("result")
        raise ApiError.from_wire(reply.get("error"))

    def subscribe(self, topics: Iterable[str] | None = None) -> Subscription:
        """Return an iterator of events of ``topics`` (None: every event) on a new connection."""
        request: dict[str, Any] = {"id": 1, "cmd": "subscribe"}
        if topics is not None:
            request["topics"] = list(topics)
        deadline = time.monotonic() + self.timeout
        for resend in range(RESENDS + 1):
            sock = _connect(self.path, max(deadline - time.monotonic(), 0.001))
            reader = LineReader(sock.recv)
            try:
                _send(sock, encode(request))
                reply = self._await_reply(sock, reader, 1, deadline)
                if _closed_unread(reply) and resend < RESENDS:
                    sock.close()  # closed before the daemon read it: ask again
                    continue
                if reply.get("ok") is not True:
                    raise ApiError.from_wire(reply.get("error"))
            except BaseException:
                sock.close()
                raise
            break
        result = reply.get("result")
        seq = result.get("seq") if isinstance(result, dict) else None
        subscription = Subscription(sock, reader, seq if isinstance(seq, int) else 0, self._forget)
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def close(self) -> None:
        """Close the call connection and every subscription of this client."""
        with self._lock:
            self._disconnect()
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.close()

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def _connection(self, deadline: float | None = None) -> tuple[socket.socket, LineReader]:
        if self._sock is not None and not _still_open(self._sock):
            # The daemon went away (or restarted, or closed an idle connection) since the last
            # call; nothing was sent yet, so reconnecting is safe.
            self._disconnect()
        if self._sock is None or self._reader is None:
            left = self.timeout if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise ApiTimeout()
            self._sock = _connect(self.path, left)
            self._reader = LineReader(self._sock.recv)
        return self._sock, self._reader

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._reader = None

    @staticmethod
    def _await_reply(
        sock: socket.socket, reader: LineReader, request_id: int, deadline: float
    ) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ApiTimeout()
            sock.settimeout(remaining)
            try:
                reply = _decode_reply(reader.read_line())
            except TimeoutError:
                raise ApiTimeout() from None
            except (EOFError, OSError):
                raise _lost() from None
            if reply.get("id") == request_id:
                return reply
            if reply.get("id") is None and reply.get("ok") is False:
                # An error the daemon could not tie to a request (line too long, too many
                # clients); this client has only one request outstanding, so it is this one's.
                return reply
            # Anything else (an event, a stale reply) is not the answer: keep reading.


def _closed_unread(reply: dict[str, Any]) -> bool:
    """Tell whether ``reply`` is the daemon's last line on a connection it closed unread."""
    error = reply.get("error")
    return (
        reply.get("id") is None
        and reply.get("ok") is False
        and isinstance(error, dict)
        and error.get("code") == CLOSED
    )


def _still_open(sock: socket.socket) -> bool:
    """Return whether the daemon has not closed ``sock`` and sent nothing unasked."""
    timeout = sock.gettimeout()
    # Non-blocking for this peek only: with a timeout set, recv would first wait for data.
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
    # Readable now: either b"" (the daemon closed it) or a byte nobody asked for. Either way the
    # connection is not fit for a new request.
    return False


class Subscription(Iterator[dict[str, Any]]):
    """Events from the daemon, in order, until it goes away (ApiUnavailable) or :meth:`close`.

    ``start_seq`` is the sequence number of the last event published before subscribing; the
    server drops a subscriber rather than skip an event, so after a reconnection, events may
    have been missed and the state should be read again.
    """

    def __init__(
        self,
        sock: socket.socket,
        reader: LineReader,
        start_seq: int,
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.start_seq = start_seq
        self._sock = sock
        self._reader = reader
        self._on_close = on_close
        self._closed = False
        # Events may be awaited for hours; the daemon closing the socket ends the wait.
        sock.settimeout(None)

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            if self._closed:
                raise StopIteration
            try:
                message = _decode_reply(self._reader.read_line())
            except (EOFError, OSError):
                if self._closed:
                    raise StopIteration from None
                self.close()
                raise _lost() from None
            except BadReply:
                self.close()
                raise
            if isinstance(message.get("event"), str):
                return message
            if message.get("ok") is False:
                self.close()
                raise ApiError.from_wire(message.get("error"))

    def close(self) -> None:
        """Stop the subscription; a thread blocked in ``next`` returns at once."""
        self._closed = True
        with contextlib.suppress(OSError):
            # shutdown wakes a recv blocked in another thread; close alone would not.
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close(self)


class DaemonStatus(enum.Enum):
    """What is on the other side of the API socket."""

    RUNNING = "running"  # a daemon answered
    BUSY = "busy"  # a daemon is there but could not answer now (no slot free, too slow)
    ABSENT = "absent"  # no daemon: no socket, or nobody listening on it
    UNREACHABLE = "unreachable"  # something is there this user cannot use (permission...)


def status_of(path: str | os.PathLike[str] | None = None, timeout: float = 1.0) -> DaemonStatus:
    """Return whether a daemon runs on the API socket at ``path``, is busy, or is absent."""
    with ApiClient(path, timeout) as client:
        try:
            client.call("ping")
        except (ApiBusy, ApiTimeout):
            return DaemonStatus.BUSY
        except DaemonNotRunning:
            return DaemonStatus.ABSENT
        except ApiUnavailable:
            return DaemonStatus.UNREACHABLE
        except ApiError:
            pass  # a daemon that answers, even with an error, is running
    return DaemonStatus.RUNNING


def is_running(path: str | os.PathLike[str] | None = None, timeout: float = 1.0) -> bool:
    """Return whether a daemon runs on the API socket at ``path`` (busy counts as running)."""
    return status_of(path, timeout) in (DaemonStatus.RUNNING, DaemonStatus.BUSY)
