"""A save cut short around its commit point: the pending file, committed or not.

A save writes ``.pending-<name>.gz``, then the manifest listing ``<name>`` (the commit), then
renames the file. These tests make by hand what a crash at each point leaves, and check what
readers see and what the next save does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from appliance.storage.backups import PENDING_PREFIX, BackupStore
from appliance.storage.errors import BackupNotFound

DEVICE = "661234567890"
PERIOD = 202405


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    store.save(DEVICE, PERIOD, "identity.json", b'{"device_no": "661234567890"}', "identity")
    return store


def folder(store: BackupStore) -> Path:
    return store.backups_dir / DEVICE / str(PERIOD)


def names(store: BackupStore) -> list[str]:
    return sorted(path.name for path in folder(store).iterdir())


def test_a_committed_file_not_yet_renamed_is_read_and_then_renamed(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "receipt.json", b"receipt", "receipt")
    # The cut came after the manifest, before the rename.
    (folder(store) / "receipt.json.gz").rename(folder(store) / f"{PENDING_PREFIX}receipt.json.gz")
    assert store.load(DEVICE, PERIOD, "receipt.json") == b"receipt"
    report = store.verify()
    assert report.ok and report.verified == 2 and report.periods[0].leftovers == 0
    # The resumed job saves the same file again: it is done, under its own name.
    store.save(DEVICE, PERIOD, "receipt.json", b"receipt", "receipt")
    assert names(store) == ["identity.json.gz", "manifest.json", "receipt.json.gz"]
    assert store.verify().ok


def test_an_uncommitted_file_is_a_leftover_the_next_save_removes(store: BackupStore) -> None:
    # The cut came before the manifest listed it.
    (folder(store) / f"{PENDING_PREFIX}receipt.json.gz").write_bytes(b"\x1f\x8b half")
    report = store.verify()
    assert report.ok and report.periods[0].leftovers == 1
    with pytest.raises(BackupNotFound):
        store.load(DEVICE, PERIOD, "receipt.json")
    store.save(DEVICE, PERIOD, "receipt.json", b"receipt, read again", "receipt")
    assert names(store) == ["identity.json.gz", "manifest.json", "receipt.json.gz"]
    assert store.load(DEVICE, PERIOD, "receipt.json") == b"receipt, read again"


def test_a_file_nobody_saved_is_still_reported(store: BackupStore) -> None:
    (folder(store) / "planted.bin.gz").write_bytes(b"not ours")
    report = store.verify()
    assert not report.ok
    assert [p.name for p in report.periods[0].problems] == ["planted.bin.gz"]


def test_prune_removes_a_period_whose_file_is_still_pending(
    store: BackupStore, tmp_path: Path
) -> None:
    store.save(DEVICE, PERIOD, "receipt.json", b"receipt", "receipt")
    (folder(store) / "receipt.json.gz").rename(folder(store) / f"{PENDING_PREFIX}receipt.json.gz")
    (folder(store) / f"{PENDING_PREFIX}other.bin.gz").write_bytes(b"leftover")
    (tmp_path / "usb").mkdir()
    archive = store.export(tmp_path / "usb")
    assert archive.stat().st_size > 0
    removed = store.prune(date(2027, 12, 1))
    assert [(p.device_no, p.period) for p in removed] == [(DEVICE, PERIOD)]
    assert not folder(store).exists()
