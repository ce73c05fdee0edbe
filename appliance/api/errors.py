"""The error tree of the local API and the codes its replies carry.

Every error has a stable ``code`` and a message in English and Chinese, so the kiosk and the CLI
can show it without knowing the command that failed. Callers choose what to do by type:
:class:`ApiUnavailable` (and its subclasses) means "the daemon cannot be used right now" --
:class:`DaemonNotRunning` that none runs, :class:`ApiBusy` that it runs but has no slot free --
anything else is an answer from a running daemon.
"""

from __future__ import annotations

from typing import Any

BAD_REQUEST = "A-400"
FORBIDDEN = "A-403"
UNKNOWN_COMMAND = "A-404"
CLOSED = "A-408"
CONFLICT = "A-409"
LINE_TOO_LONG = "A-413"
BUSY = "A-429"
INTERNAL = "A-500"
BAD_REPLY = "A-502"
UNAVAILABLE = "A-503"
TIMEOUT = "A-504"


class ApiError(Exception):
    """An error the local API reports: a code and a message in English and Chinese."""

    def __init__(
        self, code: str, message: str, message_zh: str, details: dict[str, Any] | None = None
    ) -> None:
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.details = details
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"

    def to_wire(self) -> dict[str, Any]:
        """Return the ``error`` object of a reply."""
        wire: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
        }
        if self.details:
            wire["details"] = self.details
        return wire

    @staticmethod
    def from_wire(error: object) -> ApiError:
        """Return the exception for a reply's ``error`` object, tolerating a malformed one."""
        if not isinstance(error, dict):
            return BadReply("error reply without an error object", "错误回复缺少错误信息")
        code = str(error.get("code", INTERNAL))
        message = str(error.get("message", ""))
        message_zh = str(error.get("message_zh", "")) or message
        details = error.get("details")
        if not isinstance(details, dict):
            details = None
        kind = _UNAVAILABLE_CODES.get(code)
        if kind is not None:
            return kind(message, message_zh, details=details)
        return ApiError(code, message, message_zh, details)


class ApiUnavailable(ApiError):
    """The daemon is not running, cannot be reached, or is going away."""

    default_code = UNAVAILABLE

    def __init__(
        self,
        message: str = "the QingKa daemon is not available",
        message_zh: str = "清卡盒后台服务不可用",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(self.default_code, message, message_zh, details)


class DaemonNotRunning(ApiUnavailable):
    """Nobody listens on the socket (or there is no socket): no daemon is running there."""


class ApiBusy(ApiUnavailable):
    """The daemon runs but has no slot free: every connection is running a command."""

    default_code = BUSY

    def __init__(
        self,
        message: str = "the QingKa daemon is busy: every connection is running a command;"
        " try again in a moment",
        message_zh: str = "清卡盒后台服务正忙（所有连接都在执行命令），请稍后再试",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, message_zh, details)


class ConnectionClosed(ApiUnavailable):
    """The daemon closed the connection (idle too long, or to make room for another client).

    A request on that connection that got no reply was never run, so it may be sent again.
    """

    default_code = CLOSED

    def __init__(
        self,
        message: str = "the QingKa daemon closed the connection; connect again",
        message_zh: str = "清卡盒后台服务关闭了连接，请重新连接",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, message_zh, details)


class ApiTimeout(ApiUnavailable):
    """The daemon did not answer in time."""

    default_code = TIMEOUT

    def __init__(
        self,
        message: str = "the QingKa daemon did not answer in time",
        message_zh: str = "清卡盒后台服务未及时响应",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, message_zh, details)


class BadReply(ApiUnavailable):
    """The daemon's answer could not be read: too long, not JSON, or not a reply."""

    default_code = BAD_REPLY

    def __init__(
        self,
        message: str = "the QingKa daemon sent an unreadable answer",
        message_zh: str = "清卡盒后台服务的回复无法识别",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, message_zh, details)


_UNAVAILABLE_CODES: dict[str, type[ApiUnavailable]] = {
    UNAVAILABLE: ApiUnavailable,
    TIMEOUT: ApiTimeout,
    BAD_REPLY: BadReply,
    BUSY: ApiBusy,
    CLOSED: ConnectionClosed,
}


def bad_request(message: str, message_zh: str, **details: Any) -> ApiError:
    """Return an A-400 error; ``details`` name what was wrong (for example ``arg``)."""
    return ApiError(BAD_REQUEST, message, message_zh, details or None)


class SocketPathBusy(Exception):
    """The server cannot take its socket path: another daemon listens there, or it is no socket."""
