"""The backup store: every period's data kept on the data partition before anything is sent.

Layout under ``root``::

    backups/.lock                          held while anything is written
    backups/<device_no>/<YYYYMM>/manifest.json
    backups/<device_no>/<YYYYMM>/<name>.gz
    backups/<device_no>/<YYYYMM>/.pending-<name>.gz   a file saved, its manifest not yet

A save writes the gzip file durably under its pending name, then the period's manifest durably
(the commit point: a file belongs to a backup once the manifest lists it), then gives the file
its own name. A crash or power cut at any instant leaves the period as it was before the save
(a pending file no manifest lists is a leftover no reader counts, removed by the next save) or
with the file committed under either name (readers take the pending one until the next save
renames it). So :meth:`BackupStore.verify` finds nothing wrong after any cut, and never a file
the manifest does not list but one somebody put there. If the manifest cannot be written (a
full or read-only disk), the pending file is removed again.

Nothing is ever deleted to make room. :meth:`BackupStore.prune` removes a period only when
every one of its files has been exported and the period is older than the retention.

A period folder that holds files but no manifest was damaged (a save never leaves one: its files
are pending until the manifest lists them). Its files are kept: it is listed and verified as
"manifest missing" and never pruned. A save into a damaged period (manifest missing or
unreadable) first moves the folder aside whole (``.damaged-<period>-<time>``) and starts the
period anew, so a clearing never waits for a person because of an old copy.
Anything else in ``backups/`` (a file, a FIFO, a folder with an odd name) is reported as stray
and left alone; ``backups`` itself being anything but a folder is a :class:`BackupsDirDamaged`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from appliance.clock import clock, month_index, period_index
from appliance.storage import compress, fsio, manifest
from appliance.storage.errors import (
    BackupConflict,
    BackupCorrupt,
    BackupNotFound,
    BackupsDirDamaged,
    BadBackupRequest,
    ExportNotRecorded,
    StorageError,
    StorageFull,
    StorageReadOnly,
    from_os_error,
)
from appliance.storage.export import write_archive
from appliance.storage.manifest import MANIFEST_NAME
from appliance.storage.records import (
    DEVICE_PATTERN,
    MAX_CONTENT_BYTES,
    MAX_DESCRIPTION_CHARS,
    BackupFile,
    FileProblem,
    PeriodBackup,
    PeriodCheck,
    Problem,
    SetAside,
    VerifyReport,
    check_device_no,
    check_kind,
    check_name,
    check_period,
)

__all__ = [
    "BackupFile",
    "BackupStore",
    "FileProblem",
    "PeriodBackup",
    "PeriodCheck",
    "Problem",
    "SetAside",
    "VerifyReport",
]

BACKUPS_DIR = "backups"
_log = logging.getLogger("qingka.backups")

LOCK_NAME = ".lock"
# A pruned period is renamed to this first, so it vanishes at once even if removing its files
# is cut short; a leftover is finished off by the next prune.
TRASH_PREFIX = ".trash-"
# A stored file's name until its manifest lists it (no stored name starts with a dot).
PENDING_PREFIX = ".pending-"
# A damaged period folder moved aside by a save, kept for a person (reported as stray).
DAMAGED_PREFIX = ".damaged-"
# What a period folder with files but no manifest says of itself.
MISSING_EN = "the manifest is missing"
MISSING_ZH = "清单缺失"


def _now() -> datetime:
    return clock().now().replace(microsecond=0)


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` on the data partition into the typed error."""
    try:
        yield
    except OSError as exc:
        raise from_os_error(exc, exc.filename or path) from exc


