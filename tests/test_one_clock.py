"""Time has one source: no module of the product reads the wall clock but appliance/clock.py.

A direct ``date.today()``, ``datetime.now()`` or ``time.time()`` is how a test ends up depending
on the real today; this walks every module's syntax tree and names the offenders.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("appliance", "kiosk_ui", "provisioning", "fleet")
ALLOWED = {ROOT / "appliance" / "clock.py"}
# (object, attribute) calls that read the wall clock.
FORBIDDEN = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "today"),
    ("datetime", "utcnow"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
}


def _offenders(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno} {node.value.id}.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if ("time", alias.name) in FORBIDDEN:
                    found.append(f"{path.relative_to(root)}:{node.lineno} from time import time")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_reads_the_wall_clock_itself(package: str) -> None:
    offenders = [
        line
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in ALLOWED
        for line in _offenders(path)
    ]
    assert offenders == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import time\nfrom datetime import date\nx = date.today()\ny = time.time()\n")
    found = _offenders(sample, tmp_path)
    assert [line.split()[1] for line in found] == ["date.today", "time.time"]
