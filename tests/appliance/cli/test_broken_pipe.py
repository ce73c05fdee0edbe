"""A reader that stops early (``qingka … | head``) ends the command quietly, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli.output import EXIT_PIPE
from appliance.storage.backups import BackupStore

QINGKA = Path(sys.executable).parent / "qingka"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipe") / "qingka"
    store = BackupStore(path, min_free_bytes=0)
    for period in (202405, 202406):
        for n in range(5):
            store.save("661234567890", period, f"f{n}.json", b"{}", "identity")
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["backup", "list"],
        ["backup", "verify"],
        ["backup", "list", "--json"],
        ["backup", "verify", "--json"],
    ],
)
def test_a_closed_pipe_ends_quietly(data_dir: Path, argv: list[str]) -> None:
    args = [*argv, "--data-dir", str(data_dir)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        result = subprocess.run(
            [str(QINGKA), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == EXIT_PIPE, result.stderr
    assert "Traceback" not in result.stderr
    assert "BrokenPipeError" not in result.stderr
    assert result.stderr == ""
