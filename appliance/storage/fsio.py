"""Durable, bounded file operations: atomic writes, directory fsync, capped reads, free space.

A write goes to a temporary file in the same directory, is fsynced, renamed over the final
name and the directory is fsynced: after a power cut the final name holds either the old bytes
or the new ones, never a mixture. Temporary files start with :data:`TEMP_PREFIX`, which no
stored name may, so a leftover of an interrupted write is never taken for data.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from appliance.storage.errors import BackupCorrupt

TEMP_PREFIX = ".tmp-"
# Read in slices so a capped read never asks the kernel for the whole cap at once.
READ_SLICE = 1 << 20


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (a rename or a new file) to the medium."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as exc:
        # vfat on a USB stick refuses fsync of a directory; its entries reach the stick with
        # the file's own fsync there, so there is nothing more to do.
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def temp_name(directory: Path) -> Path:
    """Return a fresh temporary path in ``directory``."""
    return directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}"


@contextmanager
def atomic_file(path: Path, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Yield a file whose bytes replace ``path`` atomically and durably when the block ends.

    On any error, including a full disk at the final flush, the temporary file is removed and
    ``path`` is untouched.
    """
    temp = temp_name(path.parent)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    with atomic_file(path, mode) as handle:
        handle.write(data)


def remove_durably(path: Path) -> None:
    """Remove a file if present and flush its directory."""
    path.unlink(missing_ok=True)
    fsync_dir(path.parent)


def ensure_dirs(
    directory: Path,
    created: list[Path] | None = None,
    mode: int = 0o750,
    *,
    parents_mode: int | None = None,
    make: Callable[[Path, int], None] | None = None,
    sync: Callable[[Path], None] = fsync_dir,
) -> None:
    """Create ``directory`` and missing parents durably, appending each to ``created``.

    A new name is on the medium only once its parent is synced: without that, a power cut can
    take a whole new folder away with every file that was synced inside it. ``created`` grows
    as directories are made, so a caller can undo a half-done creation. Parents get
    ``parents_mode`` (default ``mode``); ``make(path, mode)`` and ``sync(folder)`` replace
    ``Path.mkdir`` and :func:`fsync_dir` for a caller that watches each step.
    """
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        wanted = mode if path == directory or parents_mode is None else parents_mode
        try:
            if make is None:
                path.mkdir(wanted)
            else:
                make(path, wanted)
        except FileExistsError:
            # Another thread or process made it between the check and here: that is fine,
            # as long as it is a directory; it is not ours to undo.
            if not path.is_dir():
                raise
            continue
        if created is not None:
            created.append(path)
        sync(path.parent)


def remove_empty_dirs(created: list[Path]) -> None:
    """Undo :func:`ensure_dirs` as far as the directories are still empty."""
    for path in reversed(created):
        try:
            path.rmdir()
            fsync_dir(path.parent)
        except OSError:
            # Not empty (another file arrived) or the medium is failing: an empty directory
            # left behind holds no data and is ignored by every reader.
            return


def read_capped(path: Path, limit: int) -> bytes:
    """Return the bytes of the regular file ``path``; :class:`BackupCorrupt` above ``limit``.

    Symbolic links, FIFOs and devices are refused: a hostile or damaged disk must not make a
    reader block forever or follow a link out of the store.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BackupCorrupt(
                "a symbolic link where a file should be", path, zh="应为文件处是一个符号链接"
            ) from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BackupCorrupt("not a regular file", path, zh="不是普通文件")
        if info.st_size > limit:
            raise BackupCorrupt(
                f"{info.st_size} bytes, more than the {limit} allowed",
                path,
                zh=f"{info.st_size} 字节，超过允许的 {limit} 字节",
            )
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(READ_SLICE, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise BackupCorrupt(
                f"more than the {limit} bytes allowed", path, zh=f"超过允许的 {limit} 字节"
            )
        return b"".join(chunks)
    finally:
        os.close(fd)


def nearest_existing(path: Path) -> Path:
    """Return ``path`` or its closest ancestor that exists."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def free_space(path: Path) -> tuple[int, bool]:
    """Return (bytes an unprivileged writer may still use, read-only?) of ``path``'s filesystem."""
    info = os.statvfs(nearest_existing(path))
    return info.f_bavail * info.f_frsize, bool(info.f_flag & os.ST_RDONLY)
