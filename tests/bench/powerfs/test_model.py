"""The power-cut volume without FUSE: what a cut keeps, what it may lose, what it must lose.

``keep=0`` is the worst cut (everything unsynced is lost), ``keep=1`` a kill -9 (everything
written is kept); in between, each unsynced page and each unsynced directory operation is kept
or lost on its own.
"""

from __future__ import annotations

import errno
import random
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.powerfs import backing as disk
from bench.powerfs.model import PAGE_SIZE, Kind, Volume

WORST = 0.0
KILL = 1.0


def cut(volume: Volume, keep: float, seed: int = 1) -> None:
    volume.cut(random.Random(seed), keep)


def write_file(volume: Volume, path: str, data: bytes, sync: bool = True) -> int:
    fh = volume.create(path, 0o644)
    volume.write(fh, data, 0)
    if sync:
        volume.fsync(fh)
    return fh


def sync_dir(volume: Volume, path: str) -> None:
    fh = volume.open(path)
    volume.fsync(fh)
    volume.release(fh)


def content(volume: Volume, path: str) -> bytes:
    fh = volume.open(path)
    try:
        return volume.read(fh, 1 << 30, 0)
    finally:
        volume.release(fh)


def names(volume: Volume, path: str = "/") -> list[str]:
    return [name for name, _, _ in volume.readdir(path)]


def test_synced_data_and_names_survive_the_worst_cut() -> None:
    volume = Volume()
    volume.mkdir("/d", 0o755)
    sync_dir(volume, "/")
    write_file(volume, "/d/a", b"kept" * 3000)
    sync_dir(volume, "/d")
    cut(volume, WORST)
    assert content(volume, "/d/a") == b"kept" * 3000


def test_unsynced_data_vanishes_in_the_worst_cut_and_stays_after_a_kill() -> None:
    for keep, expected in ((WORST, b"old"), (KILL, b"new")):
        volume = Volume()
        fh = write_file(volume, "/a", b"old")
        sync_dir(volume, "/")
        volume.write(fh, b"new", 0)
        cut(volume, keep)
        assert content(volume, "/a") == expected


def test_a_file_synced_but_not_its_directory_may_vanish() -> None:
    volume = Volume()
    write_file(volume, "/a", b"data")  # fsync of the file, none of the folder
    cut(volume, WORST)
    assert names(volume) == []


def test_a_rename_without_a_directory_sync_may_be_lost() -> None:
    volume = Volume()
    write_file(volume, "/target", b"old")
    sync_dir(volume, "/")
    write_file(volume, "/tmp", b"new")
    volume.rename("/tmp", "/target")
    cut(volume, WORST)
    assert names(volume) == ["target"]
    assert content(volume, "/target") == b"old"


def test_the_atomic_write_pattern_gives_old_or_new_never_a_mix() -> None:
    seen = set()
    for seed in range(40):
        volume = Volume()
        write_file(volume, "/target", b"old" * 2000)
        sync_dir(volume, "/")
        write_file(volume, "/tmp", b"new" * 2000)
        volume.rename("/tmp", "/target")
        if seed % 2:
            sync_dir(volume, "/")
        cut(volume, 0.5, seed)
        data = content(volume, "/target")
        assert data in (b"old" * 2000, b"new" * 2000)
        seen.add(data[:3])
        if seed % 2:
            assert data == b"new" * 2000
    assert seen == {b"old", b"new"}


def test_a_rename_without_fsync_of_the_data_can_leave_an_empty_file() -> None:
    volume = Volume()
    write_file(volume, "/tmp", b"never synced", sync=False)
    volume.rename("/tmp", "/target")
    sync_dir(volume, "/")
    cut(volume, WORST)
    assert content(volume, "/target") == b""


def test_a_move_between_folders_synced_on_one_side_only_leaves_two_names() -> None:
    volume = Volume()
    volume.mkdir("/a", 0o755)
    volume.mkdir("/b", 0o755)
    sync_dir(volume, "/")
    write_file(volume, "/a/f", b"x")
    sync_dir(volume, "/a")
    volume.rename("/a/f", "/b/f")
    sync_dir(volume, "/b")
    cut(volume, WORST)
    assert names(volume, "/a") == ["f"] and names(volume, "/b") == ["f"]


