"""The health check against a real local API server: answers, data directory, failures."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.api.schema import ArgSchema
from appliance.api.server import ApiServer
from appliance.update import check_health
from appliance.update.errors import HealthCheckFailed
from tests.appliance.api.harness import ServerThread


@pytest.fixture
def short_dir() -> Iterator[Path]:
    # Not tmp_path: its long names overflow the 107 bytes a Unix socket path may have.
    directory = Path(tempfile.mkdtemp(prefix="qk-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _serve(socket: Path, status: dict[str, Any]) -> ServerThread:
    server = ApiServer(socket)
    server.register("status", lambda args: status, ArgSchema())
    return ServerThread(server).start()


def test_healthy_when_the_daemon_answers_and_its_data_is_writable(short_dir: Path) -> None:
    data = short_dir / "data"
    data.mkdir()
    thread = _serve(short_dir / "api.sock", {"data_dir": str(data), "devices": [{}], "uptime_s": 3})
    try:
        report = check_health(short_dir / "api.sock")
    finally:
        thread.stop()
    assert (report.data_dir, report.devices, report.uptime_s) == (data, 1, 3.0)
    assert list(data.iterdir()) == []  # the probe file is gone again


def test_no_daemon_fails_after_waiting(short_dir: Path) -> None:
    with pytest.raises(HealthCheckFailed, match="does not answer") as caught:
        check_health(short_dir / "api.sock", wait_s=0.5)
    assert caught.value.code == "U-301"


def test_a_missing_data_directory_fails(short_dir: Path) -> None:
    thread = _serve(short_dir / "api.sock", {"data_dir": str(short_dir / "not-mounted")})
    try:
        with pytest.raises(HealthCheckFailed, match="cannot write"):
            check_health(short_dir / "api.sock")
    finally:
        thread.stop()


def test_a_status_without_data_directory_fails(short_dir: Path) -> None:
    thread = _serve(short_dir / "api.sock", {"devices": []})
    try:
        with pytest.raises(HealthCheckFailed, match="names no data directory"):
            check_health(short_dir / "api.sock")
    finally:
        thread.stop()
