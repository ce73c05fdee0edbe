"""The server's socket file: taken over only when stale, given its mode and group before use.

Who may use the API is decided by the socket file's mode and group (connecting to a Unix socket
needs write permission on it). ``bind`` creates the file with permissions that follow the process
umask, so the mode and group are set between ``bind`` and ``listen``: until ``listen``, every
connection attempt is refused whatever the permissions say.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import stat
from pathlib import Path

from appliance.api.errors import SocketPathBusy

_LOGGER = logging.getLogger(__name__)

# sun_path holds 108 bytes on Linux, including the terminating NUL.
MAX_PATH_BYTES = 107
BACKLOG = 64

# (st_dev, st_ino) of a socket file, to remove only the file this process created.
Identity = tuple[int, int]


def take_over_stale(path: Path) -> None:
    """Remove a socket file nobody listens on; raise SocketPathBusy if it is live or no socket."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketPathBusy(f"{path} exists and is not a socket; not touching it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Non-blocking: a live daemon with a full backlog answers EAGAIN at once instead of
        # making the new daemon wait.
        probe.setblocking(False)
        result = probe.connect_ex(str(path))
    finally:
        probe.close()
    if result in (0, errno.EAGAIN, errno.EWOULDBLOCK, errno.EINPROGRESS):
        raise SocketPathBusy(f"another daemon is listening on {path}")
    if result == errno.ENOENT:
        return
    if result != errno.ECONNREFUSED:
        raise SocketPathBusy(f"cannot tell whether {path} is in use: {os.strerror(result)}")
    _LOGGER.info("removing stale API socket %s", path)
    path.unlink(missing_ok=True)


def bind_listening(path: Path, mode: int, gid: int | None) -> tuple[socket.socket, Identity]:
    """Return a listening socket at ``path`` with ``mode`` and group ``gid``, and its identity."""
    if len(os.fsencode(path)) > MAX_PATH_BYTES:
        raise ValueError(f"socket path too long for a Unix socket: {path}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # bind never replaces a file: a socket another daemon created since take_over_stale
        # looked makes it fail instead.
        sock.bind(str(path))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise SocketPathBusy(f"{path} appeared while starting; another daemon?") from None
        raise
    try:
        path.chmod(mode)
        if gid is not None:
            os.chown(path, -1, gid)
        sock.listen(BACKLOG)
        info = path.lstat()
    except BaseException:
        sock.close()
        path.unlink(missing_ok=True)
        raise
    return sock, (info.st_dev, info.st_ino)


def remove_if_ours(path: Path, identity: Identity) -> None:
    """Remove ``path`` if it is still the socket file this process created."""
    with contextlib.suppress(FileNotFoundError):
        info = path.lstat()
        if (info.st_dev, info.st_ino) == identity:
            path.unlink()
