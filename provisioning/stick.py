"""Reading and writing the stick's ``QINGKA/`` folder, as if every byte on it were hostile.

Layout::

    QINGKA/manifest.json        what the bundle holds (provisioning.manifest)
    QINGKA/manifest.sig         its signature (provisioning.signing)
    QINGKA/bundle/…             the files the manifest lists, nothing else
    QINGKA/enroll/<box>.json    enrollment requests boxes wrote
    QINGKA/reports/<box>-<time>.json|.txt   what each box did with the stick

Every path is walked one component at a time from a directory descriptor with ``O_NOFOLLOW``,
so a symbolic link anywhere (``QINGKA`` itself, a folder, a file) is refused, never followed.
Devices, FIFOs and sockets are refused before they are opened for reading (a FIFO would block
the reader forever). Names, depth, counts and sizes are capped. A read that fails (the stick was
pulled) is :class:`StickUnreadable`; a write to the box that fails is :class:`ApplyFailed`, so
the two are never confused.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from provisioning import fileops
from provisioning.errors import (
    ApplyFailed,
    FilesMismatch,
    HashMismatch,
    NoStick,
    NotRegularFile,
    SizeMismatch,
    StickUnreadable,
    TooLarge,
    TooManyFiles,
    UnsafePath,
)
from provisioning.manifest import MAX_DEPTH, MAX_FILE_SIZE, MAX_FILES, FileEntry, check_path

FOLDER = "QINGKA"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
BUNDLE = "bundle"
ENROLL = "enroll"
REPORTS = "reports"
# A walk stops after this many entries (files and folders): a stick with thousands of files in
# the bundle folder is refused without reading them all.
MAX_ENTRIES = 256
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# What makes a bundle: any one of them present means the stick carries one (maybe damaged).
BUNDLE_PARTS = (MANIFEST, SIGNATURE, BUNDLE)


def open_root(root: Path) -> int:
    """Open the stick's mount point; :class:`NoStick` if there is no folder there.

    A missing mount point must never read as "a stick without a bundle": that would make a box
    write an enrollment request nobody will ever carry back.
    """
    fileops.step("open", root)
    try:
        return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NoStick(f"{root} does not exist") from None
    except NotADirectoryError:
        raise NoStick(f"{root} is not a folder") from None


def stick_root(text: str, folder: bool = False) -> Path:
    """Return the stick path a person typed; :class:`NoStick` unless it is a folder.

    With ``folder``, the stick must also hold a ``QINGKA`` folder (commands that only read
    one: an empty folder there is a wrong path, not an empty stick).
    """
    if not text.strip():
        # Path("") is the current folder: an empty argument must not mean "here".
        raise NoStick("no path was given for the stick")
    root = Path(text)
    os.close(open_root(root))
    if folder and not Stick(root).has_folder():
        raise NoStick(f"{root} has no {FOLDER} folder")
    return root


@dataclass(frozen=True)
class Limits:
    """Caps for one stick: files, entries, and the size of each file by its path."""

    max_files: int = MAX_FILES
    max_entries: int = MAX_ENTRIES
    cap: Callable[[str], int] = field(default=lambda path: MAX_FILE_SIZE)


class Stick:
    """The ``QINGKA`` folder of a mounted stick (or of any directory, for the office)."""

    def __init__(self, root: Path, limits: Limits | None = None) -> None:
        self.root = root
        self.limits = limits or Limits()

    @property
    def folder(self) -> Path:
        """Return the ``QINGKA`` folder's path (for messages)."""
        return self.root / FOLDER

    # -- descriptors ---------------------------------------------------------------------------

    def _unreadable(self, exc: OSError, where: str) -> StickUnreadable:
        return StickUnreadable(f"{where}: {exc.strerror or exc}")

    @contextmanager
    def _dir(self, parts: tuple[str, ...], create: bool = False) -> Iterator[int]:
        """Yield a descriptor of ``QINGKA/<parts…>``, refusing links on the way."""
        fd = open_root(self.root)
        try:
            for depth, name in enumerate((FOLDER, *parts)):
                where = "/".join((FOLDER, *parts)[: depth + 1])
                try:
                    fileops.step("open", where)
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    fileops.step("mkdir", where)
                    os.mkdir(name, 0o755, dir_fd=fd)
                    child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise NotRegularFile(f"{where} is not a folder") from None
                    raise
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def has_folder(self) -> bool:
        """Tell whether the stick has a ``QINGKA`` folder."""
        try:
            with self._dir(()):
                return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise self._unreadable(exc, FOLDER) from None

    def _open_file(self, dir_fd: int, name: str, where: str, cap: int) -> tuple[int, int]:
        """Open a regular file under ``dir_fd``; return (descriptor, size)."""
        fd, size = fileops.open_regular(Path(name), NotRegularFile, where, dir_fd=dir_fd)
        if size > cap:
            os.close(fd)
            raise TooLarge(f"{where}: {size} bytes, at most {cap}")
        return fd, size

    def bundle_parts(self) -> list[str]:
        """Return which of ``manifest.json``, ``manifest.sig`` and ``bundle/`` are present.

        Any of them means the office put a bundle here; a bundle missing some part is a damaged
        bundle, never "no bundle" (which would make a box write an enrollment request instead).
        """
        try:
            with self._dir(()) as folder:
                found = []
                for name in BUNDLE_PARTS:
                    try:
                        os.stat(name, dir_fd=folder, follow_symlinks=False)
                    except FileNotFoundError:
                        continue
                    found.append(name)
                return found
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._unreadable(exc, FOLDER) from None

    # -- reading -------------------------------------------------------------------------------

    def read_top(self, name: str, cap: int) -> bytes | None:
        """Return a small file of ``QINGKA/`` (at most ``cap`` bytes), or ``None`` if absent."""
        where = f"{FOLDER}/{name}"
        try:
            with self._dir(()) as folder:
                fd, _ = self._open_file(folder, name, where, cap)
                try:
                    raw = fileops.read_fd_capped(fd, cap, self.folder)
                finally:
                    os.close(fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unreadable(exc, where) from None
        if len(raw) > cap:
            raise TooLarge(f"{where}: more than {cap} bytes")
        return raw

    def listing(self) -> dict[str, int]:
        """Return every file of ``QINGKA/bundle/`` with its size; refuse anything unsafe."""
        found: dict[str, int] = {}
        lowered: set[str] = set()
        entries = 0

        def walk(fd: int, prefix: str, depth: int) -> None:
            nonlocal entries
            fileops.step("list", prefix or BUNDLE)
            with os.scandir(fd) as listing:
                children = sorted(listing, key=lambda entry: entry.name)
            for entry in children:
                entries += 1
                if entries > self.limits.max_entries:
                    raise TooManyFiles(f"more than {self.limits.max_entries} entries in {BUNDLE}/")
                path = f"{prefix}{entry.name}"
                problem = check_path(path)
                if problem:
                    raise UnsafePath(f"{BUNDLE}/{path[:80]!r}: {problem}")
                if path.lower() in lowered:
                    raise UnsafePath(f"{BUNDLE}/{path}: two names differ only in case")
                lowered.add(path.lower())
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    if depth + 1 >= MAX_DEPTH:
                        raise UnsafePath(f"{BUNDLE}/{path}: more than {MAX_DEPTH} levels deep")
                    fileops.step("open", path)
                    child = os.open(entry.name, _DIR_FLAGS, dir_fd=fd)
                    try:
                        walk(child, path + "/", depth + 1)
                    finally:
                        os.close(child)
                elif stat.S_ISREG(mode):
                    found[path] = entry.stat(follow_symlinks=False).st_size
                    if len(found) > self.limits.max_files:
                        raise TooManyFiles(f"more than {self.limits.max_files} files")
                else:
                    raise NotRegularFile(f"{BUNDLE}/{path} is {fileops.kind(mode)}")

        try:
            with self._dir((BUNDLE,)) as bundle:
                walk(bundle, "", 0)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise self._unreadable(exc, f"{FOLDER}/{BUNDLE}") from None
        return found

    def check_listing(self, files: tuple[FileEntry, ...]) -> None:
        """Refuse a bundle folder that lacks a listed file or holds one the manifest lacks."""
        present = self.listing()
        for entry in files:
            if entry.path not in present:
                raise FilesMismatch(f"{BUNDLE}/{entry.path} is missing")
            cap = self.limits.cap(entry.path)
            if entry.size > cap:
                raise TooLarge(f"{BUNDLE}/{entry.path}: {entry.size} bytes, at most {cap}")
            if present[entry.path] != entry.size:
                raise SizeMismatch(
                    f"{BUNDLE}/{entry.path}: {present[entry.path]} bytes, "
                    f"the manifest says {entry.size}"
                )
        extra = sorted(set(present) - {entry.path for entry in files})
        if extra:
            raise FilesMismatch(f"{BUNDLE}/{extra[0]} is not in the manifest")

    def copy_file(self, entry: FileEntry, dest: Path | None, keep: bool = False) -> bytes | None:
        """Read a listed file, checking size and SHA-256; write it to ``dest`` if given.

        Returns the bytes when ``keep`` (small files only). The copy on the box is what gets
        used afterwards, so a stick changed or pulled after this point cannot matter.
        """
        where = f"{BUNDLE}/{entry.path}"
        parts = tuple(entry.path.split("/"))
        cap = min(self.limits.cap(entry.path), entry.size)
        digest = hashlib.sha256()
        kept: list[bytes] = []
        total = 0
        out = -1
        try:
            if dest is not None:
                try:
                    out = fileops.open_fd(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except OSError as exc:
                    raise ApplyFailed(f"{dest}: {exc.strerror}") from None
            try:
                with self._dir((BUNDLE, *parts[:-1])) as folder:
                    fd, size = self._open_file(folder, parts[-1], where, max(cap, 0))
                    try:
                        if size != entry.size:
                            raise SizeMismatch(
                                f"{where}: {size} bytes, the manifest says {entry.size}"
                            )
                        while True:
                            chunk = fileops.read(fd, fileops.SLICE, Path(where))
                            if not chunk:
                                break
                            total += len(chunk)
                            if total > entry.size:
                                raise SizeMismatch(f"{where} grew while being read")
                            digest.update(chunk)
                            if out >= 0:
                                self._write(out, chunk, dest)
                            if keep:
                                kept.append(chunk)
                    finally:
                        os.close(fd)
            except FileNotFoundError:
                raise FilesMismatch(f"{where} is missing") from None
            except OSError as exc:
                raise self._unreadable(exc, where) from None
            if total != entry.size:
                raise SizeMismatch(f"{where}: read {total} bytes, the manifest says {entry.size}")
            if digest.hexdigest() != entry.sha256:
                raise HashMismatch(where)
            if out >= 0 and dest is not None:
                try:
                    fileops.fsync(out, dest)
                except OSError as exc:
                    raise ApplyFailed(f"{dest}: {exc.strerror}") from None
        finally:
            if out >= 0:
                os.close(out)
        return b"".join(kept) if keep else None

    @staticmethod
    def _write(fd: int, data: bytes, dest: Path | None) -> None:
        try:
            fileops.write_all(fd, data, dest or Path("?"))
        except OSError as exc:
            raise ApplyFailed(f"{dest}: {exc.strerror}") from None

    # -- writing (office tool, reports, enrollment) --------------------------------------------

    def write(self, folder: tuple[str, ...], name: str, data: bytes) -> Path:
        """Write ``QINGKA/<folder…>/<name>`` durably (temporary name, fsync, rename).

        Folders are made as needed; a link on the way is refused, so a hostile stick cannot
        redirect the write into the box's own filesystem.
        """
        return self.write_chunks(folder, name, [data])

    def write_chunks(self, folder: tuple[str, ...], name: str, chunks: Iterable[bytes]) -> Path:
        """Write ``QINGKA/<folder…>/<name>`` from ``chunks`` (a large file), as :meth:`write`."""
        temp = f".tmp-{name}-{os.getpid()}"
        with self._dir(folder, create=True) as fd:
            where = Path(FOLDER, *folder, name)
            fileops.step("open", where)
            out = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=fd,
            )
            try:
                for chunk in chunks:
                    fileops.write_all(out, chunk, where)
                fileops.fsync(out, where)
            finally:
                os.close(out)
            fileops.step("rename", where)
            os.rename(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
            fileops.step("fsync-dir", where.parent)
            try:
                os.fsync(fd)
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # vfat: see fileops.fsync_dir
                    raise
        return self.root.joinpath(FOLDER, *folder, name)

    def remove(self, folder: tuple[str, ...], name: str) -> None:
        """Remove ``QINGKA/<folder…>/<name>`` (a file, or a folder tree) if present."""
        try:
            with self._dir(folder) as fd:
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    return
                if stat.S_ISDIR(info.st_mode):
                    fileops.remove_tree(self.root.joinpath(FOLDER, *folder, name))
                else:
                    os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            return

    def names(self, folder: str, cap: int = MAX_ENTRIES) -> list[str]:
        """Return the regular files' names in ``QINGKA/<folder>`` (at most ``cap``)."""
        try:
            with self._dir((folder,)) as fd, os.scandir(fd) as listing:
                names = []
                for entry in listing:
                    if entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                        names.append(entry.name)
                    if len(names) > cap:
                        raise TooManyFiles(f"more than {cap} files in {FOLDER}/{folder}")
                return sorted(names)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise self._unreadable(exc, f"{FOLDER}/{folder}") from None

    def read_in(self, folder: str, name: str, cap: int) -> bytes:
        """Return a small file of ``QINGKA/<folder>`` (for enrollment requests and reports)."""
        where = f"{FOLDER}/{folder}/{name}"
        try:
            with self._dir((folder,)) as fd:
                handle, _ = self._open_file(fd, name, where, cap)
                try:
                    return fileops.read(handle, cap + 1, Path(where))
                finally:
                    os.close(handle)
        except OSError as exc:
            raise self._unreadable(exc, where) from None
