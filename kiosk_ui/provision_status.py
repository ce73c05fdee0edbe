"""What provisioning tells the kiosk: its status file, read and checked (no Kivy, no threads).

Provisioning replaces ``/run/qingka/provision.json`` atomically (``provisioning/outbox.py``
holds the format) while it works and once it is done. The file comes from another program, so
it is read like outside bytes: capped, decoded, every field checked; anything else is
:class:`StatusUnreadable`. A ``working`` file whose process is gone, or that is more than ten
minutes old, is stale: the apply was killed and its overlay must not lock the screen.

:class:`ProvisionTracker` turns the successive readings into what the screen shows: the
"configuring…" overlay while a live apply works, and each new result once.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.clock import clock

WORKING = "working"
RESULTS = ("applied", "enrolled", "refused", "failed")
STATES = (WORKING, *RESULTS)
# The file is well under 2 KiB (a detail in brackets is at most a few hundred characters); the
# cap keeps a wrong or hostile file from being read whole.
MAX_STATUS_BYTES = 16 * 1024
MAX_TEXT_CHARS = 2000
MAX_ID_CHARS = 64
MAX_STAMP_CHARS = 40
# Linux never hands out a process id above 2**22; a larger one cannot be a live apply.
MAX_PID = 2**22
# As provisioning/outbox.py: a working file older than this belongs to a killed apply. A result
# older than this when the kiosk starts was shown before the kiosk (re)started.
STALE_AFTER = timedelta(minutes=10)
_CODE = re.compile(r"[A-Z]{1,2}-\d{3}")


class StatusUnreadable(Exception):
    """The status file is not one provisioning wrote: too large, not JSON, or a bad field."""


@dataclass(frozen=True)
class ProvisionStatus:
    """One reading of the status file, checked."""

    state: str  # one of STATES
    updated_at: datetime  # aware, in the product's zone
    code: str | None = None
    message_zh: str = ""
    message_en: str = ""
    action_zh: str = ""
    action_en: str = ""
    box_id: str = ""
    serial: int | None = None
    started_at: datetime | None = None
    pid: int | None = None
    report: bool | None = None  # the report was written to the stick (results only)

    @property
    def working(self) -> bool:
        """Tell whether provisioning says it is at work."""
        return self.state == WORKING


def _text(data: dict[str, Any], key: str, cap: int = MAX_TEXT_CHARS) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > cap:
        raise StatusUnreadable(f"'{key}' is not a text of at most {cap} characters")
    return value


def _moment(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STAMP_CHARS:
        raise StatusUnreadable(f"'{key}' is not a time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise StatusUnreadable(f"'{key}' is not a time: {value[:MAX_STAMP_CHARS]!r}") from None
    # A time without an offset is China time already, as everywhere on the box.
    return clock().in_zone(moment)


def _whole(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StatusUnreadable(f"'{key}' is not a whole number from {low} to {high}")
    return value


def parse_status(raw: bytes) -> ProvisionStatus:
    """Return the status in ``raw`` (the file's bytes); :class:`StatusUnreadable` otherwise."""
    if len(raw) > MAX_STATUS_BYTES:
        raise StatusUnreadable(f"larger than {MAX_STATUS_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StatusUnreadable(f"not JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise StatusUnreadable("not a JSON object")
    state = data.get("state")
    if state not in STATES:
        raise StatusUnreadable(f"'state' is not one of {', '.join(STATES)}")
    updated_at = _moment(data, "updated_at")
    if updated_at is None:
        raise StatusUnreadable("'updated_at' is missing")
    code = data.get("code")
    if code is not None and not (isinstance(code, str) and _CODE.fullmatch(code)):
        raise StatusUnreadable("'code' is not a code like P-204")
    report = data.get("report")
    if report is not None and not isinstance(report, bool):
        raise StatusUnreadable("'report' is not true or false")
    return ProvisionStatus(
        state=str(state),
        updated_at=updated_at,
        code=code,
        message_zh=_text(data, "message_zh"),
        message_en=_text(data, "message_en"),
        action_zh=_text(data, "action_zh"),
        action_en=_text(data, "action_en"),
        box_id=_text(data, "box_id", MAX_ID_CHARS),
        serial=_whole(data, "serial", 0, 2**63 - 1),
        started_at=_moment(data, "started_at"),
        pid=_whole(data, "pid", 1, MAX_PID),
        report=report,
    )


def read_status(path: Path) -> ProvisionStatus | None:
    """Return the status in the file at ``path``; None when there is none.

    Opened without following a link and without blocking (a FIFO put there must not hang the
    reader), and read only when it is a regular file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StatusUnreadable(f"cannot be opened: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StatusUnreadable("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_STATUS_BYTES + 1)
    except OSError as exc:
        raise StatusUnreadable(f"cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return parse_status(raw)


def pid_alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists (provisioning runs as root: EPERM means it does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(status: ProvisionStatus, now: datetime, alive: Callable[[int], bool]) -> bool:
    """Tell whether ``status`` says "working" for an apply that no longer runs."""
    if not status.working:
        return False
    if abs(now - status.updated_at) > STALE_AFTER:
        return True  # killed long ago, or the clock jumped: either way, not this apply's
    return status.pid is not None and not alive(status.pid)


@dataclass(frozen=True)
class Shown:
    """What the screen shows of provisioning after one reading."""

    working: ProvisionStatus | None  # a live apply: the overlay that blocks taps
    result: ProvisionStatus | None  # a result not shown before: show it once


class ProvisionTracker:
    """Turns readings of the status file into :class:`Shown`: each result once, by its time."""

    def __init__(self) -> None:
        self._seen: datetime | None = None  # updated_at of the last result shown
        self._first = True

    def update(
        self,
        status: ProvisionStatus | None,
        now: datetime,
        alive: Callable[[int], bool] = pid_alive,
    ) -> Shown:
        """Return what to show for ``status`` (None: no file) at ``now``."""
        first, self._first = self._first, False
        if status is None:
            return Shown(None, None)
        if status.working:
            return Shown(None if is_stale(status, now, alive) else status, None)
        if first and abs(now - status.updated_at) > STALE_AFTER:
            # The kiosk (re)started long after this apply: it was shown back then.
            self._seen = status.updated_at
        if status.updated_at == self._seen:
            return Shown(None, None)
        self._seen = status.updated_at
        return Shown(None, status)
