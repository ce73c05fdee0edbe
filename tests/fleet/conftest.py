"""Fixtures of the fleet-side tests: the broker of the box tests, and a throwaway PostgreSQL."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.appliance.health.conftest import _box_clock, broker, watch

__all__ = ["_box_clock", "broker", "watch"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server in a temporary folder (as user postgres when the tests run as root)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries missing in {PG_BIN} (Debian package postgresql)")
    # PostgreSQL refuses to run as root; its folder must be reachable by the user it runs as
    # (pytest's own temporary folders are private to root).
    folder = Path(tempfile.mkdtemp(prefix="qingka-pg-"))
    folder.chmod(0o755)
    as_user: list[str] = []
    if os.getuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, log = folder / "data", folder / "server.log"
    subprocess.run(
        [*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "qingka",
         "--no-sync", "-E", "UTF8"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-k {folder} -c listen_addresses='' -p {port} -F"
    subprocess.run(
        [*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
         "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://qingka@/postgres?host={folder}&port={port}"
    finally:
        subprocess.run(
            [*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    import psycopg  # noqa: PLC0415 - only where PostgreSQL runs

    server = request.getfixturevalue("postgres_server")
    name = f"fleet_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.replace("/postgres?", f"/{name}?")
