"""A period's ``manifest.json``: the source of truth of what a period holds.

Written atomically after the files it lists, so a file is part of a backup only once its
manifest says so. Read back with every field checked and every size capped: a manifest from a
damaged or hostile disk yields :class:`BackupCorrupt`, never a crash or an unbounded read.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from appliance.storage.errors import BackupCorrupt
from appliance.storage.records import (
    KIND_PATTERN,
    MAX_CONTENT_BYTES,
    MAX_DESCRIPTION_CHARS,
    NAME_PATTERN,
    BackupFile,
    iso,
)

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "qingka-backup-period"
MANIFEST_VERSION = 1
# A period holds a dozen files; the caps bound what a corrupted manifest can make us read.
MAX_FILES = 1000
MAX_MANIFEST_BYTES = 1024 * 1024
# gzip of incompressible content grows by a few bytes per 16 KiB block plus its header.
MAX_STORED_BYTES = MAX_CONTENT_BYTES + MAX_CONTENT_BYTES // 1000 + 1024
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")
MAX_TIME_CHARS = 40


def encode(device_no: str, period: int, files: tuple[BackupFile, ...]) -> bytes:
    """Return the manifest of a period as UTF-8 JSON."""
    data = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "device_no": device_no,
        "period": period,
        "files": [
            {
                "name": item.name,
                "kind": item.kind,
                "description": item.description,
                "size": item.size,
                "sha256": item.sha256,
                "stored_size": item.stored_size,
                "stored_sha256": item.stored_sha256,
                "created_at": iso(item.created_at),
                "exported_at": iso(item.exported_at),
            }
            for item in files
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def decode(raw: bytes, device_no: str, period: int) -> tuple[BackupFile, ...]:
    """Return the files a manifest lists; it must belong to ``device_no`` and ``period``."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BackupCorrupt(
            f"manifest of {len(raw)} bytes, above {MAX_MANIFEST_BYTES}",
            zh=f"清单有 {len(raw)} 字节，超过 {MAX_MANIFEST_BYTES} 字节",
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON and integers too long to convert; a deeply
        # nested document exhausts the parser's recursion.
        raise BackupCorrupt(f"manifest is not JSON: {exc}", zh=f"清单不是 JSON：{exc}") from None
    if not isinstance(data, dict):
        raise BackupCorrupt("manifest is not a JSON object", zh="清单不是 JSON 对象")
    if data.get("format") != MANIFEST_FORMAT:
        raise BackupCorrupt("not a backup manifest", zh="不是备份清单")
    version = _int(data, "version", 1, 1_000_000)
    if version != MANIFEST_VERSION:
        raise BackupCorrupt(
            f"manifest version {version} is not one this box reads",
            zh=f"本机无法读取第 {version} 版清单",
        )
    if data.get("device_no") != device_no or data.get("period") != period:
        raise BackupCorrupt(
            "manifest belongs to another device or period", zh="清单属于其他设备或期间"
        )
    entries = data.get("files")
    if not isinstance(entries, list) or len(entries) > MAX_FILES:
        raise BackupCorrupt(
            f"manifest file list missing or longer than {MAX_FILES}",
            zh=f"清单缺少文件列表，或文件超过 {MAX_FILES} 个",
        )
    files = tuple(_entry(item, device_no, period) for item in entries)
    names = [item.name for item in files]
    if len(set(names)) != len(names):
        raise BackupCorrupt("manifest lists a name twice", zh="清单中有重复的文件名")
    return files


def _entry(item: Any, device_no: str, period: int) -> BackupFile:
    if not isinstance(item, dict):
        raise BackupCorrupt("manifest entry is not an object", zh="清单条目不是对象")
    exported = item.get("exported_at")
    return BackupFile(
        device_no=device_no,
        period=period,
        name=_text(item, "name", NAME_PATTERN),
        kind=_text(item, "kind", KIND_PATTERN),
        description=_description(item),
        size=_int(item, "size", 0, MAX_CONTENT_BYTES),
        sha256=_text(item, "sha256", SHA256_PATTERN),
        stored_size=_int(item, "stored_size", 0, MAX_STORED_BYTES),
        stored_sha256=_text(item, "stored_sha256", SHA256_PATTERN),
        created_at=_moment(item.get("created_at"), "created_at"),
        exported_at=None if exported is None else _moment(exported, "exported_at"),
    )


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BackupCorrupt(
            f"manifest field {key} is not a number in {low}..{high}",
            zh=f"清单字段 {key} 不是 {low}..{high} 之间的数",
        )
    return value


def _text(data: dict[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise BackupCorrupt(f"manifest field {key} is not valid", zh=f"清单字段 {key} 无效")
    return value


def _description(data: dict[str, Any]) -> str:
    value = data.get("description", "")
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION_CHARS:
        raise BackupCorrupt(
            "manifest field description is not valid", zh="清单字段 description 无效"
        )
    return value


def _moment(value: Any, key: str) -> datetime:
    if not isinstance(value, str) or len(value) > MAX_TIME_CHARS:
        raise BackupCorrupt(f"manifest field {key} is not a time", zh=f"清单字段 {key} 不是时间")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BackupCorrupt(
            f"manifest field {key} is not a time", zh=f"清单字段 {key} 不是时间"
        ) from None
    # Times are compared across files; a time without its UTC offset cannot be.
    if moment.tzinfo is None:
        raise BackupCorrupt(
            f"manifest field {key} has no UTC offset", zh=f"清单字段 {key} 没有 UTC 偏移"
        )
    return moment
