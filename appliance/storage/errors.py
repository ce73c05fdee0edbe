"""Every error of the backup store: one tree, stable codes, and plain words for each code.

Callers decide by *type*: a full or read-only data partition (:class:`StorageFull`,
:class:`StorageReadOnly`) needs a person and is never cured by deleting backups; a
:class:`BackupConflict` means a period's evidence would have been overwritten. Each error also
says itself in plain Chinese and English (``text``), which is what a screen, the CLI and the
clearing outcome show.
"""

from __future__ import annotations

import errno
from pathlib import Path

from appliance.wording import Message

MESSAGES: dict[str, Message] = {
    "S-000": Message(
        "备份存储出错",
        "The backup store reported an error",
        "请联系技术支持并提供错误代码",
        "Call support and give them the code",
    ),
    "S-001": Message(
        "本机存储空间已满，无法保存备份",
        "The box's storage is full: the backup cannot be saved",
        "请联系技术人员导出旧备份或更换存储卡；本机不会为腾出空间而删除备份",
        "Ask a technician to export old backups or replace the storage card; "
        "the box never deletes backups to make room",
    ),
    "S-002": Message(
        "本机存储为只读，无法保存备份",
        "The box's storage is read-only: the backup cannot be saved",
        "存储卡可能已损坏，请联系技术人员导出备份并更换存储卡",
        "The storage card may be failing; ask a technician to export the backups "
        "and replace the card",
    ),
    "S-003": Message(
        "备份文件已损坏或丢失",
        "A backup file is damaged or missing",
        "请运行“qingka backup verify”查看详情，并联系技术支持",
        "Run 'qingka backup verify' for details and call support",
    ),
    "S-004": Message(
        "本期已有同名但内容不同的备份，已拒绝覆盖",
        "This period already holds a different backup under the same name; it was not overwritten",
        "请联系技术支持核对本期数据",
        "Call support to check this period's data",
    ),
    "S-005": Message(
        "没有找到该备份",
        "No such backup was found",
        "请运行“qingka backup list”查看已有备份",
        "Run 'qingka backup list' to see the backups there are",
    ),
    "S-006": Message(
        "备份请求无效",
        "The backup request is not valid",
        "请联系技术支持并提供错误代码",
        "Call support and give them the code",
    ),
    "S-007": Message(
        "无法读写本机存储",
        "The box's storage cannot be read or written",
        "请重启本机；如仍失败，请联系技术人员检查存储卡",
        "Restart the box; if it still fails, ask a technician to check the storage card",
    ),
    "S-008": Message(
        "备份导出失败：无法写入导出位置",
        "The export failed: the destination cannot be written",
        "请检查U盘是否插好、有足够空间且未写保护，然后重试",
        "Check that the USB stick is plugged in, has room and is not write-protected, then retry",
    ),
    "S-009": Message(
        "备份已导出，但未能在本机记录“已导出”",
        "The backups were exported, but the box could not record that they were",
        "导出文件可以使用；这些备份不会被自动清理。请联系技术人员检查存储卡",
        "The exported file is usable; these backups will not be pruned. "
        "Ask a technician to check the storage card",
    ),
}


class StorageError(Exception):
    """Root of every backup store error."""

    code = "S-000"

    def __init__(self, detail: str = "", path: Path | str | None = None) -> None:
        self.detail = detail or MESSAGES[self.code].en
        self.path = str(path) if path is not None else ""
        super().__init__(self.detail)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.detail} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return MESSAGES[self.code].text(lang)


class StorageFull(StorageError):
    """No room on the data partition (ENOSPC, EDQUOT, EFBIG, or below the free-space margin)."""

    code = "S-001"


class StorageReadOnly(StorageError):
    """The data partition is mounted read-only (a failing card is often remounted so)."""

    code = "S-002"


class BackupCorrupt(StorageError):
    """A stored file or manifest does not match its checksum, or cannot be decoded."""

    code = "S-003"


class BackupConflict(StorageError):
    """Different content for a name a period already holds: evidence is never overwritten."""

    code = "S-004"


class BackupNotFound(StorageError):
    """No backup under that device, period and name."""

    code = "S-005"


class BadBackupRequest(StorageError):
    """A device number, period, name or kind the store does not accept, or content too large."""

    code = "S-006"


class StorageUnavailable(StorageError):
    """Any other failure of the data partition: I/O error, permission denied, missing mount."""

    code = "S-007"


class ExportFailed(StorageError):
    """The export destination cannot be written: missing, full, read-only."""

    code = "S-008"


class ExportNotRecorded(StorageError):
    """The archive was written but the backups could not be marked exported."""

    code = "S-009"

    def __init__(self, archive: Path, detail: str = "") -> None:
        self.archive = archive
        super().__init__(detail, archive)


# errno values that mean "no room": EFBIG too, since a file the filesystem cannot hold is
# no different to the person who has to make room.
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def from_os_error(exc: OSError, path: Path | str | None = None) -> StorageError:
    """Return the typed error for an ``OSError`` on the data partition."""
    where = path if path is not None else exc.filename
    detail = exc.strerror or str(exc)
    if exc.errno in FULL_ERRNOS:
        return StorageFull(detail, where)
    if exc.errno == errno.EROFS:
        return StorageReadOnly(detail, where)
    return StorageUnavailable(detail, where)


def describe(error: StorageError, lang: str = "zh") -> str:
    """Return one plain sentence for ``error``: what happened, what to do, and the code."""
    what, action = error.text(lang)
    separator = "。" if lang == "zh" else ". "
    return f"{what}{separator}{action}{'。' if lang == 'zh' else '.'} [{error.code}]"
