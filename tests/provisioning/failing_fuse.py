"""A read-only FUSE view of a folder that starts failing, like a stick pulled mid-read.

``python -m tests.provisioning.failing_fuse SOURCE MOUNTPOINT FAIL_AFTER_BYTES``: every read
past the first FAIL_AFTER_BYTES (all files together) answers EIO, and so does every lookup
after that, as the kernel does once a USB stick is gone. Writes answer EROFS.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

import mfusepy


class FailingView(mfusepy.Operations):  # type: ignore[misc]
    """Pass reads through to ``source`` until ``budget`` bytes were read, then fail."""

    use_ns = True  # nanosecond times, as mfusepy asks

    def __init__(self, source: str, budget: int) -> None:
        self.source = source
        self.budget = budget
        self.gone = False

    def _path(self, path: str) -> str:
        if self.gone:
            raise mfusepy.FuseOSError(errno.EIO)
        return str(Path(self.source, path.lstrip("/")))

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        info = os.lstat(self._path(path))
        keys = ("st_mode", "st_size", "st_uid", "st_gid", "st_nlink", "st_mtime", "st_atime")
        return {key: getattr(info, key) for key in (*keys, "st_ctime")}

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *(child.name for child in Path(self._path(path)).iterdir())]

    def open(self, path: str, flags: int) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise mfusepy.FuseOSError(errno.EROFS)
        return os.open(self._path(path), os.O_RDONLY)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        data = os.pread(fh, size, offset)
        # A pulled stick fails whole reads; a short read would look like the end of the file.
        if self.gone or len(data) > self.budget:
            self.gone = True
            raise mfusepy.FuseOSError(errno.EIO)
        self.budget -= len(data)
        return data

    def release(self, path: str, fh: int) -> int:
        os.close(fh)
        return 0

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        raise mfusepy.FuseOSError(errno.EROFS)

    def mkdir(self, path: str, mode: int) -> int:
        raise mfusepy.FuseOSError(errno.EROFS)


def main() -> None:
    source, mountpoint, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mfusepy.FUSE(FailingView(source, budget), mountpoint, foreground=True, nothreads=True)


if __name__ == "__main__":
    main()
