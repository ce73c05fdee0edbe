"""The backup store on real files: round trips, idempotence, conflicts, verification."""

from __future__ import annotations

import gzip
import json
import os
import threading
from pathlib import Path

import pytest

from appliance.storage.backups import BackupStore
from appliance.storage.errors import (
    BackupConflict,
    BackupCorrupt,
    BackupNotFound,
    BadBackupRequest,
    StorageError,
    describe,
)
from appliance.storage.fsio import TEMP_PREFIX
from appliance.storage.manifest import MANIFEST_NAME
from appliance.storage.records import Problem

DEVICE = "661234567890"
PERIOD = 202405


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "data", min_free_bytes=0)


def stored_path(store: BackupStore, name: str, period: int = PERIOD) -> Path:
    return store.backups_dir / DEVICE / str(period) / f"{name}.gz"


def test_save_and_load_round_trip(store: BackupStore) -> None:
    content = bytes(range(256)) * 40
    record = store.save(DEVICE, PERIOD, "summary-026.bin", content, "raw-device", "raw answer")
    assert record.size == len(content)
    assert record.stored_size == stored_path(store, "summary-026.bin").stat().st_size
    assert record.created_at.tzinfo is not None
    assert record.exported_at is None
    assert store.load(DEVICE, PERIOD, "summary-026.bin") == content
    # Stored compressed, as a gzip any tool can open.
    assert gzip.decompress(stored_path(store, "summary-026.bin").read_bytes()) == content


def test_empty_content_round_trips(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "empty.bin", b"", "raw-device")
    assert store.load(DEVICE, PERIOD, "empty.bin") == b""


def test_periods_list_every_file_in_order(store: BackupStore) -> None:
    store.save(DEVICE, 202406, "identity.json", b"{}", "identity")
    store.save(DEVICE, PERIOD, "identity.json", b"{}", "identity")
    store.save(DEVICE, PERIOD, "summary-026.bin", b"abc", "raw-device")
    store.save("000000000001", PERIOD, "identity.json", b"{}", "identity")
    periods = store.periods()
    assert [(p.device_no, p.period) for p in periods] == [
        ("000000000001", PERIOD),
        (DEVICE, PERIOD),
        (DEVICE, 202406),
    ]
    assert [f.name for f in periods[1].files] == ["identity.json", "summary-026.bin"]
    assert periods[1].size == 5
    assert not periods[1].exported


def test_saving_identical_content_again_is_a_no_op(store: BackupStore) -> None:
    first = store.save(DEVICE, PERIOD, "receipt-026.json", b'{"ok": 1}', "receipt")
    manifest = store.backups_dir / DEVICE / str(PERIOD) / MANIFEST_NAME
    before = (manifest.read_bytes(), manifest.stat().st_mtime_ns)
    again = store.save(DEVICE, PERIOD, "receipt-026.json", b'{"ok": 1}', "receipt")
    assert again == first
    assert (manifest.read_bytes(), manifest.stat().st_mtime_ns) == before


def test_different_content_under_an_existing_name_is_refused(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "receipt-026.json", b'{"ok": 1}', "receipt")
    with pytest.raises(BackupConflict) as caught:
        store.save(DEVICE, PERIOD, "receipt-026.json", b'{"ok": 2}', "receipt")
    assert caught.value.code == "S-004"
    assert store.load(DEVICE, PERIOD, "receipt-026.json") == b'{"ok": 1}'


def test_same_content_under_another_kind_is_refused(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "data.json", b"{}", "receipt")
    with pytest.raises(BackupConflict):
        store.save(DEVICE, PERIOD, "data.json", b"{}", "summary")


def test_saving_again_repairs_a_damaged_copy(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "clearing-data.bin", b"\x01" * 500, "clearing-data")
    stored_path(store, "clearing-data.bin").write_bytes(b"junk")
    assert not store.verify().ok
    store.save(DEVICE, PERIOD, "clearing-data.bin", b"\x01" * 500, "clearing-data")
    assert store.verify().ok
    assert store.load(DEVICE, PERIOD, "clearing-data.bin") == b"\x01" * 500


