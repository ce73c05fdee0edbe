"""The systemd notify protocol (sd_notify(3)) in plain Python: readiness, status and watchdog.

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace) and, with
``WatchdogSec=``, ``WATCHDOG_USEC``. Each notification is one datagram of ``KEY=value`` lines.
Outside systemd every method is a no-op, so the daemon calls them unconditionally.

The daemon sends ``watchdog()`` from its working loop, not from a timer of its own: a timer
would keep a hung daemon looking alive.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

_LOGGER = logging.getLogger(__name__)


def _socket_address(value: str) -> str | None:
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    return None


class Notifier:
    """Notifications to the service manager at ``address`` (None: not under systemd)."""

    def __init__(self, address: str | None = None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._failing = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Return the notifier systemd's environment describes (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        address = None
        raw = env.get("NOTIFY_SOCKET", "")
        if raw:
            address = _socket_address(raw)
            if address is None:
                _LOGGER.warning("NOTIFY_SOCKET %r is not a Unix socket address; ignoring", raw)
        return cls(address, _watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        """Return whether notifications go anywhere."""
        return self.address is not None

    def watchdog_interval(self) -> float | None:
        """Return how often, in seconds, to call :meth:`watchdog` (None: no watchdog)."""
        if self.watchdog_usec is None:
            return None
        # Half the timeout, as sd_watchdog_enabled(3) advises: one late beat is not fatal.
        return self.watchdog_usec / 2 / 1_000_000

    def ready(self) -> None:
        """Tell systemd the daemon finished starting up."""
        self.notify("READY=1")

    def stopping(self) -> None:
        """Tell systemd the daemon is shutting down."""
        self.notify("STOPPING=1")

    def status(self, text: str) -> None:
        """Show ``text`` as the service status (``systemctl status``)."""
        # One assignment per line: a newline in the text would start a bogus assignment.
        self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> None:
        """Tell systemd the daemon is alive (only when systemd watches it)."""
        if self.watchdog_usec is not None:
            self.notify("WATCHDOG=1")

    def notify(self, *assignments: str) -> bool:
        """Send ``assignments`` in one datagram; return whether it was sent.

        A failure is logged once (and its recovery once); it never raises, since the daemon's
        work matters more than the service manager hearing about it.
        """
        if self.address is None:
            return False
        data = "\n".join(assignments).encode("utf-8")
        try:
            # A socket per notification, as sd_notify does: a few a minute cost nothing, and
            # there is nothing to keep open or close.
            # Never wait on it: a service manager that stopped reading (its queue holds ten
            # datagrams) must not stall the daemon's working loop.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(data, socket.MSG_DONTWAIT, self.address)
        except OSError as error:
            if not self._failing:
                _LOGGER.warning("cannot notify systemd at %r: %s", self.address, error)
            self._failing = True
            return False
        if self._failing:
            _LOGGER.info("notifying systemd works again")
        self._failing = False
        return True


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """Return WATCHDOG_USEC if it is meant for this process, as sd_watchdog_enabled(3) decides."""
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