def test_an_unlink_without_a_directory_sync_comes_back() -> None:
    volume = Volume()
    write_file(volume, "/a", b"x")
    sync_dir(volume, "/")
    volume.unlink("/a")
    cut(volume, WORST)
    assert content(volume, "/a") == b"x"


def test_a_new_folder_not_synced_into_its_parent_loses_everything_in_it() -> None:
    volume = Volume()
    volume.mkdir("/keys", 0o700)
    write_file(volume, "/keys/box.key", b"secret")
    sync_dir(volume, "/keys")
    cut(volume, WORST)
    assert names(volume) == []


def test_a_symlink_switch_is_old_or_new() -> None:
    for synced in (False, True):
        volume = Volume()
        volume.symlink("/current", "gen-1")
        sync_dir(volume, "/")
        volume.symlink("/tmp-current", "gen-2")
        volume.rename("/tmp-current", "/current")
        if synced:
            sync_dir(volume, "/")
        cut(volume, WORST)
        assert volume.readlink("/current") == ("gen-2" if synced else "gen-1")


def test_pages_are_kept_or_lost_one_by_one_and_the_size_is_old_or_new() -> None:
    volume = Volume()
    old = bytes([1]) * (4 * PAGE_SIZE)
    fh = write_file(volume, "/f", old)
    sync_dir(volume, "/")
    volume.write(fh, bytes([2]) * (6 * PAGE_SIZE), 0)  # overwrite 4 pages, add 2
    mixes = set()
    for seed in range(30):
        trial = Volume()
        fh = write_file(trial, "/f", old)
        sync_dir(trial, "/")
        trial.write(fh, bytes([2]) * (6 * PAGE_SIZE), 0)
        cut(trial, 0.5, seed)
        data = content(trial, "/f")
        assert len(data) in (4 * PAGE_SIZE, 6 * PAGE_SIZE)
        pages = [data[i : i + PAGE_SIZE] for i in range(0, len(data), PAGE_SIZE)]
        for number, page in enumerate(pages):
            allowed = {bytes([2]) * PAGE_SIZE}
            allowed.add(bytes([1]) * PAGE_SIZE if number < 4 else bytes(PAGE_SIZE))
            assert page in allowed, (seed, number)
        mixes.add(tuple(page[0] for page in pages))
    assert len(mixes) > 5  # really page by page, not all or nothing


