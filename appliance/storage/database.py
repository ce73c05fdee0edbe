"""The box's SQLite database on the data partition: journal, history, outbox.

Opened in WAL mode with ``synchronous=FULL``: a transaction that returned is on flash, even if
the power goes the next instant. That is what lets the clearing job resume after a power cut
without redoing or losing a step. The schema is versioned with ``PRAGMA user_version`` and
migrated forward at open.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each entry upgrades the schema by one version; never edit one that has shipped.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        device_no TEXT NOT NULL,
        taxpayer_id TEXT NOT NULL,
        period INTEGER NOT NULL,
        step TEXT NOT NULL,
        finished INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        outcome_code TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (device_no, period)
    );
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        step TEXT NOT NULL,
        at TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX journal_job ON journal (job_id);
    CREATE TABLE job_values (
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (job_id, key)
    );
    CREATE TABLE outcomes (
        id INTEGER PRIMARY KEY,
        device_no TEXT NOT NULL,
        period INTEGER,
        job_id INTEGER REFERENCES jobs (id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX outcomes_device ON outcomes (device_no, at);
    CREATE TABLE pin_rejections (
        device_no TEXT PRIMARY KEY,
        pin_digest TEXT NOT NULL,
        tries_left INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE warnings_sent (
        device_no TEXT NOT NULL,
        lock_date TEXT NOT NULL,
        days INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (device_no, lock_date, days)
    );
    """,
    # 2: a clear someone asked for is kept until a job has answered it (it survives restarts),
    # and outcomes carry the device's URL so the last one is known before the device answers.
    """
    CREATE TABLE clear_requests (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        answered_at TEXT,
        outcome_code TEXT
    );
    CREATE INDEX clear_requests_open ON clear_requests (answered_at, url);
    ALTER TABLE outcomes ADD COLUMN url TEXT;
    CREATE INDEX outcomes_url ON outcomes (url, id);
    """,
)


class Database:
    """One connection shared by the daemon's threads, serialised by a lock.

    The box runs a handful of jobs at most; one connection behind a lock is simpler than a pool
    and keeps every write in a single, ordered stream on the flash.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in script.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={number}")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one durable transaction (committed, or rolled back on error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a read-only query."""
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
