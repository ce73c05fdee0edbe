"""What the backup store records: one file, one period, one verification, and their rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from appliance.storage.errors import BadBackupRequest

KIND_RAW_DEVICE = "raw-device"
KIND_SUMMARY = "summary"
KIND_RECEIPT = "receipt"
KIND_CLEARING_DATA = "clearing-data"
KIND_MONITOR = "monitor"
KIND_IDENTITY = "identity"
KINDS = (
    KIND_RAW_DEVICE,
    KIND_SUMMARY,
    KIND_RECEIPT,
    KIND_CLEARING_DATA,
    KIND_MONITOR,
    KIND_IDENTITY,
)

# Device responses, summaries and receipts are a few KiB; 16 MiB leaves room for any capture
# while bounding every read of a stored file.
MAX_CONTENT_BYTES = 16 * 1024 * 1024
MAX_DESCRIPTION_CHARS = 500
FIRST_YEAR = 2000
LAST_YEAR = 2099

# Names become file names on the data partition and in a zip opened on Windows: plain ASCII,
# no path separators, never starting with a dot (temporary files do).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
DEVICE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
# A kind read back from a manifest may come from a newer version of the box.
KIND_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
STORED_SUFFIX = ".gz"


def check_device_no(device_no: str) -> str:
    """Return ``device_no`` if it can name a directory, else raise :class:`BadBackupRequest`."""
    if not isinstance(device_no, str) or not DEVICE_PATTERN.fullmatch(device_no):
        raise BadBackupRequest(f"device number {device_no!r} is not 1-32 letters or digits")
    return device_no


def check_period(period: int) -> int:
    """Return ``period`` if it is a ``YYYYMM`` month, else raise :class:`BadBackupRequest`."""
    if (
        not isinstance(period, int)
        or isinstance(period, bool)
        or not FIRST_YEAR <= period // 100 <= LAST_YEAR
        or not 1 <= period % 100 <= 12
    ):
        raise BadBackupRequest(f"period {period!r} is not a YYYYMM month")
    return period


def check_name(name: str) -> str:
    """Return ``name`` if it is a simple file name, else raise :class:`BadBackupRequest`."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise BadBackupRequest(f"file name {name!r} is not a simple ASCII file name")
    return name