class BackupStore:
    """Each period's data, compressed and checksummed, on the data partition."""

    def __init__(
        self, root: Path, retention_months: int = 24, min_free_bytes: int = 8 * 1024 * 1024
    ) -> None:
        if retention_months < 1:
            raise BadBackupRequest(f"retention of {retention_months} months")
        self.root = Path(root)
        self.retention_months = retention_months
        self.min_free_bytes = min_free_bytes
        self.backups_dir = self.root / BACKUPS_DIR

    # -- checks before writing ----------------------------------------------------------------

    def check_writable(self, needed_bytes: int = 0) -> None:
        """Raise :class:`StorageFull` or :class:`StorageReadOnly` unless a save can succeed.

        ``needed_bytes`` must fit with ``min_free_bytes`` to spare, and a small file must be
        writable for real: a card the kernel remounted read-only, or a quota, shows there.
        """
        with _translated(self.root):
            free, read_only = fsio.free_space(self.backups_dir)
        if read_only:
            raise StorageReadOnly("the data partition is mounted read-only", self.root)
        wanted = needed_bytes + self.min_free_bytes
        if free < wanted:
            raise StorageFull(f"{free} bytes free, {wanted} wanted", self.root)
        with self._locked(), _translated(self.backups_dir):
            probe = fsio.temp_name(self.backups_dir)
            try:
                fsio.write_atomic(probe, b"probe")
            finally:
                probe.unlink(missing_ok=True)

    # -- saving and loading -----------------------------------------------------------------

    def save(
        self,
        device_no: str,
        period: int,
        name: str,
        content: bytes,
        kind: str,
        description: str = "",
    ) -> BackupFile:
        """Store one file of a period durably and return its record.

        Saving the same content under the same name and kind again returns the existing
        record (and rewrites the stored file if it was damaged); different content under an
        existing name raises :class:`BackupConflict`.
        """
        check_device_no(device_no)
        check_period(period)
        check_name(name)
        check_kind(kind)
        content = bytes(content)
        if len(content) > MAX_CONTENT_BYTES:
            raise BadBackupRequest(f"{len(content)} bytes, above {MAX_CONTENT_BYTES}")
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise BadBackupRequest(f"description above {MAX_DESCRIPTION_CHARS} characters")
        digest = hashlib.sha256(content).hexdigest()
        stored = compress.compress(content)
        folder = self._period_dir(device_no, period)
        with self._locked():
            try:
                listed = self._read_manifest(device_no, period)
            except BackupCorrupt:
                self._set_aside(folder)
                listed = None
            else:
                if listed is None and folder.is_dir() and _data_names(self._entries(folder)):
                    self._set_aside(folder)
            files = listed or ()
            if folder.is_dir():
                with _translated(folder):
                    self._settle(folder, files)
            existing = next((item for item in files if item.name == name), None)
            if existing is not None:
                if existing.sha256 != digest or existing.kind != kind:
                    raise BackupConflict(
                        f"{name} of {period} holds other content ({existing.sha256[:12]}…)",
                        folder / existing.stored_name,
                    )
                if isinstance(self._read(existing), FileProblem):
                    return self._repair(folder, files, existing, stored)
                return existing
            record = BackupFile(
                device_no=device_no,
                period=period,
                name=name,
                kind=kind,
                description=description,
                size=len(content),
                sha256=digest,
                stored_size=len(stored),
                stored_sha256=hashlib.sha256(stored).hexdigest(),
                created_at=_now(),
            )
            self._add(folder, files, record, stored)
            return record

    def _set_aside(self, folder: Path) -> None:
        """Move a damaged period folder aside, whole, so the period can be saved anew.

        The clearing must not wait for a person because an old copy is damaged (the device
        would lock meanwhile); nothing is deleted either: the folder keeps its files under
        ``.damaged-<period>-<time>``, which ``verify`` reports as stray until a person looks.
        """
        stamp = _now().strftime("%Y%m%dT%H%M%S")
        target = folder.with_name(f"{DAMAGED_PREFIX}{folder.name}-{stamp}")
        number = 1
        while os.path.lexists(target):
            number += 1
            target = folder.with_name(f"{DAMAGED_PREFIX}{folder.name}-{stamp}-{number}")
        with _translated(folder):
            folder.rename(target)
            fsio.fsync_dir(folder.parent)
        _log.warning("damaged backup period set aside", extra={"fields": {"kept": str(target)}})

    def _add(
        self, folder: Path, files: tuple[BackupFile, ...], record: BackupFile, stored: bytes
    ) -> None:
        """Write a new file (pending), the manifest listing it, then its name; on failure, none."""
        created: list[Path] = []
        pending = folder / f"{PENDING_PREFIX}{record.stored_name}"
        writing = pending
        try:
            fsio.ensure_dirs(folder, created)
            fsio.write_atomic(pending, stored)
            writing = folder / MANIFEST_NAME
            try:
                fsio.write_atomic(
                    writing, manifest.encode(record.device_no, record.period, (*files, record))
                )
            except BaseException:
                # If even the removal fails (the card went read-only meanwhile), the pending
                # file stays a leftover that no reader counts and the next save removes.
                with contextlib.suppress(OSError):
                    fsio.remove_durably(pending)
                raise
            writing = folder / record.stored_name
            # Committed: from here the file is part of the backup under either name.
            self._promote(folder, record.stored_name)
        except OSError as exc:
            fsio.remove_empty_dirs(created)
            raise from_os_error(exc, exc.filename or writing) from exc

    @staticmethod
    def _promote(folder: Path, stored_name: str) -> None:
        """Give a committed pending file its own name, durably."""
        (folder / f"{PENDING_PREFIX}{stored_name}").replace(folder / stored_name)
        fsio.fsync_dir(folder)

    def _repair(
        self, folder: Path, files: tuple[BackupFile, ...], record: BackupFile, stored: bytes
    ) -> BackupFile:
        """Rewrite a damaged or missing stored file from the same content."""
        # Another zlib may pack the same content into other bytes: record what is written.
        repaired = dataclasses.replace(
            record, stored_size=len(stored), stored_sha256=hashlib.sha256(stored).hexdigest()
        )
        with _translated(folder):
            fsio.write_atomic(folder / record.stored_name, stored)
            if repaired != record:
                listed = tuple(repaired if item is record else item for item in files)
                fsio.write_atomic(
                    folder / MANIFEST_NAME, manifest.encode(record.device_no, record.period, listed)
                )
        return repaired

    def load(self, device_no: str, period: int, name: str) -> bytes:
        """Return a stored file's content, checked against its SHA-256."""
        check_device_no(device_no)
        check_period(period)
        check_name(name)
        record = next(
            (item for item in self._read_manifest(device_no, period) or () if item.name == name),
            None,
        )
        if record is None:
            raise BackupNotFound(f"no {name} for {device_no} {period}")
        content = self._read(record)
        if isinstance(content, FileProblem):
            raise BackupCorrupt(
                f"{content.problem.value}: {content.reason}",
                self._period_dir(device_no, period) / record.stored_name,
            )
        return content

    # -- listing and verifying --------------------------------------------------------------

    def periods(self) -> list[PeriodBackup]:
        """Return every period with a manifest, or with files but no manifest, by device, period."""
        result = []
        for device_no, period, folder in self._period_dirs():
            try:
                files = self._read_manifest(device_no, period)
            except BackupCorrupt as exc:
                result.append(PeriodBackup(device_no, period, (), exc.detail, exc.detail_zh))
                continue
            if files is not None:
                result.append(PeriodBackup(device_no, period, files))
            elif _data_names(self._entries(folder)):
                result.append(
                    PeriodBackup(
                        device_no, period, (), MISSING_EN, MISSING_ZH, manifest_missing=True
                    )
                )
        return result

    def verify(self) -> VerifyReport:
        """Recheck every checksum; report missing, corrupt and extra files per period.

        A period folder with files but no manifest is reported once, as "manifest missing":
        its files are the backup's data, not extras to clean up.
        """
        checks = []
        for device_no, period, folder in self._period_dirs():
            names = self._entries(folder)
            try:
                files = self._read_manifest(device_no, period)
            except BackupCorrupt as exc:
                leftovers = sum(1 for name in names if _interrupted(name, set()))
                checks.append(
                    PeriodCheck(
                        device_no,
                        period,
                        0,
                        (),
                        exc.detail,
                        leftovers,
                        manifest_error_zh=exc.detail_zh,
                    )
                )
                continue
            listed = {item.stored_name for item in files or ()}
            leftovers = sum(1 for name in names if _interrupted(name, listed))
            extras = [name for name in _data_names(names) if name not in listed]
            if files is None:
                if extras:
                    checks.append(
                        PeriodCheck(
                            device_no,
                            period,
                            0,
                            leftovers=leftovers,
                            manifest_missing=True,
                            kept=len(extras),
                        )
                    )
                continue  # else an empty folder, or only leftovers of an interrupted first save
            problems = []
            verified = 0
            for record in files or ():
                content = self._read(record)
                if isinstance(content, FileProblem):
                    problems.append(content)
                else:
                    verified += 1
            problems += [FileProblem(name, Problem.EXTRA, "") for name in extras]
            checks.append(PeriodCheck(device_no, period, verified, tuple(problems), "", leftovers))
        return VerifyReport(tuple(checks), self._strays())

    def set_aside(self) -> list[SetAside]:
        """Return the damaged period folders saves moved aside (kept for a person), sorted.

        They are no periods: ``periods`` and ``export`` leave them out, and ``verify`` reports
        them as stray; whoever lists or exports says so from here.
        """
        if not self.backups_dir.is_dir():
            return []
        found = []
        for device_no, device_dir in self._device_dirs():
            for name in self._entries(device_dir):
                folder = device_dir / name
                if name.startswith(DAMAGED_PREFIX) and _real_dir(folder):
                    period = _period_name(name.removeprefix(DAMAGED_PREFIX).split("-", 1)[0])
                    found.append(SetAside(device_no, period, folder))
        return found

    def _strays(self) -> tuple[FileProblem, ...]:
        """Return what lies in the backup folder outside any period folder (never removed)."""
        if not self.backups_dir.is_dir():
            return ()
        strays = []
        for device_no in self._entries(self.backups_dir):
            device_dir = self.backups_dir / device_no
            if device_no == LOCK_NAME or device_no.startswith(fsio.TEMP_PREFIX):
                continue
            if not DEVICE_PATTERN.fullmatch(device_no) or not _real_dir(device_dir):
                strays.append(_stray(device_dir, device_no))
                continue
            for name in self._entries(device_dir):
                folder = device_dir / name
                if name.startswith(TRASH_PREFIX) and _real_dir(folder):
                    continue  # a pruned period, finished off by the next prune
                if not (_real_dir(folder) and _period_name(name)):
                    strays.append(_stray(folder, f"{device_no}/{name}"))
        return tuple(strays)

    # -- export and retention ---------------------------------------------------------------

    def export(self, dest_dir: Path, device_no: str | None = None) -> Path:
        """Write a self-describing .zip of the backups into ``dest_dir``; return its path.

        Files whose checksum fails are left out (and listed in the archive); the others are
        marked exported, which is what later lets :meth:`prune` remove them.
        """
        if device_no is not None:
            check_device_no(device_no)
        selected = [
            item for item in self.periods() if device_no is None or item.device_no == device_no
        ]
        if not selected:
            raise BackupNotFound(
                f"no backups of device {device_no}" if device_no else "no backups yet",
                self.backups_dir,
            )
        now = _now()
        result = write_archive(Path(dest_dir), selected, self._read, now, device_no)
        try:
            self._mark_exported(result.exported, now)
        except StorageError as exc:
            raise ExportNotRecorded(result.path, str(exc)) from exc
        return result.path

    def _mark_exported(self, exported: tuple[BackupFile, ...], now: datetime) -> None:
        """Record ``now`` as the export time of every exported file not exported before."""
        by_period: dict[tuple[str, int], dict[str, str]] = {}
        for record in exported:
            by_period.setdefault((record.device_no, record.period), {})[record.name] = record.sha256
        with self._locked():
            for (device_no, period), sums in by_period.items():
                files = self._read_manifest(device_no, period) or ()
                marked = tuple(
                    dataclasses.replace(item, exported_at=now)
                    if item.exported_at is None and sums.get(item.name) == item.sha256
                    else item
                    for item in files
                )
                if marked != files:
                    folder = self._period_dir(device_no, period)
                    with _translated(folder):
                        fsio.write_atomic(
                            folder / MANIFEST_NAME, manifest.encode(device_no, period, marked)
                        )

    def prune(self, today: date) -> list[PeriodBackup]:
        """Remove periods older than the retention whose every file was exported.

        A period is kept for ``retention_months`` full months after its own month. A period
        with an unreadable manifest, or with files its manifest does not list, is kept for a
        person to look at.
        """
        newest_prunable = month_index(today) - self.retention_months - 1
        removed = []
        with self._locked(), _translated(self.backups_dir):
            self._remove_trash()
            for backup in self.periods():
                month = period_index(backup.period)
                if backup.manifest_error or not backup.exported or month > newest_prunable:
                    continue
                folder = self._period_dir(backup.device_no, backup.period)
                listed = {item.stored_name for item in backup.files} | {MANIFEST_NAME}
                if any(
                    name not in listed and not name.startswith((fsio.TEMP_PREFIX, PENDING_PREFIX))
                    for name in self._entries(folder)
                ):
                    continue
                trash = folder.parent / f"{TRASH_PREFIX}{folder.name}"
                folder.rename(trash)
                fsio.fsync_dir(folder.parent)
                shutil.rmtree(trash)
                removed.append(backup)
            self._remove_empty_device_dirs()
        return removed

    # -- the directory tree -----------------------------------------------------------------

    def _period_dir(self, device_no: str, period: int) -> Path:
        return self.backups_dir / device_no / str(period)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's write lock: one writer at a time, across processes."""
        with _translated(self.backups_dir):
            fsio.ensure_dirs(self.backups_dir)
            fd = os.open(self.backups_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _entries(self, folder: Path) -> list[str]:
        with _translated(folder):
            return sorted(entry.name for entry in folder.iterdir())

    def _device_dirs(self) -> Iterator[tuple[str, Path]]:
        """Yield (device_no, folder) of every device folder in the backup folder, sorted."""
        for device_no in self._entries(self.backups_dir):
            device_dir = self.backups_dir / device_no
            if DEVICE_PATTERN.fullmatch(device_no) and _real_dir(device_dir):
                yield device_no, device_dir

    def _period_dirs(self) -> Iterator[tuple[str, int, Path]]:
        """Yield (device_no, period, folder) of every period folder, sorted.

        No ``backups`` folder yet is a box with no backups yet; anything else in its place is
        :class:`BackupsDirDamaged`, never "no backups".
        """
        if not self.backups_dir.is_dir():
            if os.path.lexists(self.backups_dir):
                raise BackupsDirDamaged(
                    f"{_entry_kind(self.backups_dir)[1]} where the backup folder should be",
                    self.backups_dir,
                    zh=f"备份目录的位置上是{_entry_kind(self.backups_dir)[0]}",
                )
            return
        for device_no, device_dir in self._device_dirs():
            for name in self._entries(device_dir):
                folder = device_dir / name
                period = _period_name(name)
                if period is not None and _real_dir(folder):
                    yield device_no, period, folder

    def _read_manifest(self, device_no: str, period: int) -> tuple[BackupFile, ...] | None:
        """Return the files a period's manifest lists, or None if it has no manifest."""
        path = self._period_dir(device_no, period) / MANIFEST_NAME
        try:
            raw = fsio.read_capped(path, manifest.MAX_MANIFEST_BYTES)
            return manifest.decode(raw, device_no, period)
        except FileNotFoundError:
            return None
        except BackupCorrupt as exc:
            raise BackupCorrupt(exc.detail, path) from exc
        except OSError as exc:
            raise from_os_error(exc, path) from exc

    def _read(self, record: BackupFile) -> bytes | FileProblem:
        """Return a stored file's checked content, or what is wrong with it."""
        folder = self._period_dir(record.device_no, record.period)
        path = folder / record.stored_name
        try:
            try:
                data = fsio.read_capped(path, record.stored_size)
            except FileNotFoundError:
                # Committed by its manifest, not yet renamed when the power went.
                path = folder / f"{PENDING_PREFIX}{record.stored_name}"
                data = fsio.read_capped(path, record.stored_size)
            if len(data) != record.stored_size:
                raise BackupCorrupt(
                    f"{len(data)} bytes on disk, {record.stored_size} recorded",
                    zh=f"磁盘上为 {len(data)} 字节，记录为 {record.stored_size} 字节",
                )
            if hashlib.sha256(data).hexdigest() != record.stored_sha256:
                raise BackupCorrupt(
                    "the stored file's SHA-256 does not match", zh="存储文件的 SHA-256 不符"
                )
            content = compress.decompress(data, record.size)
        except FileNotFoundError:
            return FileProblem(record.name, Problem.MISSING, "the file is not there", "文件不存在")
        except BackupCorrupt as exc:
            return FileProblem(record.name, Problem.CORRUPT, exc.detail, exc.detail_zh)
        except OSError as exc:
            return FileProblem(
                record.name,
                Problem.CORRUPT,
                f"cannot be read: {exc.strerror}",
                f"无法读取：{exc.strerror}",
            )
        if hashlib.sha256(content).hexdigest() != record.sha256:
            return FileProblem(
                record.name,
                Problem.CORRUPT,
                "the content's SHA-256 does not match",
                "内容的 SHA-256 不符",
            )
        return content

    def _settle(self, folder: Path, files: tuple[BackupFile, ...]) -> None:
        """Finish what a crash interrupted in ``folder`` (the caller holds the lock).

        Temporary files go; a pending file its manifest lists takes its own name; a pending file
        the manifest does not list (a save cut before its commit) goes.
        """
        listed = {item.stored_name for item in files}
        for entry in folder.iterdir():
            if entry.name.startswith(fsio.TEMP_PREFIX):
                entry.unlink(missing_ok=True)
            elif entry.name.startswith(PENDING_PREFIX):
                name = entry.name.removeprefix(PENDING_PREFIX)
                if name in listed and not (folder / name).exists():
                    self._promote(folder, name)
                else:
                    entry.unlink(missing_ok=True)

    def _remove_trash(self) -> None:
        """Finish removing periods a previous prune renamed but did not delete."""
        for device_dir in self.backups_dir.iterdir():
            if not _real_dir(device_dir):
                continue
            for folder in device_dir.iterdir():
                if folder.name.startswith(TRASH_PREFIX) and _real_dir(folder):
                    shutil.rmtree(folder)

    def _remove_empty_device_dirs(self) -> None:
        for device_dir in self.backups_dir.iterdir():
            if DEVICE_PATTERN.fullmatch(device_dir.name) and _real_dir(device_dir):
                with contextlib.suppress(OSError):
                    device_dir.rmdir()  # fails, as it should, while it holds anything


def _data_names(names: list[str]) -> list[str]:
    """Return the names in a period folder that hold data (not the manifest, not leftovers)."""
    return [
        name
        for name in names
        if name != MANIFEST_NAME and not name.startswith((fsio.TEMP_PREFIX, PENDING_PREFIX))
    ]


def _period_name(name: str) -> int | None:
    """Return the period a folder ``name`` stands for, or None if it names none."""
    if len(name) != 6 or not name.isdigit():
        return None
    try:
        return check_period(int(name))
    except BadBackupRequest:
        return None


def _entry_kind(path: Path) -> tuple[str, str]:
    """Return what ``path`` is, in Chinese and English (for a person deciding what to do)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "无法读取的条目", "an entry that cannot be read"
    if stat.S_ISLNK(mode):
        return "符号链接", "a symbolic link"
    if stat.S_ISDIR(mode):
        return "文件夹", "a folder"
    if stat.S_ISREG(mode):
        return "普通文件", "a regular file"
    if stat.S_ISFIFO(mode):
        return "命名管道 FIFO", "a FIFO"
    if stat.S_ISSOCK(mode):
        return "套接字", "a socket"
    return "设备文件", "a device node"


def _stray(path: Path, name: str) -> FileProblem:
    zh, en = _entry_kind(path)
    return FileProblem(name, Problem.STRAY, en, zh)


def _interrupted(name: str, listed: set[str]) -> bool:
    """Tell whether ``name`` is a leftover of an interrupted write (never data of a backup)."""
    if name.startswith(fsio.TEMP_PREFIX):
        return True
    return name.startswith(PENDING_PREFIX) and name.removeprefix(PENDING_PREFIX) not in listed


def _real_dir(path: Path) -> bool:
    """Tell whether ``path`` is a directory and not a symbolic link to one."""
    return path.is_dir() and not path.is_symlink()
