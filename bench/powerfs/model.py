"""The volume of the power-cut file system: what readers see now, and what a cut leaves.

Every inode holds two states. Readers and writers see the *volatile* one; the *durable* one is
what the medium holds for sure:

- a file's bytes (and its size) become durable on fsync or fdatasync of that file;
- a directory's entries (create, mkdir, symlink, rename, unlink, rmdir) become durable on fsync
  of that directory, and only then: a file's own fsync does not make its name durable;
- metadata (mode, owner, times) is taken as durable at once: nothing the box does relies on a
  mode change surviving, and modelling it would only add noise.

A power cut keeps the durable state and, of what was not synced, a random part: each page
(4 KiB) written since the file's last sync is kept or lost on its own, and the size is the old
or the new one (a file that grew but lost its pages reads zeros there); each directory operation
not yet synced is kept or lost on its own and the kept ones are replayed in order (a rename as a
whole, both of its names or neither, except the half a directory sync already made durable).
That is the weakest promise POSIX makes, the one SQLite's crash-test VFS models: nothing orders
one file's data against another's, nor a file's data against its name.

Every method runs under one lock; the FUSE layer calls them from several threads.
"""

from __future__ import annotations

import errno
import random
import threading
from collections.abc import Callable

from bench.powerfs.nodes import (
    CAPACITY_BYTES,
    MAKING,
    NAME_MAX,
    PAGE_SIZE,
    PATH_MAX,
    ROOT_INO,
    Change,
    CutReport,
    Handle,
    Kind,
    Node,
    fail,
    now_ns,
)

__all__ = ["MAPPED_SUFFIX", "PAGE_SIZE", "CutReport", "Kind", "Node", "Volume"]

# Files SQLite maps into memory (its WAL index): served through the page cache.
MAPPED_SUFFIX = "-shm"


