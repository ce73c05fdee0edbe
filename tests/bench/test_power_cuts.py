"""Power cuts at 30 random instants across provisioning and clearings (``bench.power_cuts``).

The box's data partition is the power-cut file system; the real daemon, provisioning's apply,
the bureau simulator and simulated devices run as processes. Every period must end cleared
with one upload per type and one clearing at the bureau, its lock date moved, its backups
verifying (right after every cut too), and every acknowledged request answered.
``python -m bench.power_cuts --cuts 300`` is the large run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CUTS = 30


@pytest.mark.timeout(900)
def test_thirty_power_cuts_lose_nothing_acknowledged() -> None:
    seed = os.environ.get("QINGKA_POWER_SEED", "20261105")
    command = ["--cuts", str(CUTS), "--seed", seed, "--latency", "0.03"]
    result = subprocess.run(
        [sys.executable, "-m", "bench.power_cuts", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    said = "\n".join(lines[:-1]) + result.stderr[-2000:]
    assert result.returncode == 0, said
    figures = json.loads(lines[-1])["figures"]
    assert figures["cuts"]["value"] >= CUTS
    assert figures["done"]["value"] == 1.0
    for name in (
        "lost_requests",
        "duplicate_uploads",
        "duplicate_clearings",
        "unverifiable_backups",
        "unverifiable_after_cut",
        "broken_config",
        "outcomes_without_fleet_event",
        "outcomes_queued_twice",
    ):
        assert figures[name]["value"] == 0, f"{name}: {said}"
    assert figures["locks_moved"]["value"] == 1.0
    # The cuts spread over the disk and over the activities, not one place of them.
    assert len(figures["cut_where"]) >= 4, figures["cut_where"]
    assert len(figures["cut_during"]) >= 3, figures["cut_during"]
