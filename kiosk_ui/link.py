"""The kiosk's line to the daemon: two background threads, results handed to the UI thread.

The event thread subscribes, reads ``status``, then follows events until the daemon goes away,
and starts over every second until it is back: the kiosk recovers from a daemon restart by
itself. The command thread runs the screens' requests one at a time and, when idle, reads
``status`` every few seconds so dates and countdowns stay fresh. Nothing here touches Kivy:
``post`` (``Clock.schedule_once`` in the app) carries every callback to the UI thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from appliance.api.client import ApiClient
from appliance.api.errors import ApiError, ApiUnavailable

_log = logging.getLogger("qingka.kiosk")

Post = Callable[[Callable[[], None]], None]
Done = Callable[[Any], None]
Failed = Callable[[ApiError], None]

RECONNECT_S = 1.0
POLL_S = 5.0
EVENT_TIMEOUT_S = 5.0
# Exporting backups to a slow USB stick is the longest command the kiosk sends.
COMMAND_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Request:
    """One command of a screen, with what to do with its answer."""

    cmd: str
    args: dict[str, Any]
    done: Done | None
    failed: Failed | None


class Listener:
    """What the link reports (each called on the UI thread)."""

    def on_connected(self, connected: bool) -> None:
        """The daemon became reachable or went away."""

    def on_status(self, status: dict[str, Any], sync: bool) -> None:
        """A ``status`` result; ``sync`` for the first one after connecting."""

    def on_event(self, event: dict[str, Any]) -> None:
        """One event of the daemon."""


class DaemonLink:
    """Keeps the kiosk connected to the daemon at ``path``."""

    def __init__(self, path: Path, listener: Listener, post: Post, poll_s: float = POLL_S) -> None:
        self.path = path
        self.listener = listener
        self.post = post
        self.poll_s = poll_s
        self.connected = False
        self._stop = threading.Event()
        self._queue: queue.Queue[Request | None] = queue.Queue()
        self._events = ApiClient(path, EVENT_TIMEOUT_S)
        self._commands = ApiClient(path, COMMAND_TIMEOUT_S)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start both threads."""
        for target, name in ((self._follow, "kiosk events"), (self._serve, "kiosk commands")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads and close the connections."""
        self._stop.set()
        self._queue.put(None)
        self._events.close()
        self._commands.close()
        for thread in self._threads:
            thread.join(timeout)

    def request(
        self, cmd: str, done: Done | None = None, failed: Failed | None = None, **args: Any
    ) -> None:
        """Run ``cmd`` on the command thread; ``done`` or ``failed`` gets the answer."""
        self._queue.put(Request(cmd, args, done, failed))

    def refresh(self) -> None:
        """Read ``status`` again soon."""
        self._queue.put(Request("status", {}, None, None))

    # -- threads ---------------------------------------------------------------------------

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            if connected:
                _log.info("connected to the daemon at %s", self.path)
            else:
                _log.warning("lost the daemon at %s; reconnecting", self.path)
            self.post(lambda: self.listener.on_connected(connected))

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                events = self._events.subscribe()
                status = self._events.call("status")
            except ApiError:
                self._set_connected(False)
                self._stop.wait(RECONNECT_S)
                continue
            if self._stop.is_set():
                events.close()  # stop() ran while this subscription was being opened
                return
            self._set_connected(True)
            self.post(partial(self.listener.on_status, status, True))
            try:
                for event in events:
                    self.post(partial(self.listener.on_event, event))
                    if event.get("event") in ("outcome", "device"):
                        # The status carries what events do not (last success, retry time).
                        self.refresh()
            except ApiError:
                pass  # the daemon went away: reconnect below
            finally:
                events.close()
            if not self._stop.is_set():
                self._set_connected(False)
                self._stop.wait(RECONNECT_S)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                request = self._queue.get(timeout=self.poll_s)
            except queue.Empty:
                request = Request("status", {}, None, None) if self.connected else None
            if request is None:
                continue
            self._run(request)

    def _run(self, request: Request) -> None:
        try:
            result = self._commands.call(request.cmd, **request.args)
        except ApiError as exc:  # ApiUnavailable included: the screen says so
            self._report_failure(request, exc)
            return
        if request.cmd == "status" and request.done is None:
            self.post(lambda: self.listener.on_status(result, False))
        elif request.done is not None:
            done = request.done
            self.post(lambda: done(result))

    def _report_failure(self, request: Request, exc: ApiError) -> None:
        if request.failed is not None:
            failed = request.failed
            self.post(lambda: failed(exc))
        elif not isinstance(exc, ApiUnavailable):
            _log.warning("%s failed: %s [%s]", request.cmd, exc, exc.code)
