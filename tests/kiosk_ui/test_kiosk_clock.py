"""The kiosk reads time only from the product clock: what it shows is China time, any day."""

from __future__ import annotations

from pathlib import Path

from tests.test_one_clock import ROOT, _offenders


def test_no_kiosk_module_reads_the_wall_clock_itself() -> None:
    offenders = [
        line for path in sorted((ROOT / "kiosk_ui").rglob("*.py")) for line in _offenders(path)
    ]
    assert offenders == []


def test_the_check_covers_the_kiosk(tmp_path: Path) -> None:
    sample = tmp_path / "views.py"
    sample.write_text("from datetime import datetime\nnow = datetime.now()\n")
    assert _offenders(sample, tmp_path) == ["views.py:2 datetime.now"]
