"""A real, small filesystem for tests to fill up and make read-only.

As root of the machine (CI), an ext4 image of a few MiB is loop-mounted: the same filesystem
the box's data partition uses, with its real ENOSPC and EROFS. Without loop devices, or as
root of a user namespace (the fallback for a non-root run: ``unshare --user --map-root-user
--mount``), a size-limited tmpfs is mounted instead and made read-only by a read-only bind
mount over itself. Every mount is undone on the way out, whatever happened.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

IMAGE_BYTES = 8 * 1024 * 1024
TMPFS_SIZE = "4m"
# Fill with big writes first, then smaller ones, down to the last free byte.
FILL_CHUNKS = (1 << 20, 64 * 1024, 4096, 1024, 1)


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


def in_initial_user_namespace() -> bool:
    """Tell whether uid 0 here is the machine's root (not a user namespace's)."""
    uid_map = Path("/proc/self/uid_map").read_text().split()
    return uid_map == ["0", "0", "4294967295"]


def loop_available() -> bool:
    """Tell whether this process can loop-mount an image."""
    return os.geteuid() == 0 and in_initial_user_namespace() and Path("/dev/loop-control").exists()


class SmallFs:
    """A mounted small filesystem, with a filler file to use up its space."""

    def __init__(self, mount: Path, kind: str, bind_read_only: bool) -> None:
        self.mount = mount
        self.kind = kind
        self.filler = mount / "filler"
        self._bind_read_only = bind_read_only
        self._read_only = False

    def fill(self) -> None:
        """Write the filler until the filesystem refuses another byte."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in FILL_CHUNKS:
                block = b"\xa5" * chunk
                while True:
                    try:
                        os.write(fd, block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
            os.fsync(fd)
        finally:
            os.close(fd)

    def release(self, nbytes: int) -> None:
        """Give ``nbytes`` of the filler back to the filesystem."""
        with self.filler.open("r+b") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.truncate(max(0, size - nbytes))
            os.fsync(handle.fileno())

    def read_only(self) -> None:
        """Make the filesystem read-only, as the kernel does to a failing card."""
        if self._bind_read_only:
            run("mount", "--bind", str(self.mount), str(self.mount))
            run("mount", "-o", "remount,bind,ro", str(self.mount))
        else:
            run("mount", "-o", "remount,ro", str(self.mount))
        self._read_only = True

    def read_write(self) -> None:
        """Make the filesystem writable again."""
        if not self._read_only:
            return
        if self._bind_read_only:
            run("umount", str(self.mount))  # drops the read-only bind, uncovering the tmpfs
        else:
            run("mount", "-o", "remount,rw", str(self.mount))
        self._read_only = False


def _unmount_all(mount: Path) -> None:
    """Unmount everything stacked on ``mount``; lazily if something still holds it."""
    for _ in range(4):
        if not os.path.ismount(mount):
            return
        result = subprocess.run(["umount", str(mount)], capture_output=True, timeout=30)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


@contextmanager
def small_filesystem(workdir: Path) -> Iterator[SmallFs]:
    """Mount a small filesystem under ``workdir`` for the duration of the block (needs uid 0)."""
    mount = workdir / "mnt"
    mount.mkdir()
    try:
        if loop_available():
            image = workdir / "data.img"
            with image.open("wb") as handle:
                handle.truncate(IMAGE_BYTES)
            # 1 KiB blocks make space run out in small steps; -m 0 gives root no reserve.
            run("mkfs.ext4", "-q", "-F", "-b", "1024", "-m", "0", str(image))
            run("mount", "-o", "loop", str(image), str(mount))
            fs = SmallFs(mount, "ext4-loop", bind_read_only=False)
        else:
            run("mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount))
            fs = SmallFs(mount, "tmpfs", bind_read_only=True)
        yield fs
    finally:
        _unmount_all(mount)
