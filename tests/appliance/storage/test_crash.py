"""A crash at any moment of a save: SIGKILL a writer at random points, then check the store.

After every kill each manifest must read and verify, everything the writer reported saved
must be there intact, temporary files must never count as data, and no file lies outside a
manifest (the one whose save was cut short is still pending). Running the writer again finishes the
job and leaves a store that verifies completely.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from appliance.storage.backups import BackupStore
from appliance.storage.fsio import TEMP_PREFIX
from tests.appliance.storage import crash_writer

REPO = Path(__file__).resolve().parents[3]
KILLS = 8


def start_writer(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.appliance.storage.crash_writer", str(root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def check_after_crash(store: BackupStore, reported: set[int]) -> set[int]:
    """Check the store's invariants; return the plan indices it holds."""
    plan = crash_writer.plan()
    by_name = {name: index for index, (_, name, _) in enumerate(plan)}
    committed = set()
    for period in store.periods():
        assert not period.manifest_error, period.manifest_error
        for item in period.files:
            assert not item.name.startswith(TEMP_PREFIX)
            committed.add(by_name[item.name])
    # Saves happen in order, so what is committed is a prefix of the plan.
    assert committed == set(range(len(committed)))
    assert reported <= committed, "a save that returned was lost"
    for index in committed:
        period, name, content = plan[index]
        assert store.load(crash_writer.DEVICE, period, name) == content
    # Not even the save cut short leaves a file outside a manifest: it stays pending (a
    # leftover no check counts) until its manifest lists it.
    report = store.verify()
    assert report.ok, report
    return committed


def test_sigkill_at_random_moments_leaves_a_sound_store(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    root = tmp_path / "data"
    store = BackupStore(root, min_free_bytes=0)
    reported: set[int] = set()
    committed: set[int] = set()
    for _ in range(KILLS):
        writer = start_writer(root)
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        target = min(len(committed) + rng.randrange(8), crash_writer.COUNT - 2)
        for line in writer.stdout:
            reported.add(int(line))
            if int(line) >= target:
                break
        # Kill a little after the target save returned: inside one of the next saves.
        time.sleep(rng.uniform(0, 0.004))
        writer.kill()
        rest, _ = writer.communicate()
        reported |= {int(line) for line in rest.split()}
        assert writer.returncode == -9, f"seed {seed}"
        committed = check_after_crash(store, reported)
    finished = subprocess.run(
        [sys.executable, "-m", "tests.appliance.storage.crash_writer", str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert finished.stdout.split()[-1] == str(crash_writer.COUNT - 1)
    assert check_after_crash(store, reported) == set(range(crash_writer.COUNT))
    report = store.verify()
    assert report.ok, f"seed {seed}: {report}"
    assert report.verified == crash_writer.COUNT
