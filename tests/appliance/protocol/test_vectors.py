"""The shared vectors hold on CPython and, byte for byte, under the MicroPython unix port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.appliance.protocol import make_vectors, vector_runner

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
VECTORS = HERE / "vectors.json"
MICROPYTHON = Path(sys.executable).parent / "micropython"


def test_vectors_hold_on_cpython() -> None:
    vectors = json.loads(VECTORS.read_text("utf-8"))
    assert vector_runner.run(vectors) == []
    assert vector_runner.count(vectors) > 40


def test_vectors_hold_under_micropython() -> None:
    result = subprocess.run(
        [str(MICROPYTHON), str(HERE / "vector_runner.py"), str(ROOT), str(VECTORS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = vector_runner.count(json.loads(VECTORS.read_text("utf-8")))
    assert result.stdout.strip().endswith(f"ok {expected}")


def test_runner_reports_a_wrong_vector() -> None:
    vectors = json.loads(VECTORS.read_text("utf-8"))
    vectors["crc"][0]["crc"] ^= 1
    vectors["garbage"][0]["error"] = "BadCheck"
    failures = vector_runner.run(vectors)
    assert len(failures) == 2


def test_vectors_file_is_current() -> None:
    """The file on disk is what the generator makes: a table change must regenerate it."""
    assert json.loads(VECTORS.read_text("utf-8")) == json.loads(json.dumps(make_vectors.build()))


def test_micropython_runs_the_protocol_package_unchanged() -> None:
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from appliance.protocol import compat, bot, cdb, sense, fields, commands, serial_frame\n"
        "print(compat.IS_MICROPYTHON, compat.ticks_diff(compat.ticks_ms(), 0) >= 0)\n"
    )
    result = subprocess.run(
        [str(MICROPYTHON), "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.split() == ["True", "True"], result.stderr
