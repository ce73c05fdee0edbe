"""Kill -9 at 30 random instants across the steps of real clearings (bench.crash_campaign).

Each kill hits a ``qingka clear`` process or the daemon; after restarts every job must end done
with exactly one upload per type and one clearing at the bureau (also for the small-scale
taxpayer whose bureau loses answers), verified backups, the device locked at next month's
deadline, and no acknowledged request lost. ``python -m bench.crash_campaign --kills 300`` is
the large run.
"""

from __future__ import annotations

import os

from bench.crash_campaign import run_campaign

KILLS = 30


def test_thirty_kills_lose_nothing_and_duplicate_nothing() -> None:
    seed = int(os.environ.get("QINGKA_CRASH_SEED", "20261105"))
    report = run_campaign(KILLS, seed)
    assert report.kills >= KILLS
    assert report.failures == [], f"seed {seed}: {report.failures}"
    assert report.done == report.rounds
    assert report.duplicate_uploads == report.duplicate_clearings == 0
    assert report.lost_or_bad_backups == 0
    assert report.lost_requests == 0
    assert report.daemon_rounds >= 2 and report.small_scale_rounds >= 2
    assert report.small_scale_clearings and set(report.small_scale_clearings) == {1}
    # The kills spread over the job, not only one step of it.
    assert len(report.killed_at) >= 4, report.killed_at