class Volume:
    """The whole file system, in memory."""

    def __init__(self, uid: int = 0, gid: int = 0) -> None:
        self.lock = threading.RLock()
        self.nodes: dict[int, Node] = {}
        self.next_ino = ROOT_INO
        self.uid, self.gid = uid, gid
        root = self.new_node(Kind.DIR, 0o755)
        assert root.ino == ROOT_INO
        # Directory operations not yet made durable, oldest first; one list per operation.
        self.pending: list[list[Change]] = []
        self.handles: dict[int, Handle] = {}
        self.next_fh = 1
        # Bumped by every cut: a handle opened before it belongs to a process the cut killed.
        self.epoch = 0
        self.cuts = 0
        # While frozen, every change waits (the instant of the cut has passed; the processes
        # are being stopped) and fails once the cut is made: nothing after it reaches anyone.
        self.frozen = False
        self._gate = threading.Condition(self.lock)
        # Changes made so far, and the one that freezes the volume when armed.
        self.changes = 0
        self.trip_at: int | None = None
        self.tripped: dict[str, str] | None = None
        self.on_trip: Callable[[dict[str, str]], None] | None = None

    # -- inodes and paths ---------------------------------------------------------------------

    def new_node(self, kind: Kind, mode: int) -> Node:
        """Make an inode no name points to yet."""
        node = Node(self.next_ino, kind, mode & 0o7777, self.uid, self.gid)
        node.touch()
        self.nodes[node.ino] = node
        self.next_ino += 1
        return node

    @staticmethod
    def _parts(path: str) -> list[str]:
        if len(path) > PATH_MAX:
            raise fail(errno.ENAMETOOLONG)
        parts = [part for part in path.split("/") if part]
        if any(len(part) > NAME_MAX for part in parts):
            raise fail(errno.ENAMETOOLONG)
        return parts

    def lookup(self, path: str) -> Node:
        """Return the inode at ``path`` (symbolic links are not followed: the kernel does)."""
        node = self.nodes[ROOT_INO]
        for part in self._parts(path):
            if node.kind is not Kind.DIR:
                raise fail(errno.ENOTDIR)
            ino = node.entries.get(part)
            if ino is None:
                raise fail(errno.ENOENT)
            node = self.nodes[ino]
        return node

    def _parent(self, path: str) -> tuple[Node, str]:
        parts = self._parts(path)
        if not parts:
            raise fail(errno.EBUSY)  # the root has no parent entry to change
        parent = self.lookup("/" + "/".join(parts[:-1]))
        if parent.kind is not Kind.DIR:
            raise fail(errno.ENOTDIR)
        return parent, parts[-1]

    def _gate_change(self, op: str, where: str) -> None:
        """Let one change through, or hold it while frozen and fail it after the cut."""
        self.changes += 1
        if self.trip_at is not None and self.changes >= self.trip_at and not self.frozen:
            self.trip_at = None
            self.frozen = True
            self.tripped = {"op": op, "path": where}
            if self.on_trip is not None:
                self.on_trip(self.tripped)
        epoch = self.epoch
        while self.frozen and self.epoch == epoch:
            self._gate.wait()
        if self.epoch != epoch:
            # The power went while this change waited: it never reached the medium.
            raise fail(errno.EIO)

    def _log(self, *changes: Change) -> None:
        self.pending.append(list(changes))

    # -- handles ------------------------------------------------------------------------------

    def _open_handle(self, node: Node) -> int:
        fh = self.next_fh
        self.next_fh += 1
        self.handles[fh] = Handle(node.ino, self.epoch)
        return fh

    def node_of(self, fh: int) -> Node:
        """Return the inode of an open handle; EIO for a handle from before the last cut."""
        handle = self.handles.get(fh)
        if handle is None or handle.epoch != self.epoch or handle.ino not in self.nodes:
            raise fail(errno.EIO)
        return self.nodes[handle.ino]

    def open(self, path: str) -> int:
        """Open an existing file or directory; return a handle."""
        with self.lock:
            return self._open_handle(self.lookup(path))

    def release(self, fh: int) -> None:
        """Forget a handle (closing never syncs anything)."""
        with self.lock:
            self.handles.pop(fh, None)

    # -- reading ------------------------------------------------------------------------------

    def attributes(self, node: Node) -> dict[str, int]:
        """Return ``stat`` fields of an inode."""
        size = {
            Kind.FILE: len(node.data),
            Kind.DIR: PAGE_SIZE,
            Kind.LINK: len(node.target.encode()),
        }[node.kind]
        links = (
            2 + sum(1 for ino in node.entries.values() if self.nodes[ino].kind is Kind.DIR)
            if node.kind is Kind.DIR
            else 1
        )
        return {
            "st_ino": node.ino,
            "st_mode": node.kind.value | node.mode,
            "st_nlink": links,
            "st_uid": node.uid,
            "st_gid": node.gid,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_blksize": PAGE_SIZE,
            "st_atime": node.mtime_ns,
            "st_mtime": node.mtime_ns,
            "st_ctime": node.ctime_ns,
        }

    def resolve(self, path: str | None, fh: int | None) -> Node:
        """Return the inode of an open handle if it is alive, else the one at ``path``."""
        handle = self.handles.get(fh) if fh is not None else None
        if handle is not None and handle.epoch == self.epoch and handle.ino in self.nodes:
            return self.nodes[handle.ino]
        if path is None:
            raise fail(errno.EIO)
        return self.lookup(path)

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, int]:
        """Return ``stat`` fields by handle (a file unlinked while open has no path) or path."""
        with self.lock:
            return self.attributes(self.resolve(path, fh))

    def readdir(self, path: str | None, fh: int | None = None) -> list[tuple[str, int, int]]:
        """Return (name, inode number, mode) of every entry of a directory."""
        with self.lock:
            node = self.resolve(path, fh)
            if node.kind is not Kind.DIR:
                raise fail(errno.ENOTDIR)
            return [
                (name, ino, self.nodes[ino].kind.value | self.nodes[ino].mode)
                for name, ino in sorted(node.entries.items())
            ]

    def read(self, fh: int, size: int, offset: int) -> bytes:
        """Read from an open file."""
        with self.lock:
            node = self.node_of(fh)
            if node.kind is not Kind.FILE:
                raise fail(errno.EISDIR)
            return bytes(node.data[offset : offset + size])

    def readlink(self, path: str) -> str:
        """Return where a symbolic link points."""
        with self.lock:
            node = self.lookup(path)
            if node.kind is not Kind.LINK:
                raise fail(errno.EINVAL)
            return node.target

    def statfs(self) -> dict[str, int]:
        """Return ``statvfs`` fields."""
        with self.lock:
            used = sum(len(node.data) for node in self.nodes.values())
            blocks, free = CAPACITY_BYTES // PAGE_SIZE, (CAPACITY_BYTES - used) // PAGE_SIZE
            return {
                "f_bsize": PAGE_SIZE,
                "f_frsize": PAGE_SIZE,
                "f_blocks": blocks,
                "f_bfree": free,
                "f_bavail": free,
                "f_files": 1 << 20,
                "f_ffree": (1 << 20) - len(self.nodes),
                "f_favail": (1 << 20) - len(self.nodes),
                "f_namemax": NAME_MAX,
            }

    # -- writing data -------------------------------------------------------------------------

    def write(self, fh: int, data: bytes, offset: int) -> int:
        """Write into an open file (volatile until the file is synced)."""
        with self.lock:
            node = self.node_of(fh)
            if not node.path.endswith(MAPPED_SUFFIX):
                # A mapped file's pages reach the volume by the kernel's writeback, with the
                # page locked: held, a dying process touching that page could never die.
                # Nothing relies on them (SQLite rebuilds its WAL index after a crash).
                self._gate_change("write", node.path)
            if node.kind is not Kind.FILE:
                raise fail(errno.EISDIR)
            end = offset + len(data)
            if end > len(node.data):
                self._resize(node, end)
            node.data[offset:end] = data
            if data:
                node.dirty.update(range(offset // PAGE_SIZE, (end - 1) // PAGE_SIZE + 1))
            node.touch()
            return len(data)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> None:
        """Set a file's size (volatile until the file is synced)."""
        with self.lock:
            node = self.resolve(path, fh)
            self._gate_change("truncate", node.path)
            if node.kind is not Kind.FILE:
                raise fail(errno.EISDIR)
            if length < 0:
                raise fail(errno.EINVAL)
            self._resize(node, length)
            node.touch()

    @staticmethod
    def _resize(node: Node, length: int) -> None:
        old = len(node.data)
        if length == old:
            return
        low, high = sorted((old, length))
        node.dirty.update(range(low // PAGE_SIZE, (high - 1) // PAGE_SIZE + 1))
        if length < old:
            del node.data[length:]
        else:
            node.data.extend(bytes(length - old))

    def fsync(self, fh: int) -> None:
        """Make an open file's bytes durable, or a directory's entries."""
        with self.lock:
            node = self.node_of(fh)
            self._gate_change("fsync", node.path)
            if node.kind is Kind.DIR:
                self._sync_dir(node)
            elif node.kind is Kind.FILE:
                node.durable = bytes(node.data)
                node.dirty.clear()

    def _sync_dir(self, node: Node) -> None:
        node.durable_entries = dict(node.entries)
        for operation in self.pending:
            for change in operation:
                if change.dir_ino == node.ino:
                    change.synced = True
        self.pending = [op for op in self.pending if not all(c.synced for c in op)]

    # -- metadata (durable at once) -----------------------------------------------------------

    def chmod(self, path: str | None, mode: int, fh: int | None = None) -> None:
        """Change permission bits."""
        with self.lock:
            node = self.resolve(path, fh)
            self._gate_change("chmod", node.path)
            node.mode = mode & 0o7777
            node.ctime_ns = now_ns()

    def chown(self, path: str | None, uid: int, gid: int, fh: int | None = None) -> None:
        """Change owner and group (-1 keeps one)."""
        with self.lock:
            node = self.resolve(path, fh)
            self._gate_change("chown", node.path)
            if uid != -1 and uid != 0xFFFFFFFF:
                node.uid = uid
            if gid != -1 and gid != 0xFFFFFFFF:
                node.gid = gid
            node.ctime_ns = now_ns()

    def utimens(self, path: str | None, mtime_ns: int | None, fh: int | None = None) -> None:
        """Set the modification time (now if ``None``)."""
        with self.lock:
            node = self.resolve(path, fh)
            self._gate_change("utimens", node.path)
            node.mtime_ns = now_ns() if mtime_ns is None else mtime_ns

    # -- directory operations (durable on a sync of the directory) ----------------------------

    def _add(self, path: str, kind: Kind, mode: int) -> Node:
        self._gate_change(MAKING[kind], path)
        parent, name = self._parent(path)
        if name in parent.entries:
            raise fail(errno.EEXIST)
        node = self.new_node(kind, mode)
        node.path = path
        parent.entries[name] = node.ino
        parent.touch()
        self._log(Change(parent.ino, name, node.ino))
        return node

    def create(self, path: str, mode: int) -> int:
        """Create a new, empty file and open it; return its handle."""
        with self.lock:
            return self._open_handle(self._add(path, Kind.FILE, mode))

    def mkdir(self, path: str, mode: int) -> None:
        """Create a directory."""
        with self.lock:
            self._add(path, Kind.DIR, mode)

    def symlink(self, path: str, target: str) -> None:
        """Create a symbolic link at ``path`` pointing to ``target``."""
        with self.lock:
            if len(target) > PATH_MAX:
                raise fail(errno.ENAMETOOLONG)
            self._add(path, Kind.LINK, 0o777).target = target

    def unlink(self, path: str) -> None:
        """Remove a file or symbolic link's name."""
        with self.lock:
            self._gate_change("unlink", path)
            parent, name = self._parent(path)
            node = self._child(parent, name)
            if node.kind is Kind.DIR:
                raise fail(errno.EISDIR)
            self._remove(parent, name)

    def rmdir(self, path: str) -> None:
        """Remove an empty directory."""
        with self.lock:
            self._gate_change("rmdir", path)
            parent, name = self._parent(path)
            node = self._child(parent, name)
            if node.kind is not Kind.DIR:
                raise fail(errno.ENOTDIR)
            if node.entries:
                raise fail(errno.ENOTEMPTY)
            self._remove(parent, name)

    def _child(self, parent: Node, name: str) -> Node:
        ino = parent.entries.get(name)
        if ino is None:
            raise fail(errno.ENOENT)
        return self.nodes[ino]

    def _remove(self, parent: Node, name: str) -> None:
        del parent.entries[name]
        parent.touch()
        self._log(Change(parent.ino, name, None))

    def rename(self, old: str, new: str) -> None:
        """Move a name, replacing what ``new`` named (one operation, kept or lost whole)."""
        with self.lock:
            self._gate_change("rename", new)
            old_parent, old_name = self._parent(old)
            node = self._child(old_parent, old_name)
            new_parent, new_name = self._parent(new)
            replaced_ino = new_parent.entries.get(new_name)
            if replaced_ino == node.ino:
                return
            if node.kind is Kind.DIR and self._inside(new_parent, node):
                raise fail(errno.EINVAL)
            if replaced_ino is not None:
                replaced = self.nodes[replaced_ino]
                if replaced.kind is Kind.DIR and node.kind is not Kind.DIR:
                    raise fail(errno.EISDIR)
                if node.kind is Kind.DIR and replaced.kind is not Kind.DIR:
                    raise fail(errno.ENOTDIR)
                if replaced.kind is Kind.DIR and replaced.entries:
                    raise fail(errno.ENOTEMPTY)
            del old_parent.entries[old_name]
            new_parent.entries[new_name] = node.ino
            node.path = new
            old_parent.touch()
            new_parent.touch()
            self._log(
                Change(old_parent.ino, old_name, None), Change(new_parent.ino, new_name, node.ino)
            )

    def _inside(self, folder: Node, node: Node) -> bool:
        """Tell whether ``folder`` is ``node`` or below it (a directory cannot move there)."""
        stack = [node]
        while stack:
            current = stack.pop()
            if current.ino == folder.ino:
                return True
            stack.extend(self.nodes[ino] for ino in current.entries.values() if ino in self.nodes)
        return False

    # -- power --------------------------------------------------------------------------------

    def freeze(self) -> None:
        """Hold every change from now on: the instant of the cut (processes are stopped next)."""
        with self.lock:
            self.frozen = True

    def thaw(self) -> None:
        """Let held changes go on, as if nothing happened."""
        with self.lock:
            self.frozen = False
            self._gate.notify_all()

    def arm(self, after: int) -> None:
        """Freeze at the ``after``-th change from now (1: the very next one)."""
        with self.lock:
            self.tripped = None
            self.trip_at = self.changes + max(1, after)

    def disarm(self) -> dict[str, str] | None:
        """Stop waiting for a change to trip on; return the trip if it already happened."""
        with self.lock:
            self.trip_at = None
            return self.tripped

    def sync(self) -> None:
        """Make everything durable, as ``sync`` before a clean shutdown does."""
        with self.lock:
            for node in self.nodes.values():
                if node.kind is Kind.FILE:
                    node.durable = bytes(node.data)
                    node.dirty.clear()
                elif node.kind is Kind.DIR:
                    node.durable_entries = dict(node.entries)
            self.pending.clear()

    def cut(self, rng: random.Random, keep: float = 0.5) -> CutReport:
        """Lose the power: keep what is durable and, of the rest, each part with ``keep``.

        Every handle opened before is dead from now on. The volume serves what survived (and
        takes changes again).
        """
        with self.lock:
            report = CutReport()
            entries = {
                node.ino: dict(node.durable_entries)
                for node in self.nodes.values()
                if node.kind is Kind.DIR
            }
            for operation in self.pending:
                if rng.random() < keep:
                    report.dir_ops_kept += 1
                    for change in operation:
                        if change.synced or change.dir_ino not in entries:
                            continue
                        if change.ino is None:
                            entries[change.dir_ino].pop(change.name, None)
                        else:
                            entries[change.dir_ino][change.name] = change.ino
                else:
                    report.dir_ops_lost += 1
            self.pending.clear()
            for ino, kept in entries.items():
                node = self.nodes[ino]
                node.entries = kept
                node.durable_entries = dict(kept)
            for node in self.nodes.values():
                if node.kind is Kind.FILE:
                    self._cut_file(node, rng, keep, report)
            self._collect()
            self.handles.clear()
            self.epoch += 1
            self.cuts += 1
            self.frozen = False
            self.trip_at = None
            self.tripped = None
            self._gate.notify_all()
            return report

    @staticmethod
    def _cut_file(node: Node, rng: random.Random, keep: float, report: CutReport) -> None:
        if not node.dirty and len(node.data) == len(node.durable):
            return
        if len(node.data) != len(node.durable):
            if rng.random() < keep:
                report.sizes_kept += 1
                length = len(node.data)
            else:
                report.sizes_lost += 1
                length = len(node.durable)
        else:
            length = len(node.durable)
        result = bytearray(node.durable[:length])
        result.extend(bytes(length - len(result)))
        for page in sorted(node.dirty):
            start = page * PAGE_SIZE
            if start >= length:
                continue
            if rng.random() < keep:
                report.pages_kept += 1
                # Past the volatile end (a truncation that was not synced) nothing was written:
                # the medium keeps what it had there.
                chunk = node.data[start : min(start + PAGE_SIZE, length)]
                result[start : start + len(chunk)] = chunk
            else:
                report.pages_lost += 1
        node.data = result
        node.durable = bytes(result)
        node.dirty.clear()

    def _collect(self) -> None:
        """Drop every inode no name reaches any more."""
        seen = {ROOT_INO}
        stack = [ROOT_INO]
        while stack:
            node = self.nodes[stack.pop()]
            for ino in node.entries.values():
                if ino not in seen and ino in self.nodes:
                    seen.add(ino)
                    stack.append(ino)
        for ino in set(self.nodes) - seen:
            del self.nodes[ino]
        for node in self.nodes.values():
            node.entries = {name: ino for name, ino in node.entries.items() if ino in seen}
            node.durable_entries = dict(node.entries)
