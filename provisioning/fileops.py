"""Every file operation of provisioning goes through here, so a test can fail each one.

A stick pulled mid-apply or a failing data partition shows up as an ``OSError`` at some step:
opening, reading, writing, syncing, renaming. :func:`set_fault_hook` lets a test raise one at the
n-th step of a whole apply and check that the old configuration is still whole.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from appliance.storage import fsio
from provisioning.errors import ProvisionError

FaultHook = Callable[[str, str], None]

_hook: FaultHook | None = None
# Read and copy in slices so no file is ever held whole unless it is small.
SLICE = 1 << 20


def set_fault_hook(hook: FaultHook | None) -> FaultHook | None:
    """Install ``hook(operation, path)``, called before every file operation; return the old."""
    global _hook  # the one place that swaps the hook
    old, _hook = _hook, hook
    return old


def step(operation: str, path: Path | str) -> None:
    """Announce a file operation to the fault hook (which may raise ``OSError``)."""
    if _hook is not None:
        _hook(operation, str(path))


def open_fd(path: Path, flags: int, mode: int = 0o600, dir_fd: int | None = None) -> int:
    """Open ``path`` (relative to ``dir_fd`` if given), never following a final symlink."""
    step("open", path)
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)


def kind(mode: int) -> str:
    """Return what a file that is not a regular file is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    return "not a regular file"


def open_regular(
    path: Path,
    error: type[ProvisionError],
    where: str,
    dir_fd: int | None = None,
    follow: bool = False,
) -> tuple[int, int]:
    """Open a regular file for reading; return (descriptor, size), ``error`` for anything else.

    Every file provisioning reads from a stick or from a path a person typed comes through
    here. ``O_NONBLOCK`` makes opening a FIFO return at once (a plain open waits for a writer
    forever); ``fstat`` on the open descriptor then refuses it, a device or a folder before a
    byte is read. A final symbolic link is refused unless ``follow`` (a stick's files never
    are; a key file in the office may be one).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        step("open", path)
        fd = os.open(path, flags | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise error(f"{where} is a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{where} is {kind(info.st_mode)}, not a file")
        # Back to blocking reads: O_NONBLOCK was only for the open.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def read_regular(path: Path, cap: int, error: type[ProvisionError], follow: bool = True) -> bytes:
    """Return at most ``cap`` + 1 bytes of the regular file ``path`` (the caller checks the cap).

    ``error`` for anything that is not a regular file; ``OSError`` (``FileNotFoundError`` for a
    missing file) is left to the caller.
    """
    fd, _ = open_regular(path, error, str(path), follow=follow)
    try:
        return read_fd_capped(fd, cap, path)
    finally:
        os.close(fd)


def read_fd_capped(fd: int, cap: int, where: Path) -> bytes:
    """Return at most ``cap + 1`` bytes read from ``fd`` in slices (more means too large)."""
    chunks: list[bytes] = []
    total = 0
    while total <= cap:
        chunk = read(fd, min(SLICE, cap + 1 - total), where)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read(fd: int, size: int, path: Path) -> bytes:
    """Read up to ``size`` bytes."""
    step("read", path)
    return os.read(fd, size)


def write_all(fd: int, data: bytes, path: Path) -> None:
    """Write all of ``data``."""
    view = memoryview(data)
    while view:
        step("write", path)
        written = os.write(fd, view)
        view = view[written:]


def fsync(fd: int, path: Path) -> None:
    """Flush a file to the medium."""
    step("fsync", path)
    os.fsync(fd)


def fsync_dir(directory: Path) -> None:
    """Flush a directory's entries (new names, renames) to the medium."""
    step("fsync-dir", directory)
    fsio.fsync_dir(directory)


def mkdir(path: Path, mode: int) -> None:
    """Make one directory with exactly ``mode`` (the umask does not narrow it)."""
    step("mkdir", path)
    path.mkdir(mode)
    path.chmod(mode)


def make_dirs(path: Path, mode: int, parents_mode: int = 0o755) -> None:
    """Make ``path`` (and missing parents) durably: each new folder is synced into its parent."""
    fsio.ensure_dirs(path, mode=mode, parents_mode=parents_mode, make=mkdir, sync=fsync_dir)


def rename(source: Path, target: Path) -> None:
    """Rename atomically over ``target``."""
    step("rename", target)
    source.replace(target)


def symlink(target: str, link: Path) -> None:
    """Make a symbolic link ``link`` -> ``target``."""
    step("symlink", link)
    link.symlink_to(target)


def chown(path: Path, uid: int, gid: int) -> None:
    """Set a file's owner without following a link."""
    step("chown", path)
    os.chown(path, uid, gid, follow_symlinks=False)


def write_file(
    path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None, sync: bool = True
) -> None:
    """Create ``path`` (which must not exist) with ``data``, ``mode`` and ``owner``; fsync it.

    The mode is set on the open file before any byte is written, so a secret is never readable
    by others even for an instant.
    """
    fd = open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        if owner is not None:
            step("chown", path)
            os.fchown(fd, *owner)
        write_all(fd, data, path)
        if sync:
            fsync(fd, path)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temporary name, fsync, rename)."""
    temp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    temp.unlink(missing_ok=True)
    try:
        write_file(temp, data, mode, owner)
        rename(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def remove_tree(path: Path) -> None:
    """Remove a directory tree if present (best effort: leftovers are ignored by readers)."""
    shutil.rmtree(path, ignore_errors=True)
