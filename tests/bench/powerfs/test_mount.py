"""The power-cut file system through the kernel: real files, real SQLite, real processes killed.

A cut with ``keep=0`` loses everything that was not synced; SQLite in WAL mode with
``synchronous=FULL`` keeps every commit it acknowledged, and with ``synchronous=NORMAL`` it does
not (it syncs only at checkpoints): the file system forgets exactly what a power cut forgets.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.storage import fsio
from bench.powerfs.client import PowerFs, power_cut

WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=" + sys.argv[2])
conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
n = conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
while True:
    conn.execute("INSERT INTO t VALUES (?)", (n,))
    n += 1
    print(n, flush=True)
"""


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[PowerFs]:
    with PowerFs(tmp_path / "mnt", backing=tmp_path / "disk", log=tmp_path / "fs.log") as fs:
        yield fs


@pytest.fixture(autouse=True)
def backing(tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir()


def test_synced_files_survive_and_unsynced_ones_are_gone(mounted: PowerFs) -> None:
    root = mounted.mountpoint
    (root / "logs").mkdir()
    fsio.fsync_dir(root)
    fsio.write_atomic(root / "logs" / "kept.json", b"synced")
    (root / "logs" / "lost.json").write_bytes(b"only in the page cache")
    with (root / "logs" / "kept.json").open("ab") as handle:
        handle.write(b" and more, unsynced")
    mounted.cut(seed=1, keep=0.0)
    assert [path.name for path in (root / "logs").iterdir()] == ["kept.json"]
    assert (root / "logs" / "kept.json").read_bytes() == b"synced"


def test_a_rename_of_unsynced_data_can_leave_an_empty_file(mounted: PowerFs) -> None:
    root = mounted.mountpoint
    fsio.write_atomic(root / "state.json", b"old")
    (root / "tmp").write_bytes(b"new, never synced")
    (root / "tmp").replace(root / "state.json")
    fsio.fsync_dir(root)
    mounted.cut(seed=1, keep=0.0)
    assert (root / "state.json").read_bytes() == b""


def writer_run(fs: PowerFs, db: Path, synchronous: str, after: int, seed: int) -> tuple[int, int]:
    """Run a writer until the ``after``-th change trips the cut; return (acknowledged, kept)."""
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), synchronous], stdout=subprocess.PIPE, text=True
    )
    fs.arm(after)
    where = fs.wait_trip(30)
    assert where is not None, "the writer made no changes"
    power_cut(fs, [process], seed=seed, keep=0.0, frozen=True)
    assert process.stdout is not None
    printed = process.stdout.read().split()
    acknowledged = int(printed[-1]) if printed else 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchall()
        # Without syncs even the table may be gone: nothing of it was on the disk.
        kept = int(conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]) if tables else 0
    finally:
        conn.close()
    return acknowledged, kept


def test_sqlite_full_keeps_every_acknowledged_commit(mounted: PowerFs) -> None:
    db = mounted.mountpoint / "journal.db"
    for attempt in range(6):
        acknowledged, kept = writer_run(mounted, db, "FULL", 40 + 17 * attempt, attempt)
        assert kept >= acknowledged, f"cut {attempt}: {acknowledged} acknowledged, {kept} kept"


def test_sqlite_normal_loses_acknowledged_commits(mounted: PowerFs) -> None:
    db = mounted.mountpoint / "journal.db"
    losses = []
    for attempt in range(4):
        acknowledged, kept = writer_run(mounted, db, "NORMAL", 60 + 23 * attempt, attempt)
        losses.append(acknowledged - kept)
    assert max(losses) > 0, losses


def test_a_killed_process_leaves_no_write_behind(mounted: PowerFs) -> None:
    """Writes a process makes while it dies (its last flush) never reach the disk."""
    target = mounted.mountpoint / "busy.bin"
    fsio.write_atomic(target, b"")
    script = (
        "import os, sys\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
        "print('open', flush=True)\n"
        "n = 0\n"
        "while True:\n"
        "    os.pwrite(fd, b'x' * 4096, (n % 64) * 4096)\n"
        "    n += 1\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "open\n"
    while target.stat().st_size < 64 * 4096:
        time.sleep(0.01)
    lost = power_cut(mounted, [process], seed=3, keep=0.0)
    assert process.returncode is not None
    assert target.read_bytes() == b""
    assert lost["pages_lost"] + lost["sizes_lost"] > 0
    target.write_bytes(b"after")  # the volume takes changes again
    assert target.read_bytes() == b"after"


def test_the_backing_directory_is_the_disk_at_mount_and_after_a_clean_unmount(
    tmp_path: Path,
) -> None:
    disk = tmp_path / "disk"
    (disk / "config").mkdir()
    (disk / "config" / "gen-0001").mkdir()
    (disk / "config" / "current").symlink_to("gen-0001")
    with PowerFs(tmp_path / "mnt", backing=disk) as fs:
        root = fs.mountpoint
        assert (root / "config" / "current").readlink() == Path("gen-0001")
        (root / "config" / "gen-0001" / "qingka.toml").write_text("data_dir = '/x'\n")
    assert (disk / "config" / "gen-0001" / "qingka.toml").read_text() == "data_dir = '/x'\n"
