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

from appliance.wording import message


class StorageError(Exception):
    """Root of every backup store error."""

    code = "S-000"

    def __init__(self, detail: str = "", path: Path | str | None = None, zh: str = "") -> None:
        self.detail = detail or message(self.code, "S-000").en
        # The detail in Chinese, for the person reading it (``detail`` is for logs and JSON).
        self.detail_zh = zh or (self.detail if detail else message(self.code, "S-000").zh)
        self.path = str(path) if path is not None else ""
        super().__init__(self.detail)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.detail} [{self.code}]"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do) in ``lang`` ("zh" or "en")."""
        return message(self.code, "S-000").text(lang)

    def detail_in(self, lang: str) -> str:
        """Return the detail in ``lang`` ("zh" or "en")."""
        return self.detail_zh if lang == "zh" else self.detail


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


class BackupsDirDamaged(StorageError):
    """``backups`` on the data partition is not a folder (a file, a link to nothing, ...)."""

    code = "S-010"


class ExportNoFolder(ExportFailed):
    """The export destination does not exist."""

    code = "S-011"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do), naming the folder."""
        return message(self.code, "S-008").filled(path=self.path).text(lang)


class ExportNotAFolder(ExportFailed):
    """The export destination is a file (or anything else) rather than a folder."""

    code = "S-012"

    def text(self, lang: str) -> tuple[str, str]:
        """Return (what happened, what to do), naming the destination."""
        return message(self.code, "S-008").filled(path=self.path).text(lang)


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