@settings(max_examples=60, deadline=None)
@given(
    writes=st.lists(
        st.tuples(st.integers(0, 5 * PAGE_SIZE), st.integers(1, 2 * PAGE_SIZE), st.booleans()),
        min_size=1,
        max_size=8,
    ),
    seed=st.integers(0, 1000),
    keep=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_every_synced_byte_survives_and_every_byte_is_some_written_version(
    writes: list[tuple[int, int, bool]], seed: int, keep: float
) -> None:
    volume = Volume()
    fh = write_file(volume, "/f", b"")
    sync_dir(volume, "/")
    synced = b""
    volatile = bytearray()
    for number, (offset, length, sync) in enumerate(writes):
        data = bytes([number + 1]) * length
        volume.write(fh, data, offset)
        if offset > len(volatile):
            volatile.extend(bytes(offset - len(volatile)))
        volatile[offset : offset + length] = data
        if sync:
            volume.fsync(fh)
            synced = bytes(volatile)
    cut(volume, keep, seed)
    after = content(volume, "/f")
    if keep == 1.0:
        assert after == bytes(volatile)
    assert len(after) in (len(synced), len(volatile))
    for start in range(0, len(after), PAGE_SIZE):
        page = after[start : start + PAGE_SIZE]
        versions = {
            bytes(volatile[start : start + PAGE_SIZE]).ljust(len(page), b"\0")[: len(page)],
            synced[start : start + PAGE_SIZE].ljust(len(page), b"\0")[: len(page)],
        }
        assert page in versions, start


def test_handles_from_before_a_cut_are_dead() -> None:
    volume = Volume()
    fh = write_file(volume, "/a", b"x")
    sync_dir(volume, "/")
    cut(volume, KILL)
    with pytest.raises(OSError) as caught:
        volume.read(fh, 10, 0)
    assert caught.value.errno == errno.EIO
    assert content(volume, "/a") == b"x"


def test_a_change_made_while_frozen_waits_and_fails_at_the_cut() -> None:
    volume = Volume()
    fh = write_file(volume, "/a", b"x")
    sync_dir(volume, "/")
    volume.freeze()
    errors: list[int] = []

    def late_write() -> None:
        try:
            volume.write(fh, b"late", 0)
        except OSError as exc:
            errors.append(exc.errno or 0)

    writer = threading.Thread(target=late_write)
    writer.start()
    writer.join(0.2)
    assert writer.is_alive(), "a change while frozen must wait"
    cut(volume, KILL)
    writer.join(5)
    assert errors == [errno.EIO]
    assert content(volume, "/a") == b"x"


def test_an_armed_volume_freezes_at_the_nth_change() -> None:
    volume = Volume()
    trips: list[dict[str, str]] = []
    volume.on_trip = trips.append
    fh = write_file(volume, "/a", b"")
    volume.arm(3)
    volume.write(fh, b"1", 0)
    volume.write(fh, b"2", 1)
    assert not volume.frozen
    failed: list[int] = []

    def third() -> None:
        try:
            volume.write(fh, b"3", 2)
        except OSError as exc:
            failed.append(exc.errno or 0)

    writer = threading.Thread(target=third)
    writer.start()
    writer.join(0.2)
    assert volume.frozen and trips == [{"op": "write", "path": "/a"}]
    cut(volume, KILL)
    writer.join(5)
    assert failed == [errno.EIO]
    assert content(volume, "/a") == b"12"


def test_thawing_lets_held_changes_go_on() -> None:
    volume = Volume()
    fh = write_file(volume, "/a", b"")
    volume.freeze()
    writer = threading.Thread(target=lambda: volume.write(fh, b"go", 0))
    writer.start()
    writer.join(0.1)
    volume.thaw()
    writer.join(5)
    assert content(volume, "/a") == b"go"


def test_posix_errors_for_bad_operations() -> None:
    volume = Volume()
    volume.mkdir("/d", 0o755)
    write_file(volume, "/d/f", b"x")
    cases = [
        (lambda: volume.mkdir("/d", 0o755), errno.EEXIST),
        (lambda: volume.rmdir("/d"), errno.ENOTEMPTY),
        (lambda: volume.unlink("/d"), errno.EISDIR),
        (lambda: volume.rmdir("/d/f"), errno.ENOTDIR),
        (lambda: volume.lookup("/d/f/g"), errno.ENOTDIR),
        (lambda: volume.lookup("/nothing"), errno.ENOENT),
        (lambda: volume.rename("/d", "/d/inside"), errno.EINVAL),
        (lambda: volume.rename("/d/f", "/d2/f"), errno.ENOENT),
        (lambda: volume.readlink("/d/f"), errno.EINVAL),
        (lambda: volume.lookup("/" + "x" * 256), errno.ENAMETOOLONG),
    ]
    for action, code in cases:
        with pytest.raises(OSError) as caught:
            action()
        assert caught.value.errno == code


def test_a_backing_directory_is_loaded_as_durable_and_saved_back(tmp_path: Path) -> None:
    backing = tmp_path / "disk"
    (backing / "d").mkdir(parents=True)
    (backing / "d" / "f").write_bytes(b"on disk")
    (backing / "link").symlink_to("d/f")
    volume = Volume()
    disk.load(volume, backing)
    cut(volume, WORST)
    assert content(volume, "/d/f") == b"on disk"
    assert volume.readlink("/link") == "d/f"
    write_file(volume, "/new", b"unsynced", sync=False)
    volume.sync()
    disk.save(volume, backing)
    assert (backing / "new").read_bytes() == b"unsynced"
    assert (backing / "link").readlink() == Path("d/f")
    kinds = {path: node.kind for path, node in disk.walk(volume, durable=True)}
    assert kinds == {"/d": Kind.DIR, "/d/f": Kind.FILE, "/link": Kind.LINK, "/new": Kind.FILE}
