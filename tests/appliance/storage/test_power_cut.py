"""A power cut at any change a save makes: the store verifies at once and keeps every save.

The writer (``crash_writer``) runs on the power-cut file system (bench.powerfs): at the n-th
change it makes to the disk the power goes, which kills it and loses what was not synced (all of
it, about half, or nearly nothing). Right after each cut, before anything runs again, every
manifest must read, ``verify`` must find nothing wrong (no file outside a manifest either: a
technician may run it then), every save that returned must be there intact, and what is there is
a prefix of the plan.
"""

from __future__ import annotations

import random
from pathlib import Path

from appliance.storage.backups import BackupStore
from bench.powerfs.client import PowerFs, power_cut
from tests.appliance.storage import crash_writer
from tests.appliance.storage.test_crash import start_writer

CUTS = 14
# Changes one save makes, roughly (the writer's saves take up to 256 KiB): a cut strikes within
# the next few saves, so the plan lasts for every cut.
CHANGES_PER_SAVE = 30


def check_after_cut(store: BackupStore, reported: set[int]) -> set[int]:
    """Check the store right after a cut; return the plan indices it holds."""
    report = store.verify()
    assert report.ok, report
    plan = crash_writer.plan()
    by_name = {name: index for index, (_, name, _) in enumerate(plan)}
    committed = {by_name[item.name] for period in store.periods() for item in period.files}
    assert committed == set(range(len(committed))), "saves are made in order"
    assert reported <= committed, "a save that returned was lost"
    for index in committed:
        period, name, content = plan[index]
        assert store.load(crash_writer.DEVICE, period, name) == content
    return committed


def test_power_cuts_at_random_changes_leave_a_store_that_verifies(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    with PowerFs(tmp_path / "mnt", log=tmp_path / "powerfs.log") as fs:
        root = fs.mountpoint / "data"
        store = BackupStore(root, min_free_bytes=0)
        reported: set[int] = set()
        committed: set[int] = set()
        for _ in range(CUTS):
            writer = start_writer(root)
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
            fs.arm(rng.randint(1, 3 * CHANGES_PER_SAVE))
            where = fs.wait_trip(60)
            assert where is not None, f"seed {seed}: no change within a minute"
            power_cut(fs, [writer], rng.randrange(2**30), rng.choice([0.0, 0.5, 0.9]), True)
            rest, _ = writer.communicate()
            reported |= {int(line) for line in rest.split()}
            try:
                committed = check_after_cut(store, reported)
            except AssertionError as exc:
                raise AssertionError(f"seed {seed}, cut at {where}: {exc}") from exc
        assert len(committed) > CUTS, f"seed {seed}: the writer made little progress"
