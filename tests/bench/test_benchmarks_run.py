"""The benchmarks still run and end with their JSON line (tiny sizes: no figures are judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "args",
    [
        ["bench.device_io", "--commands", "6", "--seconds", "0.2"],
        ["bench.clearing", "--devices", "2", "--idle-seconds", "1"],
        ["bench.bureau", "--clients", "1", "--taxpayers", "3", "--calls", "3"],
        ["bench.fleet_box", "--messages", "4"],
        ["bench.fleet", "--boxes", "10", "--seconds", "2", "--processes", "1"],
        ["bench.kiosk_soak", "--changes", "30", "--samples", "3"],
    ],
    ids=lambda args: args[0],
)
def test_benchmark_ends_with_its_figures(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["benchmark"] == args[0].split(".")[1]
    for name, item in last["figures"].items():
        if isinstance(item, dict) and "value" in item:
            assert "unit" in item, name
