"""A data partition that fills up in the middle of a clearing: nothing half-written, and the job
resumes once space returns. On a real small filesystem (tests/appliance/storage/smallfs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from appliance.clearing.outcomes import OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.storage.backups import BackupStore
from appliance.storage.fsio import TEMP_PREFIX
from tests.appliance.storage.smallfs import small_filesystem
from tests.appliance.storage.test_full_disk import rerun_as_namespace_root


def test_disk_fills_during_backup(rig: Any, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if os.geteuid() != 0:
        rerun_as_namespace_root(request, tmp_path)
        return
    r = rig()
    with small_filesystem(tmp_path) as fs:
        r.backups = BackupStore(fs.mount / "qingka", min_free_bytes=0)
        check = r.backups.check_writable

        def check_then_lose_the_space(needed_bytes: int = 0) -> None:
            # Another writer takes the space between the check and the backup's writes.
            check(needed_bytes)
            fs.fill()

        r.backups.check_writable = check_then_lose_the_space  # type: ignore[method-assign]
        outcome = r.run()
        assert outcome.kind is OutcomeKind.NEEDS_HUMAN
        assert outcome.code == "S-001"
        assert "空间" in outcome.message_zh
        assert r.journal.unfinished(r.taxpayer.device_no).step is JobStep.BACKUP
        assert r.bureau_state()["uploads"] == []
        files = [p.name for p in (fs.mount / "qingka").rglob("*")]
        assert not any(TEMP_PREFIX in name for name in files)
        assert r.backups.verify().ok

        r.backups.check_writable = check  # type: ignore[method-assign]
        fs.release(2 * 1024 * 1024)
        done = r.run()
        assert done.kind is OutcomeKind.DONE
        assert r.backups.verify().ok
        assert r.bureau_state()["clearings"] == 1


def test_read_only_partition_before_the_job(
    rig: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if os.geteuid() != 0:
        rerun_as_namespace_root(request, tmp_path)
        return
    r = rig()
    with small_filesystem(tmp_path) as fs:
        r.backups = BackupStore(fs.mount / "qingka", min_free_bytes=0)
        fs.read_only()
        outcome = r.run()
        assert outcome.kind is OutcomeKind.NEEDS_HUMAN
        assert outcome.code == "S-002"
        assert r.bureau_state()["uploads"] == []
        assert r.backend.device.counters.get("copy_tax", 0) == 0
        assert r.journal.unfinished(r.taxpayer.device_no) is None
        fs.read_write()
        assert r.run().kind is OutcomeKind.DONE
