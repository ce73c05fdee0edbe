"""Files named from outside (a configuration, a USB stick, a command line): opened safely, capped.

Every file the box reads or writes at a path it was given goes through :func:`open_regular` or
:func:`open_regular_for_writing`. A path may name a FIFO, a device node or a folder: opening a
FIFO without ``O_NONBLOCK`` blocks in ``open()`` until a writer comes, which is a command that
hangs with no output, and reading a device node (``/dev/zero``) never ends or has side effects.
So the path is looked at before it is opened, and the opened file once more (it may have been
swapped between the two), and anything but a regular file is refused with an ``OSError`` whose
``strerror`` says what it is, for callers that already word an ``OSError``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, BinaryIO


class JsonFileError(ValueError):
    """The file is too large or not JSON; the message names it."""


class NotRegularFile(OSError):
    """The path names a FIFO, a device, a socket: something that is not a file to read."""


def _refuse(path: Path, mode: int) -> None:
    """Raise for anything at ``path`` (of ``mode``) that is not a regular file."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder, not a file", str(path))
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
    raise NotRegularFile(errno.EINVAL, f"it is {kind}, not a regular file", str(path))


def check_regular(path: Path) -> None:
    """Raise unless ``path`` is a regular file (``FileNotFoundError`` when there is none)."""
    _refuse(path, path.stat().st_mode)


def open_regular(path: Path) -> BinaryIO:
    """Open the regular file at ``path`` for reading; refuse anything else before opening it.

    ``OSError`` (``FileNotFoundError``, ``IsADirectoryError``, :class:`NotRegularFile`,
    ``PermissionError``) names what is wrong in its ``strerror``.
    """
    check_regular(path)
    # Non-blocking: a FIFO put there since the look above must not block this open either.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _refuse(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_writable_target(path: Path) -> None:
    """Raise unless a file can be created or replaced at ``path`` (its folder is there)."""
    try:
        _refuse(path, path.stat().st_mode)
        return
    except FileNotFoundError:
        pass
    parent = path.parent
    try:
        mode = parent.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(
            errno.ENOENT, f"its folder {parent} does not exist", str(path)
        ) from None
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(errno.ENOTDIR, f"{parent} is not a folder", str(path))


def open_regular_for_writing(path: Path) -> BinaryIO:
    """Create or truncate the regular file at ``path``; refuse a FIFO, a device or a folder."""
    check_writable_target(path)
    # Non-blocking: opening a FIFO for writing blocks until a reader comes (ENXIO instead).
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise NotRegularFile(
                errno.EINVAL, "it is a FIFO (named pipe), not a regular file", str(path)
            ) from None
        raise
    try:
        _refuse(path, os.fstat(fd).st_mode)
        os.ftruncate(fd, 0)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: Path, cap: int) -> bytes:
    """Return at most ``cap + 1`` bytes of the regular file at ``path`` (more means too large)."""
    with open_regular(path) as handle:
        return handle.read(cap + 1)


def load_capped(path: Path, cap: int, what: str) -> Any:
    """Return the JSON in ``path``, reading at most ``cap`` bytes; ``what`` names it in errors.

    ``OSError`` (missing file, no permission, not a regular file) passes through for the caller
    to word.
    """
    raw = read_capped(path, cap)
    if len(raw) > cap:
        raise JsonFileError(f"{what} {path} is larger than {cap} bytes")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JsonFileError(f"{what} {path} is not JSON: {exc}") from None
