"""A full and a read-only data partition, on a real small filesystem (see ``smallfs``).

Run as root (CI), each test loop-mounts an ext4 image. Run as another user, each test runs
itself again as root of a user and mount namespace, where it mounts a tmpfs instead: the same
checks against a real ENOSPC and EROFS, without privileges.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from appliance.storage.backups import PENDING_PREFIX, BackupStore
from appliance.storage.errors import ExportNotRecorded, StorageFull, StorageReadOnly
from appliance.storage.fsio import TEMP_PREFIX
from tests.appliance.storage.smallfs import SmallFs, small_filesystem

REPO = Path(__file__).resolve().parents[3]
DEVICE = "661234567890"
MARGIN = 64 * 1024


def rerun_as_namespace_root(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Run this very test again as root of a new user and mount namespace."""
    unshare = ["unshare", "--user", "--map-root-user", "--mount"]
    pytest_args = ["-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'ns'}"]
    result = subprocess.run(
        [*unshare, sys.executable, "-m", "pytest", *pytest_args, request.node.nodeid],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    """Return every file of the store but its lock, by path."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def assert_untouched(store: BackupStore, before: dict[str, bytes]) -> None:
    after = snapshot(store.root)
    assert after == before, "a failed save left something behind or changed something"
    assert not any(TEMP_PREFIX in name for name in after)
    assert store.verify().ok


def baseline(store: BackupStore) -> None:
    store.save(DEVICE, 202405, "identity.json", b'{"device_no": "661234567890"}', "identity")
    store.save(DEVICE, 202405, "summary-026.bin", bytes(range(256)) * 8, "raw-device")


def test_a_full_disk_fails_cleanly_and_recovers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() != 0:
        rerun_as_namespace_root(request, tmp_path)
        return
    with small_filesystem(tmp_path) as fs:
        check_full_disk(fs)


def check_full_disk(fs: SmallFs) -> None:
    store = BackupStore(fs.mount / "qingka", min_free_bytes=MARGIN)
    baseline(store)
    store.check_writable(MARGIN)
    before = snapshot(store.root)
    fs.fill()

    with pytest.raises(StorageFull):
        store.check_writable()
    with pytest.raises(StorageFull):
        store.check_writable(1024)
    content = os.urandom(40 * 1024)  # incompressible: about as large on disk
    with pytest.raises(StorageFull):
        store.save(DEVICE, 202405, "receipt-026.json", content, "receipt")
    assert_untouched(store, before)
    # A new period needs new folders: none is left behind either.
    with pytest.raises(StorageFull):
        store.save(DEVICE, 202406, "identity.json", content, "identity")
    assert_untouched(store, before)
    assert not (store.backups_dir / DEVICE / "202406").exists()

    # Give space back a little at a time: each failed attempt leaves nothing, wherever it
    # failed (the gzip file, or the manifest after it), until the same save succeeds.
    failed_at: list[str] = []
    for _ in range(200):
        fs.release(1024)
        try:
            record = store.save(DEVICE, 202405, "receipt-026.json", content, "receipt")
        except StorageFull as exc:
            failed_at.append(Path(exc.path).name)
            assert_untouched(store, before)
            continue
        break
    else:
        pytest.fail("the save never succeeded as space came back")
    # Both ways a save can fail were met: the gzip file (pending until its manifest lists it)
    # not fitting, and the manifest not fitting after it was written (which the save then
    # removed).
    assert {f"{PENDING_PREFIX}receipt-026.json.gz", "manifest.json"} <= set(failed_at), failed_at
    assert record.size == len(content)
    assert store.load(DEVICE, 202405, "receipt-026.json") == content
    assert store.verify().ok
    assert [f.name for f in store.periods()[0].files] == [
        "identity.json",
        "summary-026.bin",
        "receipt-026.json",
    ]
    # Freeing the filler lifts the check too.
    fs.filler.unlink()
    store.check_writable(1024 * 1024)


def test_a_read_only_disk_fails_cleanly_and_recovers(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() != 0:
        rerun_as_namespace_root(request, tmp_path)
        return
    usb = tmp_path / "usb"
    usb.mkdir()
    with small_filesystem(tmp_path) as fs:
        check_read_only(fs, usb)


def check_read_only(fs: SmallFs, usb: Path) -> None:
    store = BackupStore(fs.mount / "qingka", min_free_bytes=MARGIN)
    baseline(store)
    before = snapshot(store.root)
    fs.read_only()
    try:
        with pytest.raises(StorageReadOnly):
            store.check_writable()
        with pytest.raises(StorageReadOnly):
            store.save(DEVICE, 202405, "receipt-026.json", b"{}", "receipt")
        with pytest.raises(StorageReadOnly):
            store.save(DEVICE, 202406, "identity.json", b"{}", "identity")
        # Reading still works, and an export rescues the data even though the box cannot
        # record it: the backups then stay unexported, so nothing is ever pruned.
        assert store.load(DEVICE, 202405, "summary-026.bin") == bytes(range(256)) * 8
        assert store.verify().ok
        with pytest.raises(ExportNotRecorded) as caught:
            store.export(usb)
        with zipfile.ZipFile(caught.value.archive) as zf:
            assert zf.read(f"{DEVICE}/202405/raw/identity.json").startswith(b"{")
        with pytest.raises(StorageReadOnly):
            store.prune(store.periods()[0].files[0].created_at.date())
    finally:
        fs.read_write()
    assert_untouched(store, before)
    assert not store.periods()[0].exported
    store.save(DEVICE, 202405, "receipt-026.json", b"{}", "receipt")
    assert store.verify().ok


def test_mounts_are_undone_even_when_a_check_fails(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() != 0:
        rerun_as_namespace_root(request, tmp_path)
        return
    with pytest.raises(RuntimeError), small_filesystem(tmp_path) as fs:
        fs.read_only()
        raise RuntimeError("a check failed")
    assert not os.path.ismount(tmp_path / "mnt")
