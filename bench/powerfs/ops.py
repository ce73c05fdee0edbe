"""The volume served through FUSE (mfusepy's high-level, path-based interface).

Regular files are opened with ``direct_io``, so every read and write reaches the volume and no
page cache outlives a power cut. Only SQLite's ``-shm`` files go through the kernel's page
cache, because SQLite maps them into memory (``mmap`` needs the page cache); they are never
synced, and SQLite rebuilds them from the WAL after a crash, as it does on a real disk.

Locks (``flock`` and ``fcntl``) are not implemented here on purpose: the kernel then keeps them
itself, for every process on this machine, which is what the box's processes need.
"""

from __future__ import annotations

import errno
from typing import Any

import mfusepy

from bench.powerfs.model import MAPPED_SUFFIX, Volume


class PowerFuse(mfusepy.FUSE):  # type: ignore[misc]
    """mfusepy's FUSE, passing the open file of truncate, chmod, chown and utimens along.

    With ``nullpath_ok`` libfuse gives these no path when they come through an open file
    (``ftruncate`` on SQLite's ``-shm``); mfusepy would drop the file too.
    """

    def _decoded(self, path: bytes | None) -> str | None:
        return None if path is None else path.decode(self.encoding, self.errors)

    def truncate_fuse_3(self, path: bytes | None, length: int, fip: Any) -> int:
        fi = fip.contents if fip else None
        result: int = self.operations.truncate(self._decoded(path), length, fi)
        return result

    def chmod_fuse_3(self, path: bytes | None, mode: int, fip: Any) -> int:
        fi = fip.contents if fip else None
        result: int = self.operations.chmod(self._decoded(path), mode, fi)
        return result

    def rename_fuse_3(self, old: bytes, new: bytes, flags: int) -> int:
        # mfusepy would drop the flags: RENAME_NOREPLACE or _EXCHANGE must not become a plain
        # rename. Refused, the caller falls back (or fails) as on a file system without them.
        if flags:
            return -errno.EINVAL
        result: int = self.operations.rename(self._decoded(old), self._decoded(new))
        return result

    def chown_fuse_3(self, path: bytes | None, uid: int, gid: int, fip: Any) -> int:
        fi = fip.contents if fip else None
        result: int = self.operations.chown(self._decoded(path), uid, gid, fi)
        return result


class PowerOps(mfusepy.Operations):  # type: ignore[misc]
    """FUSE callbacks over a :class:`Volume`."""

    use_ns = True
    # Operations on an open file keep working after its name is gone (SQLite unlinks its WAL
    # while it may still be open); libfuse then passes no path, only the handle.
    flag_nopath = True
    flag_nullpath_ok = True

    def __init__(self, volume: Volume) -> None:
        self.volume = volume

    def init_with_config(self, conn_info: Any, config: Any) -> None:
        if config is None:
            return
        # Nothing cached in the kernel: after a cut, names and sizes are asked again.
        config.entry_timeout = 0.0
        config.attr_timeout = 0.0
        config.negative_timeout = 0.0
        # Unlink for real (no .fuse_hidden files), and the volume's own inode numbers: SQLite
        # tells files apart by (device, inode).
        config.hard_remove = 1
        config.use_ino = 1
        config.kernel_cache = 0
        config.auto_cache = 0

    @staticmethod
    def _fh(fi: Any) -> int | None:
        return None if fi is None else int(fi.fh)

    @staticmethod
    def _caching(path: str, fi: Any) -> None:
        fi.direct_io = 0 if path.endswith(MAPPED_SUFFIX) else 1
        fi.keep_cache = 0

    # -- reading ------------------------------------------------------------------------------

    def getattr(self, path: str | None, fh: Any = None) -> dict[str, int]:
        return self.volume.getattr(path, self._fh(fh))

    def readdir(self, path: str | None, fh: int) -> list[tuple[str, dict[str, int], int]]:
        # Each entry with its inode number: readdir(3) skips entries whose number is 0.
        own = self.volume.getattr(path, fh)
        dots = [(".", own), ("..", own)]
        entries = [
            (name, {"st_ino": ino, "st_mode": mode})
            for name, ino, mode in self.volume.readdir(path, fh)
        ]
        return [(name, attrs, 0) for name, attrs in [*dots, *entries]]

    def readlink(self, path: str) -> str:
        return self.volume.readlink(path)

    def statfs(self, path: str) -> dict[str, int]:
        return self.volume.statfs()

    def open(self, path: str, fi: Any) -> int:
        fi.fh = self.volume.open(path)
        self._caching(path, fi)
        return 0

    def opendir(self, path: str) -> int:
        return self.volume.open(path)

    def read(self, path: str | None, size: int, offset: int, fi: Any) -> bytes:
        return self.volume.read(int(fi.fh), size, offset)

    def flush(self, path: str | None, fi: Any) -> int:
        return 0  # closing a file syncs nothing

    def release(self, path: str | None, fi: Any) -> int:
        self.volume.release(int(fi.fh))
        return 0

    def releasedir(self, path: str | None, fh: int) -> int:
        self.volume.release(fh)
        return 0

    # -- writing ------------------------------------------------------------------------------

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        fi.fh = self.volume.create(path, mode)
        self._caching(path, fi)
        return 0

    def write(self, path: str | None, data: bytes, offset: int, fi: Any) -> int:
        return self.volume.write(int(fi.fh), data, offset)

    def truncate(self, path: str | None, length: int, fh: Any = None) -> int:
        self.volume.truncate(path, length, self._fh(fh))
        return 0

    def fsync(self, path: str | None, datasync: int, fi: Any) -> int:
        self.volume.fsync(int(fi.fh))
        return 0

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> int:
        self.volume.fsync(fh)
        return 0

    def chmod(self, path: str | None, mode: int, fh: Any = None) -> int:
        self.volume.chmod(path, mode, self._fh(fh))
        return 0

    def chown(self, path: str | None, uid: int, gid: int, fh: Any = None) -> int:
        self.volume.chown(path, uid, gid, self._fh(fh))
        return 0

    def utimens(self, path: str | None, times: tuple[int, int] | None = None) -> int:
        self.volume.utimens(path, None if times is None else int(times[1]))
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self.volume.mkdir(path, mode)
        return 0

    def rmdir(self, path: str) -> int:
        self.volume.rmdir(path)
        return 0

    def unlink(self, path: str) -> int:
        self.volume.unlink(path)
        return 0

    def symlink(self, target: str, source: str) -> int:
        # mfusepy's order: ``target`` is the new link, ``source`` what it points to.
        self.volume.symlink(target, source)
        return 0

    def rename(self, old: str, new: str) -> int:
        self.volume.rename(old, new)
        return 0
