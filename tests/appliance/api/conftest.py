"""Fixtures: a short socket directory and a running server with the test commands."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.api.server import ApiServer
from tests.appliance.api.harness import RawClient, ServerThread, register_test_commands


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Not tmp_path: its long names overflow the 107 bytes a Unix socket path may have.
    directory = Path(tempfile.mkdtemp(prefix="qk-", dir="/tmp"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def start_server(socket_dir: Path) -> Iterator[Callable[..., ServerThread]]:
    running: list[ServerThread] = []

    def start(**options: Any) -> ServerThread:
        server = ApiServer(socket_dir / "api.sock", **options)
        register_test_commands(server)
        thread = ServerThread(server).start()
        running.append(thread)
        return thread

    yield start
    for thread in running:
        if not thread.loop.is_closed():
            thread.stop()


@pytest.fixture
def served(start_server: Callable[..., ServerThread]) -> ServerThread:
    return start_server()


@pytest.fixture(autouse=True)
def close_raw_clients() -> Iterator[None]:
    yield
    while RawClient.opened:
        RawClient.opened.pop().close()