def check_kind(kind: str) -> str:
    """Return ``kind`` if the store knows it, else raise :class:`BadBackupRequest`."""
    if kind not in KINDS:
        raise BadBackupRequest(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def period_text(period: int) -> str:
    """Return ``YYYYMM`` as ``YYYY-MM``."""
    return f"{period // 100:04d}-{period % 100:02d}"


def iso(moment: datetime | None) -> str | None:
    """Return a moment as ISO 8601 with its UTC offset, to the second."""
    return None if moment is None else moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class BackupFile:
    """One stored file of a period, as its manifest records it."""

    device_no: str
    period: int
    name: str
    kind: str
    description: str
    size: int  # bytes of the content
    sha256: str  # of the content, lowercase hex
    stored_size: int  # bytes of the gzip file on disk
    stored_sha256: str  # of the gzip file: any change on disk shows, even one zlib ignores
    created_at: datetime
    exported_at: datetime | None = None

    @property
    def stored_name(self) -> str:
        """Return the file name on disk."""
        return self.name + STORED_SUFFIX

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON-ready data."""
        return {
            "device_no": self.device_no,
            "period": self.period,
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "size": self.size,
            "sha256": self.sha256,
            "stored_size": self.stored_size,
            "stored_sha256": self.stored_sha256,
            "created_at": iso(self.created_at),
            "exported_at": iso(self.exported_at),
        }


@dataclass(frozen=True)
class PeriodBackup:
    """Everything stored for one device and one period.

    ``manifest_error`` is set (and ``files`` empty) when the period's manifest cannot be read,
    or is missing from a folder that holds files (``manifest_missing``): such a period is
    shown, never pruned, and never written to until a person looks at it.
    """

    device_no: str
    period: int
    files: tuple[BackupFile, ...]
    manifest_error: str = ""
    manifest_error_zh: str = ""
    manifest_missing: bool = False

    @property
    def size(self) -> int:
        """Return the bytes of all contents."""
        return sum(item.size for item in self.files)

    @property
    def stored_size(self) -> int:
        """Return the bytes taken on disk (compressed)."""
        return sum(item.stored_size for item in self.files)

    @property
    def created_at(self) -> datetime | None:
        """Return when the first file was saved."""
        return min((item.created_at for item in self.files), default=None)

    @property
    def exported_at(self) -> datetime | None:
        """Return when the last file was first exported, or None if any file is not exported."""
        if not self.files or any(item.exported_at is None for item in self.files):
            return None
        return max(item.exported_at for item in self.files if item.exported_at is not None)

    @property
    def exported(self) -> bool:
        """Tell whether every file of the period has been exported."""
        return self.exported_at is not None

    def to_json(self) -> dict[str, Any]:
        """Return the period as JSON-ready data."""
        return {
            "device_no": self.device_no,
            "period": self.period,
            "files": [item.to_json() for item in self.files],
            "size": self.size,
            "stored_size": self.stored_size,
            "created_at": iso(self.created_at),
            "exported_at": iso(self.exported_at),
            "manifest_error": self.manifest_error or None,
            "manifest_missing": self.manifest_missing,
        }


class Problem(StrEnum):
    """What verification found wrong with one file."""

    MISSING = "missing"  # listed in the manifest, not on disk
    CORRUPT = "corrupt"  # on disk, but not what the manifest records
    EXTRA = "extra"  # on disk, not listed in the manifest
    STRAY = "stray"  # in the backup folder, outside any period folder
    # A whole period an export left out (its files stay on the box): its manifest is missing,
    # or cannot be read. Not "corrupt": no file was compared with anything.
    MANIFEST_MISSING = "manifest-missing"
    MANIFEST_DAMAGED = "manifest-damaged"


@dataclass(frozen=True)
class SetAside:
    """A damaged period folder a save moved aside whole, kept for a person to look at.

    It is no period (never listed as one, checked or exported): ``period`` is the one it held,
    None when its name does not say.
    """

    device_no: str
    period: int | None
    path: Path

    def to_json(self) -> dict[str, Any]:
        """Return the folder as JSON-ready data."""
        return {"device_no": self.device_no, "period": self.period, "path": str(self.path)}


@dataclass(frozen=True)
class FileProblem:
    """One file verification found wrong, and why (``reason`` is for people and logs)."""

    name: str
    problem: Problem
    reason: str
    reason_zh: str = ""

    def reason_in(self, lang: str) -> str:
        """Return the reason in ``lang`` ("zh" or "en")."""
        return (self.reason_zh or self.reason) if lang == "zh" else self.reason

    def to_json(self) -> dict[str, str]:
        """Return the problem as JSON-ready data."""
        return {
            "name": self.name,
            "problem": self.problem.value,
            "reason": self.reason,
            "reason_zh": self.reason_in("zh"),
        }


@dataclass(frozen=True)
class PeriodCheck:
    """The verification of one period.

    ``leftovers`` counts temporary files of interrupted writes: harmless, never data, removed
    by the next save into the period. ``manifest_missing`` says the folder holds ``kept`` files
    but no manifest: nothing can be checked, and nothing there is a leftover to remove.
    """

    device_no: str
    period: int
    verified: int
    problems: tuple[FileProblem, ...] = ()
    manifest_error: str = ""
    leftovers: int = 0
    manifest_error_zh: str = ""
    manifest_missing: bool = False
    kept: int = 0

    @property
    def ok(self) -> bool:
        """Tell whether every file matches its manifest and nothing else is there."""
        return not self.problems and not self.manifest_error and not self.manifest_missing

    def manifest_error_in(self, lang: str) -> str:
        """Return why the manifest cannot be read, in ``lang`` ("zh" or "en")."""
        return (
            (self.manifest_error_zh or self.manifest_error) if lang == "zh" else self.manifest_error
        )

    def to_json(self) -> dict[str, Any]:
        """Return the check as JSON-ready data."""
        return {
            "device_no": self.device_no,
            "period": self.period,
            "ok": self.ok,
            "verified": self.verified,
            "problems": [item.to_json() for item in self.problems],
            "manifest_error": self.manifest_error or None,
            "manifest_missing": self.manifest_missing,
            "kept": self.kept,
            "leftovers": self.leftovers,
        }


@dataclass(frozen=True)
class VerifyReport:
    """The verification of every period in the store."""

    periods: tuple[PeriodCheck, ...]
    # Entries of the backup folder outside any period folder: not backups, kept for a person.
    strays: tuple[FileProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Tell whether every period verified and nothing stray lies beside them."""
        return all(item.ok for item in self.periods) and not self.strays

    @property
    def verified(self) -> int:
        """Return how many files matched their checksums."""
        return sum(item.verified for item in self.periods)

    @property
    def problem_count(self) -> int:
        """Return how many problems were found, a bad or missing manifest counting as one."""
        return len(self.strays) + sum(
            len(item.problems) + bool(item.manifest_error or item.manifest_missing)
            for item in self.periods
        )

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON-ready data."""
        return {
            "ok": self.ok,
            "verified": self.verified,
            "problems": self.problem_count,
            "periods": [item.to_json() for item in self.periods],
            "strays": [item.to_json() for item in self.strays],
        }
