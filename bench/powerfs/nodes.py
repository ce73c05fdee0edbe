"""The power-cut volume's inodes: each with the state readers see and the state on the medium."""

from __future__ import annotations

import enum
import os
import stat
from dataclasses import dataclass, field

from appliance.clock import clock

PAGE_SIZE = 4096
ROOT_INO = 1
# Longest name and path the volume takes, as ext4 does.
NAME_MAX = 255
PATH_MAX = 4096
# What statfs reports: room enough that the box never thinks its partition is full.
CAPACITY_BYTES = 4 << 30


class Kind(enum.Enum):
    """What an inode is."""

    FILE = stat.S_IFREG
    DIR = stat.S_IFDIR
    LINK = stat.S_IFLNK


# The name of the operation that makes each kind of inode.
MAKING = {Kind.FILE: "create", Kind.DIR: "mkdir", Kind.LINK: "symlink"}


def now_ns() -> int:
    return int(clock().timestamp() * 1e9)


@dataclass
class Node:
    """One inode, with its volatile and its durable state."""

    ino: int
    kind: Kind
    mode: int
    uid: int = 0
    gid: int = 0
    mtime_ns: int = 0
    ctime_ns: int = 0
    # A file: the bytes readers see, the bytes the medium holds, the pages written in between.
    data: bytearray = field(default_factory=bytearray)
    durable: bytes = b""
    dirty: set[int] = field(default_factory=set)
    # A directory: the entries readers see and the entries the medium holds.
    entries: dict[str, int] = field(default_factory=dict)
    durable_entries: dict[str, int] = field(default_factory=dict)
    # A symbolic link: where it points (fixed at creation, so always durable with its name).
    target: str = ""
    # The path it was last given (to say where a cut struck; may be stale after a move).
    path: str = ""

    def touch(self) -> None:
        """Record a change of content now."""
        self.mtime_ns = self.ctime_ns = now_ns()


@dataclass
class Change:
    """One directory entry set (to an inode) or removed (``None``) by an operation."""

    dir_ino: int
    name: str
    ino: int | None
    synced: bool = False


@dataclass
class CutReport:
    """What one power cut kept and lost of the unsynced state."""

    pages_kept: int = 0
    pages_lost: int = 0
    sizes_kept: int = 0
    sizes_lost: int = 0
    dir_ops_kept: int = 0
    dir_ops_lost: int = 0

    def to_json(self) -> dict[str, int]:
        """Return the counts, JSON-ready."""
        return dict(self.__dict__)


def fail(code: int) -> OSError:
    """Return the ``OSError`` the FUSE layer turns into ``-code``."""
    return OSError(code, os.strerror(code))


@dataclass
class Handle:
    """An open file or directory: its inode, and the power epoch it was opened in."""

    ino: int
    epoch: int
