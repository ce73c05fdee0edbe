"""Retention: only exported periods older than the retention are removed, nothing else."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from appliance.storage.backups import TRASH_PREFIX, BackupStore
from appliance.storage.errors import BadBackupRequest

DEVICE = "661234567890"


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "data", retention_months=24, min_free_bytes=0)


def save_periods(store: BackupStore, *periods: int) -> None:
    for period in periods:
        store.save(DEVICE, period, "summary-026.json", b"{}", "summary")


def listed(store: BackupStore) -> list[int]:
    return [p.period for p in store.periods()]


def test_exported_periods_past_retention_are_pruned(store: BackupStore, tmp_path: Path) -> None:
    save_periods(store, 202301, 202405, 202406, 202407)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    # June 2026: 2024-05 is 25 months back, past 24 months; 2024-06 is exactly 24.
    removed = store.prune(date(2026, 6, 30))
    assert [p.period for p in removed] == [202301, 202405]
    assert listed(store) == [202406, 202407]
    assert not (store.backups_dir / DEVICE / "202405").exists()
    assert store.verify().ok


def test_unexported_periods_are_kept_however_old(store: BackupStore) -> None:
    save_periods(store, 201501, 202001)
    assert store.prune(date(2030, 1, 1)) == []
    assert listed(store) == [201501, 202001]


def test_recent_exported_periods_are_kept(store: BackupStore, tmp_path: Path) -> None:
    save_periods(store, 202405)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    assert store.prune(date(2026, 5, 1)) == []
    assert listed(store) == [202405]


def test_a_period_with_an_unexported_file_is_kept(store: BackupStore, tmp_path: Path) -> None:
    save_periods(store, 202001)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    store.save(DEVICE, 202001, "receipt-026.json", b"{}", "receipt")
    assert store.prune(date(2030, 1, 1)) == []


def test_a_period_with_unlisted_files_is_kept(store: BackupStore, tmp_path: Path) -> None:
    save_periods(store, 202001)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    (store.backups_dir / DEVICE / "202001" / "notes.txt").write_text("by hand")
    assert store.prune(date(2030, 1, 1)) == []


def test_a_period_with_a_damaged_manifest_is_kept(store: BackupStore) -> None:
    save_periods(store, 202001)
    (store.backups_dir / DEVICE / "202001" / "manifest.json").write_text("{")
    assert store.prune(date(2030, 1, 1)) == []
    assert (store.backups_dir / DEVICE / "202001").exists()


def test_shorter_retention(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "data", retention_months=1, min_free_bytes=0)
    save_periods(store, 202404, 202405)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    assert [p.period for p in store.prune(date(2024, 6, 15))] == [202404]


def test_an_interrupted_prune_is_finished(store: BackupStore) -> None:
    save_periods(store, 202405)
    trash = store.backups_dir / DEVICE / f"{TRASH_PREFIX}202001"
    trash.mkdir()
    (trash / "summary-026.json.gz").write_bytes(b"x")
    assert store.periods()[0].period == 202405
    store.prune(date(2024, 6, 1))
    assert not trash.exists()


def test_the_last_period_of_a_device_takes_its_folder(store: BackupStore, tmp_path: Path) -> None:
    save_periods(store, 202001)
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    store.prune(date(2030, 1, 1))
    assert not (store.backups_dir / DEVICE).exists()


def test_retention_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(BadBackupRequest):
        BackupStore(tmp_path, retention_months=0)


def test_a_period_whose_manifest_is_missing_is_kept_and_set_aside_by_a_save(
    store: BackupStore, tmp_path: Path
) -> None:
    save_periods(store, 202301)
    store.save(DEVICE, 202301, "identity.json", b"{}", "identity")
    (tmp_path / "usb").mkdir()
    store.export(tmp_path / "usb")
    folder = store.backups_dir / DEVICE / "202301"
    (folder / "manifest.json").unlink()
    assert store.prune(date(2030, 1, 1)) == []
    [backup] = store.periods()
    assert backup.manifest_missing and backup.manifest_error
    [check] = store.verify().periods
    assert check.manifest_missing and check.kept == 2 and not check.problems
    # A clearing saving into the period is not held up: the damaged folder is moved aside
    # whole (reported as stray for a person) and the period starts anew.
    store.save(DEVICE, 202301, "receipt.json", b"{}", "receipt")
    [aside] = [p for p in folder.parent.iterdir() if p.name.startswith(".damaged-202301-")]
    assert sorted(p.name for p in aside.iterdir()) == ["identity.json.gz", "summary-026.json.gz"]
    report = store.verify()
    [check] = report.periods
    assert check.verified == 1 and not check.problems and not check.manifest_missing
    assert [s.name for s in report.strays] == [f"{DEVICE}/{aside.name}"]
    assert not report.ok


def test_a_save_into_a_period_with_a_garbled_manifest_sets_it_aside(store: BackupStore) -> None:
    save_periods(store, 202302)
    folder = store.backups_dir / DEVICE / "202302"
    (folder / "manifest.json").write_text("{")
    store.save(DEVICE, 202302, "receipt.json", b"{}", "receipt")
    [aside] = [p for p in folder.parent.iterdir() if p.name.startswith(".damaged-202302-")]
    assert (aside / "manifest.json").read_text() == "{"
    assert [f.name for f in store.periods()[0].files] == ["receipt.json"]


def test_pending_files_without_a_manifest_are_leftovers_not_a_damaged_period(
    store: BackupStore,
) -> None:
    folder = store.backups_dir / DEVICE / "202301"
    folder.mkdir(parents=True)
    (folder / ".pending-summary-026.json.gz").write_bytes(b"cut short")
    assert store.periods() == []
    assert store.verify().ok
    store.save(DEVICE, 202301, "summary-026.json", b"{}", "summary")
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "summary-026.json.gz"]
