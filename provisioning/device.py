"""``from-device``: what ``qingka-provision@.service`` runs when a stick labelled QINGKA appears.

The unit has its own mount namespace (``PrivateMounts=yes``), so the mount below is seen by
nobody else and vanishes with the unit. The stick is mounted **read-only** (``nosuid``,
``nodev``, ``noexec``) while the bundle is verified and copied to the data partition; it is
remounted read-write only for the last step, writing the report and any enrollment request,
then unmounted, also after any failure.

Why remount instead of a read-write mount with a read-only view of the bundle: a FAT stick
mounted read-write is marked dirty on the medium as soon as anything is written, and a stick
pulled while dirty needs a check on the next computer. Keeping it read-only for the whole
verify-and-apply phase (the long part) means a stick pulled then is left exactly as it was; the
writable window is a few small files and their fsync.
"""

from __future__ import annotations

import logging
import re
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from provisioning.apply import Applier
from provisioning.errors import MountFailed
from provisioning.report import Outcome

_log = logging.getLogger("qingka.provision")

# File systems a stick may carry; anything else (squashfs, a crafted image) is not mounted.
FILESYSTEMS = ("vfat", "exfat", "ext4", "ext3", "ext2")
_COMMAND_TIMEOUT_S = 60
_DEVICE = re.compile(r"/dev/[A-Za-z0-9._/-]{1,64}")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S, check=False
    )


def filesystem(device: Path) -> str:
    """Return the file system type on ``device``; :class:`MountFailed` if it is not allowed."""
    try:
        info = device.stat()
    except OSError as exc:
        raise MountFailed(f"{device}: {exc.strerror}") from None
    if not stat.S_ISBLK(info.st_mode):
        raise MountFailed(f"{device} is not a block device")
    found = _run("blkid", "-p", "-o", "value", "-s", "TYPE", str(device)).stdout.strip()
    if found not in FILESYSTEMS:
        raise MountFailed(f"{device}: file system {found or 'unknown'!r} is not one a stick uses")
    return found


def mount_options(kind: str) -> str:
    """Return the read-only mount options for a stick's file system."""
    options = "ro,nosuid,nodev,noexec"
    if kind in ("vfat", "exfat"):
        # Only root may read what is mounted; "flush" writes the report out before the unmount.
        options += ",uid=0,gid=0,umask=0077"
        if kind == "vfat":
            options += ",flush"
    return options


@contextmanager
def mounted(device: Path, base: Path) -> Iterator[Path]:
    """Mount ``device`` read-only under ``base``; unmount whatever happens."""
    if not _DEVICE.fullmatch(str(device)) or ".." in device.parts:
        raise MountFailed(f"{str(device)[:80]!r} is not a device path")
    kind = filesystem(device)
    target = base / device.name
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.mkdir(exist_ok=True, mode=0o700)
    done = _run("mount", "-t", kind, "-o", mount_options(kind), str(device), str(target))
    if done.returncode != 0:
        target.rmdir()
        raise MountFailed(f"{device}: {done.stderr.strip()[:200]}")
    _log.info("mounted %s (%s) read-only at %s", device, kind, target)
    try:
        yield target
    finally:
        unmount(target)


def unmount(target: Path) -> None:
    """Unmount ``target``; lazily if something still holds it. Never raises."""
    try:
        if _run("umount", str(target)).returncode != 0:
            _run("umount", "-l", str(target))
        target.rmdir()
    except (OSError, subprocess.SubprocessError) as exc:
        _log.warning("unmounting %s: %s", target, exc)


@contextmanager
def writable(target: Path) -> Iterator[None]:
    """Remount the stick read-write for the block, then read-only again."""
    done = _run("mount", "-o", "remount,rw", str(target))
    if done.returncode != 0:
        raise OSError(f"remount read-write failed: {done.stderr.strip()[:200]}")
    try:
        yield
    finally:
        _run("mount", "-o", "remount,ro", str(target))


def from_device(device: Path, applier: Applier) -> Outcome:
    """Mount ``device``, apply it, write the report, unmount."""
    try:
        with mounted(device, applier.paths.mount_base) as target:
            applier.stick_writable = lambda: writable(target)
            return applier.apply(target)
    except MountFailed as exc:
        return applier.unreadable(exc)
