"""The bundle's manifest: what it holds, for whom, until when, and in which order of bundles.

``QINGKA/manifest.json``, signed by ``QINGKA/manifest.sig``::

    {"format": "qingka-bundle/1", "serial": 1765332000,
     "created": "2026-12-10T09:00:00+08:00", "expires": "2027-01-09T09:00:00+08:00",
     "creator": "武汉办公室 张工",
     "targets": ["qk-0123456789ab"],            # or "enroll": any box writes its request
     "files": [{"path": "config.json", "size": 1234, "sha256": "…64 hex…"}, …]}

``serial`` only ever grows for a box: a bundle whose serial is not above the last applied one
is refused (no replay, no rollback). Paths are relative to ``QINGKA/bundle/``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from provisioning.errors import BadManifest
from provisioning.fields import Fields, load_json

MANIFEST_FORMAT = "qingka-bundle/1"
ENROLL = "enroll"
# A manifest lists a handful of files; 64 KiB leaves room for a thousand targets.
MAX_MANIFEST_BYTES = 64 * 1024
MAX_FILES = 64
MAX_TARGETS = 1000
# A bundle valid for more than a year is a mistake, or a stick meant to be replayed later.
MAX_VALIDITY = timedelta(days=366)
# Serials are whole numbers JSON carries exactly everywhere.
MAX_SERIAL = 2**53
# The largest file: a RAUC update bundle (FAT32 holds at most 4 GiB - 1 per file).
MAX_FILE_SIZE = 4 * 1024**3 - 1
BOX_ID = re.compile(r"qk-[0-9a-f]{12}")
SHA256 = re.compile(r"[0-9a-f]{64}")
# One path component: FAT-safe characters, no leading dot (no "..", no hidden files).
COMPONENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_DEPTH = 4
MAX_PATH = 200
_CREATOR = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def check_path(path: str) -> str | None:
    """Return why ``path`` is not an allowed bundle path, or ``None`` if it is."""
    if not path or len(path) > MAX_PATH:
        return "empty or too long"
    if path.startswith("/") or "\\" in path:
        return "absolute or with a backslash"
    parts = path.split("/")
    if len(parts) > MAX_DEPTH:
        return f"more than {MAX_DEPTH} levels deep"
    for part in parts:
        if part in ("", ".", ".."):
            return "has an empty, '.' or '..' part"
        if not COMPONENT.fullmatch(part):
            return f"part {part[:20]!r} has characters that are not allowed"
    return None


@dataclass(frozen=True)
class FileEntry:
    """One file of the bundle as the manifest lists it."""

    path: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, object]:
        """Return the manifest entry."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Manifest:
    """A parsed, checked manifest."""

    serial: int
    created: datetime
    expires: datetime
    creator: str
    targets: tuple[str, ...]  # box ids; empty for an enrollment stick
    files: tuple[FileEntry, ...]

    @property
    def enroll(self) -> bool:
        """Tell whether this is an enrollment stick (any box writes its request)."""
        return not self.targets

    def file(self, path: str) -> FileEntry | None:
        """Return the entry of ``path``, or ``None``."""
        return next((entry for entry in self.files if entry.path == path), None)

    def to_bytes(self) -> bytes:
        """Return the manifest file's bytes (what the signature covers)."""
        data = {
            "format": MANIFEST_FORMAT,
            "serial": self.serial,
            "created": self.created.isoformat(timespec="seconds"),
            "expires": self.expires.isoformat(timespec="seconds"),
            "creator": self.creator,
            "targets": list(self.targets) if self.targets else ENROLL,
            "files": [entry.to_json() for entry in self.files],
        }
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _moment(fields: Fields, key: str) -> datetime:
    text = fields.text(key, 40)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fields.fail(key, "is not an ISO 8601 moment") from None
    if moment.tzinfo is None:
        raise fields.fail(key, "has no UTC offset")
    return moment


def parse(raw: bytes) -> Manifest:
    """Read and check a manifest; :class:`BadManifest` names what is wrong."""
    fields = Fields(load_json(raw, MAX_MANIFEST_BYTES, BadManifest, "manifest"), BadManifest, "")
    fields.only(("format", "serial", "created", "expires", "creator", "targets", "files"))
    if fields.data.get("format") != MANIFEST_FORMAT:
        raise fields.fail("format", f"must be {MANIFEST_FORMAT!r}")
    serial = fields.integer("serial", 1, MAX_SERIAL)
    created = _moment(fields, "created")
    expires = _moment(fields, "expires")
    if not created < expires <= created + MAX_VALIDITY:
        raise fields.fail("expires", "must be after 'created' and within a year of it")
    creator = fields.text("creator", 200, _CREATOR)
    if fields.data.get("targets") == ENROLL:
        targets: tuple[str, ...] = ()
    else:
        listed = fields.texts("targets", MAX_TARGETS, 15, BOX_ID)
        if not listed:
            raise fields.fail("targets", f"must list box ids or be {ENROLL!r}")
        targets = tuple(listed)
    files = []
    seen: set[str] = set()
    for entry in fields.items("files", MAX_FILES):
        entry.only(("path", "size", "sha256"))
        path = entry.text("path", MAX_PATH)
        problem = check_path(path)
        if problem:
            raise entry.fail("path", problem)
        # FAT compares names without case: two paths differing only in case are one file there.
        if path.lower() in seen:
            raise entry.fail("path", "appears twice (ignoring case)")
        seen.add(path.lower())
        files.append(
            FileEntry(
                path, entry.integer("size", 0, MAX_FILE_SIZE), entry.text("sha256", 64, SHA256)
            )
        )
    return Manifest(serial, created, expires, creator, targets, tuple(files))
