"""Watch provisioning's status file on a background thread; hand changes to the UI thread.

Once a second the thread looks at the file's identity (inode, size, modification time): one
``stat`` while nothing happens. It reads the file only when that changes, and while an apply
works it also asks whether the apply's process still lives, so a killed apply's overlay goes
away by itself. A file that is not what provisioning writes is logged once and ignored: the
screen keeps what the last good reading said, and so it does when a "working" file disappears.
Nothing here touches Kivy: ``post`` carries each change to the UI thread, as the daemon link
does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from appliance.clock import clock
from kiosk_ui.provision_status import (
    ProvisionStatus,
    ProvisionTracker,
    Shown,
    StatusUnreadable,
    pid_alive,
    read_status,
)

_log = logging.getLogger("qingka.kiosk")

Post = Callable[[Callable[[], None]], None]
POLL_S = 1.0
# What tells that the file was replaced: provisioning writes a new file and renames it over.
Signature = tuple[int, int, int, int] | None


def _signature(path: Path) -> Signature:
    try:
        info = path.lstat()
    except OSError:
        return None  # missing (or unreachable): as if there were no file
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


class ProvisionWatch:
    """Follows the status file at ``path``; ``deliver`` gets each change on the UI thread."""

    def __init__(
        self,
        path: Path,
        deliver: Callable[[Shown], None],
        post: Post,
        poll_s: float = POLL_S,
        alive: Callable[[int], bool] = pid_alive,
        now: Callable[[], datetime] = lambda: clock().now(),
    ) -> None:
        self.path = path
        self.deliver = deliver
        self.post = post
        self.poll_s = poll_s
        self.alive = alive
        self.now = now
        self._tracker = ProvisionTracker()
        self._signature: Signature = None
        self._status: ProvisionStatus | None = None
        self._working: ProvisionStatus | None = None
        self._lock = threading.Lock()  # poll() runs on the thread, or in a test on demand
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching."""
        self._thread = threading.Thread(target=self._run, name="kiosk provisioning", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the watcher must outlive any surprise
                _log.exception("watching %s failed once; carrying on", self.path)
            self._stop.wait(self.poll_s)

    def poll(self) -> None:
        """Look at the file once; post what the screen should show if that changed."""
        with self._lock:
            signature = _signature(self.path)
            if signature != self._signature:
                self._signature = signature
                self._read()
            shown = self._tracker.update(self._status, self.now(), self.alive)
            if shown.working == self._working and shown.result is None:
                return
            self._working = shown.working
        self.post(lambda: self.deliver(shown))

    def _read(self) -> None:
        try:
            status = read_status(self.path)
        except StatusUnreadable as exc:
            # Logged once per version of the file: the signature changes only when it does.
            _log.warning("ignoring provisioning status %s: %s", self.path, exc)
            return
        if status is None and self._status is not None and self._status.working:
            # The file went away mid-apply (its folder may be the daemon's runtime directory,
            # which a daemon restart empties): follow the apply's process until it writes its
            # result, dies, or ten minutes pass.
            _log.info("provisioning status %s went away; following the apply", self.path)
            return
        self._status = status
