"""A stick pulled mid-apply, a failing data partition: the old configuration stays whole.

The campaign fails the n-th file operation of a whole apply with EIO, for every n, on a copy of
the same box; each run ends either refused with the box exactly as before, or applied with the
new generation whole and loadable. A real FUSE file system that starts failing mid-read shows
the same through the kernel.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.daemon.config import load_config
from provisioning import fileops
from provisioning.paths import Paths
from tests.provisioning.conftest import Box, MakeStick, snapshot


class FailAt:
    """Fail the n-th file operation (0: never); count them all."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.count = 0
        self.failed: tuple[str, str] | None = None

    def __call__(self, operation: str, path: str) -> None:
        self.count += 1
        if self.count == self.n:
            self.failed = (operation, path)
            raise OSError(errno.EIO, "injected I/O error", path)


def test_an_io_error_at_every_file_step_leaves_old_or_new_whole(
    box: Box, make_stick: MakeStick, tmp_path: Path
) -> None:
    assert box.applier().apply(make_stick(serial=100)).result == "applied"
    calendar = {"deadlines": {"2027": [21, 24, 16, 20, 21, 15, 15, 16, 15, 22, 16, 15]}}
    stick = make_stick(serial=200, calendar=calendar, kiosk_language="en")
    template = tmp_path / "template"
    shutil.copytree(box.root, template, symlinks=True)

    def fresh(number: int) -> Box:
        root = tmp_path / f"run-{number}"
        shutil.copytree(template, root, symlinks=True)
        paths = replace(Paths.under(root), api_socket=tmp_path / "no-daemon.sock")
        return Box(root, paths)

    # Two clean runs: the first also makes the stick's reports folder, which later runs find.
    assert fresh(0).applier().apply(stick).result == "applied"
    counter = FailAt(0)
    fileops.set_fault_hook(counter)
    assert fresh(-2).applier().apply(stick).result == "applied"
    fileops.set_fault_hook(None)
    total = counter.count
    assert total > 40, total  # the campaign must reach reads, writes, syncs and renames
    before = snapshot(fresh(-1).paths)
    results: dict[str, int] = {}
    for n in range(1, total + 1):
        run = fresh(n)
        hook = FailAt(n)
        fileops.set_fault_hook(hook)
        try:
            outcome = run.applier().apply(stick)
        finally:
            fileops.set_fault_hook(None)
        assert hook.failed is not None, n
        results[outcome.result] = results.get(outcome.result, 0) + 1
        if outcome.result == "applied":
            config = load_config(run.paths.config_file)
            assert config.calendar.deadline(2027, 1).day == 21, hook.failed
            assert run.current() == "gen-0002"
        else:
            # P-212: the box's own trust store could not be read (a box fault, nothing changed).
            assert outcome.code in ("P-106", "P-401", "P-212"), (hook.failed, outcome)
            assert snapshot(run.paths) == before, hook.failed
            # Nothing left behind blocks the next try with the same stick.
            assert run.applier().apply(stick).result == "applied", hook.failed
        shutil.rmtree(run.root)
    assert (
        results.get("applied", 0) > 0
        and results.get("failed", 0) + results.get("refused", 0) > total // 2
    ), results


@pytest.mark.skipif(not Path("/dev/fuse").exists(), reason="needs /dev/fuse")
@pytest.mark.parametrize("fraction", [0.0, 0.4, 0.85])
def test_a_stick_that_fails_mid_read_through_fuse(
    box: Box, make_stick: MakeStick, tmp_path: Path, fraction: float
) -> None:
    """The kernel answers EIO mid-copy (a FUSE file system that starts failing)."""
    assert box.applier().apply(make_stick(serial=100)).result == "applied"
    source = make_stick(serial=200)
    total = sum(p.stat().st_size for p in (source / "QINGKA").rglob("*") if p.is_file())
    budget = int(total * fraction)  # the stick is gone after this many bytes
    before = snapshot(box.paths)
    mountpoint = tmp_path / "fuse"
    mountpoint.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.provisioning.failing_fuse", source, mountpoint, str(budget)],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not os.path.ismount(mountpoint):
            assert process.poll() is None and time.monotonic() < deadline, "FUSE did not mount"
            time.sleep(0.05)
        outcome = box.applier().apply(mountpoint)
    finally:
        subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True, timeout=30)
        process.wait(timeout=30)
    assert (outcome.result, outcome.code) == ("refused", "P-106"), outcome
    assert snapshot(box.paths) == before
    status = (box.paths.status_file).read_text()
    assert '"P-106"' in status and '"report": false' in status
