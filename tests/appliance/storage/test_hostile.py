"""A corrupted or hostile disk: every manifest and gzip gives a typed error, never a crash."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.storage import compress, manifest
from appliance.storage.backups import BackupStore
from appliance.storage.errors import BackupCorrupt
from appliance.storage.records import MAX_CONTENT_BYTES

DEVICE = "661234567890"
PERIOD = 202405

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
entry_fields = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["a.bin", "", ".x", "../a", "a" * 200]) | json_values,
        "kind": st.sampled_from(["raw-device", "BAD", ""]) | json_values,
        "description": st.text(max_size=600) | json_values,
        "size": st.integers(-10, 2**70) | json_values,
        "sha256": st.sampled_from(["0" * 64, "G" * 64, "0" * 63]) | json_values,
        "stored_size": st.integers(-10, 2**70) | json_values,
        "stored_sha256": st.sampled_from(["f" * 64, ""]) | json_values,
        "created_at": st.sampled_from(
            ["2024-06-01T10:00:00+08:00", "2024-06-01T10:00:00", "yesterday", "9" * 100]
        )
        | json_values,
        "exported_at": st.none() | st.sampled_from(["2024-06-01T10:00:00+08:00", "x"]),
    },
)
manifests = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from([manifest.MANIFEST_FORMAT, "other"]),
        "version": st.sampled_from([1, 2, True, "1"]),
        "device_no": st.sampled_from([DEVICE, "other"]),
        "period": st.sampled_from([PERIOD, 202406, "202405"]),
        "files": st.lists(entry_fields | json_values, max_size=4) | json_values,
    },
)


def decode_or_corrupt(raw: bytes) -> None:
    try:
        files = manifest.decode(raw, DEVICE, PERIOD)
    except BackupCorrupt:
        return
    for item in files:
        assert 0 <= item.size <= MAX_CONTENT_BYTES
        assert item.created_at.tzinfo is not None


@given(st.binary(max_size=2000))
def test_random_bytes_as_a_manifest(raw: bytes) -> None:
    decode_or_corrupt(raw)


@given(manifests)
def test_hostile_manifests(data: dict[str, Any]) -> None:
    decode_or_corrupt(json.dumps(data).encode())


def valid_entry(**changes: Any) -> bytes:
    entry = {
        "name": "a.bin",
        "kind": "raw-device",
        "description": "",
        "size": 1,
        "sha256": "0" * 64,
        "stored_size": 21,
        "stored_sha256": "0" * 64,
        "created_at": "2024-06-01T10:00:00+08:00",
        "exported_at": None,
    }
    entry.update(changes)
    return json.dumps(
        {
            "format": manifest.MANIFEST_FORMAT,
            "version": 1,
            "device_no": DEVICE,
            "period": PERIOD,
            "files": [entry],
        }
    ).encode()


def test_the_valid_entry_decodes() -> None:
    (item,) = manifest.decode(valid_entry(), DEVICE, PERIOD)
    assert item.name == "a.bin"


@pytest.mark.parametrize(
    "changes",
    [
        {"size": 10**30},
        {"size": MAX_CONTENT_BYTES + 1},
        {"stored_size": 10**12},
        {"size": -1},
        {"size": 1.0},
        {"size": True},
        {"created_at": "2024-06-01T10:00:00"},
        {"name": "../../etc/passwd"},
        {"sha256": "A" * 64},
    ],
)
def test_huge_or_wrong_fields_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(BackupCorrupt):
        manifest.decode(valid_entry(**changes), DEVICE, PERIOD)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 200_000,
        b'{"a":' * 100_000,
        b"1" * 5000,
        b"\xff\xfe",
        b"null",
        b"x" * (manifest.MAX_MANIFEST_BYTES + 1),
    ],
)
def test_pathological_json(raw: bytes) -> None:
    with pytest.raises(BackupCorrupt):
        manifest.decode(raw, DEVICE, PERIOD)


@given(st.binary(max_size=3000), st.integers(0, 10_000))
def test_random_bytes_as_a_gzip(data: bytes, size: int) -> None:
    try:
        content = compress.decompress(data, size)
    except BackupCorrupt:
        return
    assert len(content) == size


@given(st.binary(max_size=2000), st.data())
def test_damaged_gzip_is_refused_or_intact(content: bytes, data: st.DataObject) -> None:
    stored = bytearray(compress.compress(content))
    offset = data.draw(st.integers(0, len(stored) - 1))
    stored[offset] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(stored)))
    try:
        result = compress.decompress(bytes(stored[:cut]), len(content))
    except BackupCorrupt:
        return
    # A flip in the gzip header's flags, time or OS byte leaves the content whole.
    assert result == content


def test_a_gzip_bomb_costs_no_more_than_its_recorded_size() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(BackupCorrupt):
            compress.decompress(bomb, 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_a_zlib_stream_is_not_a_stored_file() -> None:
    with pytest.raises(BackupCorrupt):
        compress.decompress(zlib.compress(b"abc"), 3)


def test_two_gzip_members_are_refused() -> None:
    with pytest.raises(BackupCorrupt):
        compress.decompress(compress.compress(b"abc") + compress.compress(b"d"), 3)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest_bytes=st.binary(max_size=500), stored=st.binary(max_size=500))
def test_a_store_on_a_hostile_disk_answers_with_types(
    tmp_path: Path, manifest_bytes: bytes, stored: bytes
) -> None:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    folder = store.backups_dir / DEVICE / str(PERIOD)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / manifest.MANIFEST_NAME).write_bytes(manifest_bytes)
    (folder / "a.bin.gz").write_bytes(stored)
    (period,) = store.periods()
    assert period.manifest_error
    report = store.verify()
    assert not report.ok
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.binary(max_size=500))
def test_a_stored_file_of_random_bytes(tmp_path: Path, stored: bytes) -> None:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    store.save(DEVICE, PERIOD, "a.bin", b"evidence" * 10, "raw-device")
    (store.backups_dir / DEVICE / str(PERIOD) / "a.bin.gz").write_bytes(stored)
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")
    assert not store.verify().ok


def test_huge_files_on_disk_are_refused_unread(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "data", min_free_bytes=0)
    store.save(DEVICE, PERIOD, "a.bin", b"evidence", "raw-device")
    folder = store.backups_dir / DEVICE / str(PERIOD)
    # Sparse files: 10 GiB each, no disk used; reading them would take minutes and all memory.
    with (folder / "a.bin.gz").open("r+b") as handle:
        handle.truncate(10 * 1024**3)
    with pytest.raises(BackupCorrupt):
        store.load(DEVICE, PERIOD, "a.bin")
    with (folder / manifest.MANIFEST_NAME).open("r+b") as handle:
        handle.truncate(10 * 1024**3)
    (period,) = store.periods()
    assert "more than" in period.manifest_error
