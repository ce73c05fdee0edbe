"""docs/local-api.md lists every business command the daemon registers, in its table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_business_table_lists_every_registered_command() -> None:
    source = (ROOT / "appliance/daemon/service.py").read_text("utf-8")
    registered = set(re.findall(r'self\.server\.register\(\s*"([a-z_]+)"', source))
    doc = (ROOT / "docs/local-api.md").read_text("utf-8")
    section = doc.split("## Business commands", 1)[1].split("\n### ", 1)[0]
    table = set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))
    assert {"status", "clear", "logs", "diagnostics"} <= registered
    assert table == registered
