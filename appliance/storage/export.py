"""The export archive: a .zip a tax office or an accountant can open on Windows and check.

Inside: ``README.txt`` (Chinese, then English), ``MANIFEST.json`` (every other file with its
size, SHA-256 and meaning), ``summaries.csv`` (every period's summary, amounts in yuan), and
per device and period ``summary.csv``, ``summary.json`` and ``raw/`` with each stored file
exactly as saved. A file that fails its checksum is left out and listed as a problem: an
archive never carries damaged evidence as if it were sound.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.storage import fsio, readable
from appliance.storage.errors import ExportFailed, ExportNoFolder, ExportNotAFolder
from appliance.storage.records import (
    KIND_SUMMARY,
    KINDS,
    BackupFile,
    FileProblem,
    PeriodBackup,
    Problem,
    iso,
    period_text,
)
from appliance.storage.words import PROBLEM_WORDS, kind_words

EXPORT_FORMAT = "qingka-backup-export"
EXPORT_VERSION = 1
README_NAME = "README.txt"
MANIFEST_NAME = "MANIFEST.json"
ALL_SUMMARIES_NAME = "summaries.csv"
# Attempts at a free archive name before giving up (two exports in the same second).
MAX_NAME_TRIES = 100


@dataclass(frozen=True)
class ExportProblem:
    """A file (or a whole period, when ``name`` is empty) left out of the archive."""

    device_no: str
    period: int
    name: str
    problem: Problem
    reason: str
    reason_zh: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the problem as JSON-ready data."""
        return {
            "device_no": self.device_no,
            "period": self.period,
            "name": self.name,
            "problem": self.problem.value,
            "reason": self.reason,
            "reason_zh": self.reason_zh or self.reason,
        }


@dataclass(frozen=True)
class ArchiveResult:
    """What an export wrote: the archive, the files in it, and what was left out."""

    path: Path
    exported: tuple[BackupFile, ...]
    problems: tuple[ExportProblem, ...]


# Returns a file's verified content, or what is wrong with it.
Reader = Callable[[BackupFile], bytes | FileProblem]