def test_a_repair_records_the_bytes_it_wrote(store: BackupStore) -> None:
    # As after a zlib upgrade: the same content now packs into other gzip bytes.
    store.save(DEVICE, PERIOD, "a.bin", b"a" * 1000, "raw-device")
    manifest = store.backups_dir / DEVICE / str(PERIOD) / MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["files"][0]["stored_sha256"] = "0" * 64
    manifest.write_text(json.dumps(data))
    repaired = store.save(DEVICE, PERIOD, "a.bin", b"a" * 1000, "raw-device")
    assert repaired.stored_sha256 != "0" * 64
    assert store.verify().ok


@pytest.mark.parametrize(
    ("device_no", "period", "name", "kind"),
    [
        ("../etc", PERIOD, "a.bin", "raw-device"),
        ("", PERIOD, "a.bin", "raw-device"),
        (DEVICE, 202413, "a.bin", "raw-device"),
        (DEVICE, 20240, "a.bin", "raw-device"),
        (DEVICE, 199912, "a.bin", "raw-device"),
        (DEVICE, PERIOD, ".hidden", "raw-device"),
        (DEVICE, PERIOD, "a/b.bin", "raw-device"),
        (DEVICE, PERIOD, "收据.json", "receipt"),
        (DEVICE, PERIOD, "a.bin", "photo"),
    ],
)
def test_bad_requests_are_refused(
    store: BackupStore, device_no: str, period: int, name: str, kind: str
) -> None:
    with pytest.raises(BadBackupRequest):
        store.save(device_no, period, name, b"x", kind)
    assert not (store.backups_dir / DEVICE).exists()


def test_load_of_an_unknown_file(store: BackupStore) -> None:
    with pytest.raises(BackupNotFound):
        store.load(DEVICE, PERIOD, "summary-026.bin")
    store.save(DEVICE, PERIOD, "identity.json", b"{}", "identity")
    with pytest.raises(BackupNotFound):
        store.load(DEVICE, PERIOD, "summary-026.bin")


def test_empty_store(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "nothing")
    assert store.periods() == []
    assert store.verify().ok
    assert store.verify().periods == ()
    # Reading never creates the data folder.
    assert not (tmp_path / "nothing").exists()


