"""Wire format of the local API: one JSON object per line, and a pure, bounded line framer.

A request is ``{"id": 7, "cmd": "status", ...args}``; its reply is ``{"id": 7, "ok": true,
"result": ...}`` or ``{"id": 7, "ok": false, "error": {...}}``; an event is ``{"event": "step",
...fields, "at": "...", "seq": 12}``. Lines are UTF-8 and end with ``\\n``; JSON escapes every
newline inside strings, so a newline always ends a message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from appliance.api.errors import ApiError, bad_request

DEFAULT_SOCKET = "/run/qingka/api.sock"
SOCKET_ENV = "QINGKA_API_SOCKET"

# The largest legitimate request is a command name and a few short arguments (a device id, a
# page size), a few hundred bytes. 64 KiB leaves ample room for future arguments while bounding
# what one client can make the daemon hold: at most this much per connection.
MAX_REQUEST_LINE = 64 * 1024
# Replies and events may carry lists (history, backups), so they get a larger cap; the client
# refuses anything longer rather than buffering a runaway line, and the server never sends one.
MAX_MESSAGE_LINE = 4 * 1024 * 1024

# Request ids are echoed back, never interpreted: bound them so an echo cannot be large, and keep
# integers within what a JSON number holds exactly in every language (IEEE double).
MAX_ID_LENGTH = 64
MAX_INT_ID = 2**53

RequestId = int | str


def default_socket_path() -> str:
    """Return the socket path: ``QINGKA_API_SOCKET`` if set, else the daemon's default."""
    return os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


@dataclass(frozen=True)
class TooLong:
    """A line crossed the size limit; the framer drops it up to its newline."""

    size: int


class LineFramer:
    """Split a byte stream into lines of at most ``max_line`` bytes (newline not counted).

    A longer line is reported once as :class:`TooLong` the moment it crosses the limit, and the
    rest of it is discarded up to its newline, so the framer never holds more than ``max_line``
    bytes and the lines after it are read normally.
    """

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self._buffer = bytearray()
        self._discarding = False

    @property
    def pending(self) -> int:
        """Return how many bytes of an unfinished line are held."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        """Return the complete lines (without newline) and overflows found in ``data``."""
        out: list[bytes | TooLong] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            piece = data[start:end]
            start = end + 1
            if self._discarding:
                self._discarding = False
            elif len(self._buffer) + len(piece) > self.max_line:
                out.append(TooLong(len(self._buffer) + len(piece)))
            else:
                out.append(bytes(self._buffer) + piece)
            self._buffer.clear()
        rest = data[start:]
        if self._discarding:
            return out
        if len(self._buffer) + len(rest) > self.max_line:
            out.append(TooLong(len(self._buffer) + len(rest)))
            self._buffer.clear()
            self._discarding = True
        else:
            self._buffer += rest
        return out


def encode(message: Mapping[str, Any]) -> bytes:
    """Return ``message`` as one compact JSON line.

    Raises TypeError or ValueError when ``message`` is not plain JSON (NaN included).
    """
    try:
        text = _dumps(message, ensure_ascii=False)
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        # A lone surrogate (which a client can send as "\ud800") has no UTF-8 form; the ASCII
        # form escapes it and stays valid JSON.
        return _dumps(message, ensure_ascii=True).encode("ascii") + b"\n"


def _dumps(message: Mapping[str, Any], *, ensure_ascii: bool) -> str:
    return json.dumps(message, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode(line: bytes) -> dict[str, Any]:
    """Return the JSON object in ``line``; raise an A-400 :class:`ApiError` for anything else."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("message is not UTF-8", "消息不是 UTF-8 编码") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        # RecursionError: deeply nested arrays exhaust the parser's stack, which is still just
        # a malformed message.
        raise bad_request("message is not valid JSON", "消息不是有效的 JSON") from None
    if not isinstance(value, dict):
        raise bad_request("message is not a JSON object", "消息不是 JSON 对象")
    return value


def is_request_id(value: object) -> TypeGuard[RequestId]:
    """Return whether ``value`` is a usable request id: a bounded int or a short string."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_INT_ID <= value <= MAX_INT_ID
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH


def ok_reply(request_id: RequestId | None, result: Any) -> dict[str, Any]:
    """Return the success reply to request ``request_id``."""
    return {"id": request_id, "ok": True, "result": result}


def error_reply(request_id: RequestId | None, error: ApiError) -> dict[str, Any]:
    """Return the error reply to request ``request_id`` (None when the request had no id)."""
    return {"id": request_id, "ok": False, "error": error.to_wire()}