class _Archive:
    """The zip being written, and the manifest entries of what went in."""

    def __init__(self, zf: zipfile.ZipFile, now: datetime) -> None:
        self.zf = zf
        self.date_time = now.timetuple()[:6]
        self.entries: list[dict[str, Any]] = []

    def put(self, path: str, data: bytes) -> None:
        """Write one member."""
        info = zipfile.ZipInfo(path, date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16  # rw-r--r-- when unpacked on Linux
        self.zf.writestr(info, data)

    def add(self, path: str, data: bytes, meaning: tuple[str, str], **extra: Any) -> None:
        """Write one member and list it in the manifest."""
        self.put(path, data)
        self.entries.append(
            {
                "path": path,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "meaning_zh": meaning[0],
                "meaning_en": meaning[1],
                **extra,
            }
        )


def archive_path(dest_dir: Path, device_no: str | None, now: datetime) -> Path:
    """Return a name in ``dest_dir`` no file has yet."""
    stem = f"qingka-backup-{device_no or 'all'}-{now:%Y%m%d-%H%M%S}"
    for attempt in range(MAX_NAME_TRIES):
        path = dest_dir / (f"{stem}.zip" if attempt == 0 else f"{stem}-{attempt + 1}.zip")
        if not path.exists():
            return path
    raise ExportFailed("too many archives of the same second", dest_dir)


def write_archive(
    dest_dir: Path,
    periods: Sequence[PeriodBackup],
    read: Reader,
    now: datetime,
    device_no: str | None = None,
) -> ArchiveResult:
    """Write the archive of ``periods`` into ``dest_dir``; ``read`` returns a file's content."""
    if not dest_dir.is_dir():
        if not dest_dir.exists():
            raise ExportNoFolder("the destination does not exist", dest_dir)
        raise ExportNotAFolder("the destination is not a folder", dest_dir)
    path = archive_path(dest_dir, device_no, now)
    try:
        with (
            fsio.atomic_file(path, 0o644) as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf,
        ):
            exported, problems = _fill(_Archive(zf, now), periods, read, now, device_no)
    except OSError as exc:
        raise ExportFailed(exc.strerror or str(exc), exc.filename or dest_dir) from exc
    return ArchiveResult(path, exported, problems)


def _fill(
    archive: _Archive,
    periods: Sequence[PeriodBackup],
    read: Reader,
    now: datetime,
    device_no: str | None,
) -> tuple[tuple[BackupFile, ...], tuple[ExportProblem, ...]]:
    exported: list[BackupFile] = []
    problems: list[ExportProblem] = []
    all_summaries: list[tuple[str, int, readable.ReadableSummary]] = []
    for backup in periods:
        if backup.manifest_missing:
            problems.append(
                ExportProblem(backup.device_no, backup.period, "", Problem.MANIFEST_MISSING, "")
            )
            continue
        if backup.manifest_error:
            problems.append(
                ExportProblem(
                    backup.device_no,
                    backup.period,
                    "",
                    Problem.MANIFEST_DAMAGED,
                    backup.manifest_error,
                    backup.manifest_error_zh,
                )
            )
            continue
        folder = f"{backup.device_no}/{backup.period}"
        summaries: list[readable.ReadableSummary] = []
        for record in backup.files:
            content = read(record)
            if isinstance(content, FileProblem):
                problems.append(
                    ExportProblem(
                        backup.device_no,
                        backup.period,
                        record.name,
                        content.problem,
                        content.reason,
                        content.reason_zh,
                    )
                )
                continue
            archive.add(
                f"{folder}/raw/{record.name}",
                content,
                kind_words(record.kind),
                kind=record.kind,
                description=record.description,
                device_no=record.device_no,
                period=record.period,
                created_at=iso(record.created_at),
            )
            exported.append(record)
            if record.kind == KIND_SUMMARY:
                summaries.append(readable.read_summary(record.name, content))
        if summaries:
            archive.add(
                f"{folder}/summary.csv",
                readable.to_csv([(backup.device_no, backup.period, s) for s in summaries]),
                (
                    "本期汇总数据表，可用 Excel 打开（金额单位：元）",
                    "this period's summary as a table for Excel (amounts in yuan)",
                ),
            )
            archive.add(
                f"{folder}/summary.json",
                readable.to_json(backup.device_no, backup.period, summaries),
                (
                    "本期汇总数据，便于程序读取（金额单位：元）",
                    "this period's summary for programs (amounts in yuan)",
                ),
            )
            all_summaries += [(backup.device_no, backup.period, s) for s in summaries]
    archive.add(
        ALL_SUMMARIES_NAME,
        readable.to_csv(all_summaries),
        (
            "所有期间的汇总数据表，可用 Excel 打开（金额单位：元）",
            "every period's summary as one table for Excel (amounts in yuan)",
        ),
    )
    archive.add(
        README_NAME,
        readme(now, device_no, exported, problems),
        ("本压缩包的说明（中文、英文）", "what this archive holds (Chinese, English)"),
    )
    # Top-level files first, so a reader of the manifest meets the README before the data.
    entries = sorted(archive.entries, key=lambda entry: "/" in entry["path"])
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "created_at": iso(now),
        "device_no": device_no,
        "checksum": "SHA-256",
        "files": entries,
        "problems": [item.to_json() for item in problems],
    }
    archive.put(MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return tuple(exported), tuple(problems)


def _period_lines(exported: list[BackupFile], zh: bool) -> list[str]:
    counts: dict[tuple[str, int], int] = {}
    for record in exported:
        key = (record.device_no, record.period)
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return ["  （无）" if zh else "  (none)"]
    if zh:
        return [f"  设备 {d}  {period_text(p)}  {n} 个文件" for (d, p), n in counts.items()]
    return [f"  device {d}  {period_text(p)}  {n} files" for (d, p), n in counts.items()]


def _problem_lines(problems: list[ExportProblem], zh: bool) -> list[str]:
    lines = []
    for item in problems:
        label_zh, label_en, text_zh, text_en = PROBLEM_WORDS[item.problem]
        where = f"{item.device_no} {period_text(item.period)} {item.name}".rstrip()
        reason = (item.reason_zh or item.reason) if zh else item.reason
        if not item.name:  # a whole period: say what became of it
            reason = f"{text_zh if zh else text_en}" + (f"; {reason}" if reason else "")
        lines.append(f"  {where}: {label_zh if zh else label_en} ({reason})")
    return lines


def readme(
    now: datetime,
    device_no: str | None,
    exported: list[BackupFile],
    problems: list[ExportProblem],
) -> bytes:
    """Return README.txt: Chinese, then English; CRLF and a BOM so Notepad shows it right."""
    scope_zh = f"设备 {device_no}" if device_no else "本机所有设备"
    scope_en = f"device {device_no}" if device_no else "every device of the box"
    lines = [
        "清卡盒 备份导出 / QingKa Box backup export",
        "==========================================",
        "",
        "【中文】",
        f"本压缩包由清卡盒导出（{scope_zh}），导出时间：{iso(now)}。",
        "清卡盒在每月清卡、向税务局发送任何数据之前，先把本期数据保存在本机。本压缩包就是这些数据。",
        "",
        "内容：",
        f"  {README_NAME:<16}本说明",
        f"  {MANIFEST_NAME:<16}文件清单：每个文件的路径、大小、SHA-256 校验值和含义",
        f"  {ALL_SUMMARIES_NAME:<16}所有期间的汇总数据表，可用 Excel 打开，金额单位：元",
        "  设备编号/所属期/summary.csv   该期汇总数据表，金额单位：元",
        "  设备编号/所属期/summary.json  该期汇总数据（便于程序读取），金额单位：元",
        "  设备编号/所属期/raw/          原始文件，与本机保存的内容完全一致",
        "",
        "原始文件的种类：",
        *[f"  {kind}: {kind_words(kind)[0]}" for kind in KINDS],
        "注意：raw 目录中的 summary-*.json 是解析后的原始字段，金额单位为“分”；"
        "summary.csv 和 summary.json 中的金额已换算为“元”，保留两位小数。",
        "",
        "如何确认文件未被改动（Windows）：在命令提示符中运行",
        "  certutil -hashfile 文件名 SHA256",
        f"将结果与 {MANIFEST_NAME} 中该文件的 sha256 比较，完全一致即说明文件与导出时相同。",
        "",
        "本次导出的期间：",
        *_period_lines(exported, zh=True),
    ]
    if problems:
        lines += [
            "",
            "以下文件已损坏或丢失，未导出；它们仍保留在清卡盒中，不会被自动清理：",
            *_problem_lines(problems, zh=True),
        ]
    lines += [
        "",
        "【English】",
        f"This archive was exported by a QingKa Box ({scope_en}) at {iso(now)}.",
        "Before the monthly clearing sends anything to the tax bureau, the box stores that "
        "period's data on itself. This archive holds that data.",
        "",
        "Contents:",
        f"  {README_NAME:<16}this text",
        f"  {MANIFEST_NAME:<16}every file with its path, size, SHA-256 checksum and meaning",
        f"  {ALL_SUMMARIES_NAME:<16}every period's summary as one table for Excel, in yuan",
        "  DEVICE/PERIOD/summary.csv    that period's summary as a table, amounts in yuan",
        "  DEVICE/PERIOD/summary.json   that period's summary for programs, amounts in yuan",
        "  DEVICE/PERIOD/raw/           the stored files, byte for byte as the box saved them",
        "",
        "Kinds of stored files:",
        *[f"  {kind}: {kind_words(kind)[1]}" for kind in KINDS],
        "Note: raw/summary-*.json holds the decoded fields with amounts in fen (1/100 yuan); "
        "summary.csv and summary.json show them in yuan with two decimals.",
        "",
        "To check that a file is unaltered (Windows), run in a command prompt:",
        "  certutil -hashfile FILE SHA256",
        f"and compare with its sha256 in {MANIFEST_NAME} (Linux: sha256sum FILE).",
        "",
        "Periods in this export:",
        *_period_lines(exported, zh=False),
    ]
    if problems:
        lines += [
            "",
            "These files are damaged or missing and were left out; they stay on the box and "
            "are never pruned:",
            *_problem_lines(problems, zh=False),
        ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


# The manifest of an archive of a few years of backups is well below this.
MAX_ARCHIVE_MANIFEST_BYTES = 16 * 1024 * 1024


def read_archive_manifest(path: Path) -> dict[str, Any]:
    """Return the MANIFEST.json of an archive written by :func:`write_archive`."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(MANIFEST_NAME)
            if info.file_size > MAX_ARCHIVE_MANIFEST_BYTES:
                raise ExportFailed("the archive's manifest is too large", path)
            data = json.loads(zf.read(info))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RecursionError) as exc:
        raise ExportFailed(f"the archive cannot be read back: {exc}", path) from exc
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise ExportFailed("the archive's manifest is not one this box wrote", path)
    return data