def test_verify_passes_on_a_sound_store(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a" * 1000, "raw-device")
    store.save(DEVICE, PERIOD, "b.json", b"{}", "summary")
    report = store.verify()
    assert report.ok
    assert report.verified == 2
    assert report.problem_count == 0


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", [0, 3, 12, -9, -1])
def test_verify_catches_a_flipped_byte(store: BackupStore, offset: int) -> None:
    store.save(DEVICE, PERIOD, "a.bin", os.urandom(3000), "raw-device")
    store.save(DEVICE, PERIOD, "b.bin", b"b", "raw-device")
    flip_byte(stored_path(store, "a.bin"), offset)
    report = store.verify()
    assert not report.ok
    (check,) = report.periods
    assert check.verified == 1
    assert [(p.name, p.problem) for p in check.problems] == [("a.bin", Problem.CORRUPT)]
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")


def test_a_valid_gzip_of_other_content_is_caught(store: BackupStore) -> None:
    # A gzip file rebuilt around altered content has a valid CRC: only the SHA-256 catches it.
    store.save(DEVICE, PERIOD, "a.bin", b"A" * 100, "raw-device")
    stored_path(store, "a.bin").write_bytes(gzip.compress(b"B" * 100, mtime=0))
    (check,) = store.verify().periods
    assert check.problems[0].problem == Problem.CORRUPT
    assert "SHA-256" in check.problems[0].reason


def test_verify_catches_a_missing_file(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    stored_path(store, "a.bin").unlink()
    (check,) = store.verify().periods
    assert [(p.name, p.problem) for p in check.problems] == [("a.bin", Problem.MISSING)]
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")


def test_verify_catches_a_truncated_gzip(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", os.urandom(5000), "raw-device")
    path = stored_path(store, "a.bin")
    path.write_bytes(path.read_bytes()[:-100])
    (check,) = store.verify().periods
    assert check.problems[0].problem == Problem.CORRUPT


def test_a_gzip_cut_short_but_of_the_recorded_size_is_caught(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", os.urandom(5000), "raw-device")
    path = stored_path(store, "a.bin")
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 2] + b"\0" * (size - size // 2))
    (check,) = store.verify().periods
    assert check.problems[0].problem == Problem.CORRUPT


def test_verify_reports_extra_files_and_ignores_leftovers(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    folder = store.backups_dir / DEVICE / str(PERIOD)
    (folder / "stray.gz").write_bytes(b"?")
    (folder / f"{TEMP_PREFIX}0123").write_bytes(b"half a write")
    (check,) = store.verify().periods
    assert [(p.name, p.problem) for p in check.problems] == [("stray.gz", Problem.EXTRA)]
    assert check.leftovers == 1
    # A leftover is never listed as data.
    assert [f.name for f in store.periods()[0].files] == ["a.bin"]


def test_the_next_save_removes_leftovers(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    folder = store.backups_dir / DEVICE / str(PERIOD)
    (folder / f"{TEMP_PREFIX}0123").write_bytes(b"half a write")
    store.save(DEVICE, PERIOD, "b.bin", b"b", "raw-device")
    assert store.verify().periods[0].leftovers == 0


def test_a_damaged_manifest_is_reported_and_never_written_over(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    manifest = store.backups_dir / DEVICE / str(PERIOD) / MANIFEST_NAME
    manifest.write_bytes(b'{"format": "qingka-backup-period", "files": [')
    (period,) = store.periods()
    assert period.manifest_error
    assert period.files == ()
    (check,) = store.verify().periods
    assert check.manifest_error
    assert not check.ok
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")
    # A save moves the damaged period aside whole (never writing over it) and starts anew.
    store.save(DEVICE, PERIOD, "b.bin", b"b", "raw-device")
    (aside,) = [p for p in manifest.parent.parent.iterdir() if p.name.startswith(".damaged-")]
    assert (aside / MANIFEST_NAME).read_bytes().endswith(b"[")
    assert any(aside.glob("a.bin*")), "the data stays with its manifest"
    assert store.load(DEVICE, PERIOD, "b.bin") == b"b"


def test_a_manifest_moved_to_another_period_is_refused(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    other = store.backups_dir / DEVICE / "202406"
    other.mkdir()
    (other / MANIFEST_NAME).write_bytes(
        (store.backups_dir / DEVICE / str(PERIOD) / MANIFEST_NAME).read_bytes()
    )
    assert [p.manifest_error != "" for p in store.periods()] == [False, True]


def test_a_symlink_is_not_followed(store: BackupStore, tmp_path: Path) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    path = stored_path(store, "a.bin")
    outside = tmp_path / "outside.gz"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    (check,) = store.verify().periods
    assert check.problems[0].problem == Problem.CORRUPT


def test_a_fifo_does_not_block_a_reader(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"a", "raw-device")
    path = stored_path(store, "a.bin")
    path.unlink()
    os.mkfifo(path)
    (check,) = store.verify().periods
    assert check.problems[0].problem == Problem.CORRUPT


def test_manifest_is_readable_json_listing_the_files(store: BackupStore) -> None:
    store.save(DEVICE, PERIOD, "a.bin", b"abc", "raw-device", "设备原始应答")
    data = json.loads((store.backups_dir / DEVICE / str(PERIOD) / MANIFEST_NAME).read_text())
    assert data["device_no"] == DEVICE
    assert data["period"] == PERIOD
    (entry,) = data["files"]
    assert entry["name"] == "a.bin"
    assert entry["description"] == "设备原始应答"
    assert entry["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_errors_say_themselves_in_both_languages() -> None:
    error = BackupConflict("x")
    what_zh, action_zh = error.text("zh")
    what_en, action_en = error.text("en")
    assert "覆盖" in what_zh and action_zh
    assert "overwritten" in what_en and action_en
    assert describe(error, "en").endswith("[S-004]")
    assert str(StorageError("detail", "/p")) == "/p: detail [S-000]"


def test_concurrent_first_saves_create_the_folders_once(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "fresh")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def save(number: int) -> None:
        barrier.wait()
        try:
            store.check_writable()
            store.save(f"6619000{number:05d}", 202610, "identity.json", b"{}", "identity")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.periods()) == 8
