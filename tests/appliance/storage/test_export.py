"""The export archive, opened the way a tax office would: manifest, checksums, readable summary."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from appliance.storage.backups import BackupStore
from appliance.storage.errors import BackupNotFound, ExportFailed
from appliance.storage.export import read_archive_manifest

DEVICE = "661234567890"
OTHER = "661234567891"

SUMMARY = {
    "type": "026",
    "period": 202405,
    "bsqsrq": 20240501,
    "bszzrq": 20240531,
    "issued_count": 12,
    "issued_amount": 1234567,
    "issued_tax": 160494,
    "negative_count": 1,
    "negative_amount": -10000,
    "negative_tax": -1300,
    "void_count": 0,
    "void_amount": 0,
    "stock_start": 100,
    "bought": 50,
    "returned": 0,
    "stock_end": 137,
    "device_no": DEVICE,
    "taxpayer_id": "91420100MA4K000000",
    "signature": "ab" * 64,
}


def fill(store: BackupStore) -> None:
    store.save(DEVICE, 202405, "identity.json", b'{"device_no": "x"}', "identity")
    store.save(DEVICE, 202405, "summary-026.bin", bytes(range(200)), "raw-device", "raw")
    store.save(DEVICE, 202405, "summary-026.json", json.dumps(SUMMARY).encode(), "summary", "fen")
    store.save(DEVICE, 202405, "receipt-026.json", b'{"code": "0000"}', "receipt")
    store.save(DEVICE, 202405, "clearing-data.bin", b"\x99" * 64, "clearing-data")
    store.save(OTHER, 202406, "monitor-before.json", b"{}", "monitor")


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    fill(store)
    return store


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "usb"
    path.mkdir()
    return path


def open_manifest(zf: zipfile.ZipFile) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(zf.read("MANIFEST.json"))
    return data


def test_archive_lists_every_file_with_a_correct_checksum(store: BackupStore, dest: Path) -> None:
    path = store.export(dest)
    assert path.parent == dest
    assert path.suffix == ".zip"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        manifest = open_manifest(zf)
        listed = {entry["path"]: entry for entry in manifest["files"]}
        # Every member but the manifest itself is listed, and nothing else is.
        assert set(listed) == set(zf.namelist()) - {"MANIFEST.json"}
        for name, entry in listed.items():
            data = zf.read(name)
            assert entry["size"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["meaning_zh"] and entry["meaning_en"]
        # Windows tools choke on other separators or on non-ASCII names without the UTF-8 flag.
        assert all(name.isascii() and "\\" not in name for name in zf.namelist())
    assert manifest["problems"] == []


def test_raw_files_are_exactly_what_was_saved(store: BackupStore, dest: Path) -> None:
    with zipfile.ZipFile(store.export(dest)) as zf:
        manifest = open_manifest(zf)
        raw = {e["path"]: e for e in manifest["files"] if "kind" in e}
        assert set(raw) == {
            f"{DEVICE}/202405/raw/identity.json",
            f"{DEVICE}/202405/raw/summary-026.bin",
            f"{DEVICE}/202405/raw/summary-026.json",
            f"{DEVICE}/202405/raw/receipt-026.json",
            f"{DEVICE}/202405/raw/clearing-data.bin",
            f"{OTHER}/202406/raw/monitor-before.json",
        }
        assert zf.read(f"{DEVICE}/202405/raw/summary-026.bin") == bytes(range(200))
        entry = raw[f"{DEVICE}/202405/raw/summary-026.bin"]
        assert entry["kind"] == "raw-device"
        assert entry["description"] == "raw"
        assert entry["sha256"] == store.periods()[0].files[1].sha256


def test_summary_is_readable_in_yuan(store: BackupStore, dest: Path) -> None:
    with zipfile.ZipFile(store.export(dest)) as zf:
        table = zf.read(f"{DEVICE}/202405/summary.csv")
        readable = json.loads(zf.read(f"{DEVICE}/202405/summary.json"))
        everything = zf.read("summaries.csv")
    # A BOM, so Excel on Windows reads UTF-8.
    assert table.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    (row,) = rows
    assert row["正数发票金额（元） / amount issued (yuan)"] == "12345.67"
    assert row["正数发票税额（元） / tax issued (yuan)"] == "1604.94"
    assert row["负数发票金额（元） / red invoice amount (yuan)"] == "-100.00"
    assert row["正数发票份数 / invoices issued"] == "12"
    assert row["票种名称 / invoice type name"] == "增值税电子普通发票"
    assert row["报税起始日期 / report window start"] == "2024-05-01"
    assert row["所属期 / period"] == "2024-05"
    (summary,) = readable["summaries"]
    assert summary["作废发票金额（元） / voided amount (yuan)"] == "0.00"
    assert summary["其他字段 / other fields"] == {"signature": "ab" * 64}
    # The period without a summary has no table, and the overall table has the one summary.
    assert len(list(csv.reader(io.StringIO(everything.decode("utf-8-sig"))))) == 2


def test_readme_explains_the_archive_in_chinese_then_english(
    store: BackupStore, dest: Path
) -> None:
    with zipfile.ZipFile(store.export(dest)) as zf:
        readme = zf.read("README.txt")
    assert readme.startswith(b"\xef\xbb\xbf")
    text = readme.decode("utf-8-sig")
    assert "\r\n" in text
    assert text.index("【中文】") < text.index("【English】")
    assert "certutil -hashfile" in text
    assert f"设备 {DEVICE}  2024-05  5 个文件" in text
    assert f"device {OTHER}  2024-06  1 files" in text


def test_export_marks_the_backups_exported(store: BackupStore, dest: Path) -> None:
    assert not any(p.exported for p in store.periods())
    store.export(dest)
    periods = store.periods()
    assert all(p.exported for p in periods)
    first = periods[0].exported_at
    # A second export keeps the first export time and writes another archive.
    store.export(dest)
    assert store.periods()[0].exported_at == first
    assert len(list(dest.glob("*.zip"))) == 2


def test_a_file_saved_after_the_export_makes_the_period_unexported(
    store: BackupStore, dest: Path
) -> None:
    store.export(dest)
    store.save(DEVICE, 202405, "monitor-after.json", b"{}", "monitor")
    period = store.periods()[0]
    assert not period.exported
    assert period.exported_at is None


def test_export_of_one_device(store: BackupStore, dest: Path) -> None:
    path = store.export(dest, OTHER)
    assert OTHER in path.name
    with zipfile.ZipFile(path) as zf:
        assert all(not name.startswith(DEVICE) for name in zf.namelist()), (
            "another device's data leaked into the archive"
        )
    exported = {p.device_no: p.exported for p in store.periods()}
    assert exported == {DEVICE: False, OTHER: True}


def test_damaged_files_are_left_out_listed_and_not_marked(store: BackupStore, dest: Path) -> None:
    folder = store.backups_dir / DEVICE / "202405"
    (folder / "receipt-026.json.gz").write_bytes(b"not gzip")
    (folder / "clearing-data.bin.gz").unlink()
    path = store.export(dest)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = open_manifest(zf)
        readme = zf.read("README.txt").decode("utf-8-sig")
    assert f"{DEVICE}/202405/raw/receipt-026.json" not in names
    problems = {(p["name"], p["problem"]) for p in manifest["problems"]}
    assert problems == {("receipt-026.json", "corrupt"), ("clearing-data.bin", "missing")}
    assert "receipt-026.json" in readme
    files = {f.name: f for f in store.periods()[0].files}
    assert files["receipt-026.json"].exported_at is None
    assert files["summary-026.bin"].exported_at is not None
    assert read_archive_manifest(path)["problems"] == manifest["problems"]


def test_export_with_nothing_to_export(tmp_path: Path, dest: Path) -> None:
    with pytest.raises(BackupNotFound):
        BackupStore(tmp_path / "empty").export(dest)


def test_export_to_a_missing_folder(store: BackupStore, tmp_path: Path) -> None:
    with pytest.raises(ExportFailed):
        store.export(tmp_path / "not-plugged-in")
    assert not any(p.exported for p in store.periods())


def test_summary_that_is_not_json_still_exports(tmp_path: Path, dest: Path) -> None:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    store.save(DEVICE, 202405, "summary-026.json", b"\xff not json", "summary")
    with zipfile.ZipFile(store.export(dest)) as zf:
        assert zf.read(f"{DEVICE}/202405/raw/summary-026.json") == b"\xff not json"
        table = zf.read(f"{DEVICE}/202405/summary.csv").decode("utf-8-sig")
    assert "could not be read" in table
