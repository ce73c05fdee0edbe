"""The simulated bureau's memory, in SQLite: certificate status, declarations, accepted
summaries, issued clearing data, sessions, and the answers given per business id.

One connection guarded by one lock: the simulator serves many threads, and the lock also makes
each check-then-write of the business rules (:meth:`Store.accept_upload`...) atomic.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

CERT_STATUSES = ("valid", "lost", "revoked", "unknown")
DECLARATION_STATUSES = ("filed", "missing", "mismatched")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS certificates (
    taxpayer_id TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS declarations (
    taxpayer_id TEXT NOT NULL, period INTEGER NOT NULL, status TEXT NOT NULL,
    PRIMARY KEY (taxpayer_id, period));
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY, taxpayer_id TEXT NOT NULL, device_no TEXT NOT NULL,
    period INTEGER NOT NULL, type TEXT NOT NULL, digest TEXT NOT NULL, raw BLOB NOT NULL,
    accepted_at TEXT NOT NULL, UNIQUE (taxpayer_id, device_no, period, type));
CREATE TABLE IF NOT EXISTS clearings (
    id INTEGER PRIMARY KEY, taxpayer_id TEXT NOT NULL, device_no TEXT NOT NULL,
    period INTEGER NOT NULL, types TEXT NOT NULL, data BLOB NOT NULL, issued_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS clearings_by_period ON clearings (taxpayer_id, device_no, period);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, taxpayer_id TEXT NOT NULL, device_no TEXT NOT NULL,
    authority TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    business_id TEXT PRIMARY KEY, content TEXT NOT NULL, body BLOB NOT NULL);
"""


@dataclass(frozen=True)
class Upload:
    """An accepted summary and the receipt it was given."""

    receipt_no: str
    taxpayer_id: str
    device_no: str
    period: int
    type_code: str
    digest: str
    accepted_at: datetime


@dataclass(frozen=True)
class SessionRow:
    """An open session."""

    session_id: str
    taxpayer_id: str
    device_no: str
    authority: str
    expires: float  # UNIX time


class Store:
    """The bureau's state in ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # A simulator: WAL with NORMAL sync keeps state across restarts without paying an
        # fsync per upload, which the fleet-scale benchmark would otherwise measure instead.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self.lock:
            self._db.close()

    def _one(self, sql: str, *args: Any) -> tuple[Any, ...] | None:
        with self.lock:
            row: tuple[Any, ...] | None = self._db.execute(sql, args).fetchone()
            return row

    def _all(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self._db.execute(sql, args).fetchall())

    def _write(self, sql: str, *args: Any) -> int:
        with self.lock:
            cursor = self._db.execute(sql, args)
            return cursor.lastrowid or 0

    # certificates and declarations

    def cert_status(self, taxpayer_id: str) -> str:
        """Return the status of the taxpayer's device certificate (default: valid)."""
        row = self._one("SELECT status FROM certificates WHERE taxpayer_id = ?", taxpayer_id)
        return str(row[0]) if row else "valid"

    def set_cert_status(self, taxpayer_id: str, status: str) -> None:
        """Set the certificate status: one of :data:`CERT_STATUSES`."""
        if status not in CERT_STATUSES:
            raise ValueError(f"certificate status {status!r} is not one of {CERT_STATUSES}")
        self._write(
            "INSERT OR REPLACE INTO certificates (taxpayer_id, status) VALUES (?, ?)",
            taxpayer_id,
            status,
        )

    def declaration(self, taxpayer_id: str, period: int) -> str | None:
        """Return the declaration status set for the period, or ``None`` if never set."""
        row = self._one(
            "SELECT status FROM declarations WHERE taxpayer_id = ? AND period = ?",
            taxpayer_id,
            period,
        )
        return str(row[0]) if row else None

    def set_declaration(self, taxpayer_id: str, period: int, status: str) -> None:
        """Set the declaration of a period: one of :data:`DECLARATION_STATUSES`."""
        if status not in DECLARATION_STATUSES:
            raise ValueError(f"declaration {status!r} is not one of {DECLARATION_STATUSES}")
        self._write(
            "INSERT OR REPLACE INTO declarations (taxpayer_id, period, status) VALUES (?, ?, ?)",
            taxpayer_id,
            period,
            status,
        )

    # uploads

    def accept_upload(
        self,
        taxpayer_id: str,
        device_no: str,
        period: int,
        type_code: str,
        digest: str,
        raw: bytes,
        now: datetime,
    ) -> tuple[Upload, bool]:
        """Record a summary unless one is there; return the upload on file and whether it is new.

        The caller compares digests: an upload on file with another digest is a conflict.
        """
        with self.lock:
            found = self.upload(taxpayer_id, device_no, period, type_code)
            if found is not None:
                return found, False
            self._write(
                "INSERT INTO uploads (taxpayer_id, device_no, period, type, digest, raw,"
                " accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                taxpayer_id,
                device_no,
                period,
                type_code,
                digest,
                raw,
                now.isoformat(timespec="seconds"),
            )
            made = self.upload(taxpayer_id, device_no, period, type_code)
            assert made is not None
            return made, True

    def upload(
        self, taxpayer_id: str, device_no: str, period: int, type_code: str
    ) -> Upload | None:
        """Return the accepted summary of one type and period, if any."""
        row = self._one(
            "SELECT id, digest, accepted_at FROM uploads WHERE taxpayer_id = ? AND device_no = ?"
            " AND period = ? AND type = ?",
            taxpayer_id,
            device_no,
            period,
            type_code,
        )
        if row is None:
            return None
        accepted_at = datetime.fromisoformat(row[2])
        return Upload(
            receipt_no=f"SB{accepted_at:%Y%m%d}{row[0]:010d}",
            taxpayer_id=taxpayer_id,
            device_no=device_no,
            period=period,
            type_code=type_code,
            digest=row[1],
            accepted_at=accepted_at,
        )

    def uploaded_types(self, taxpayer_id: str, device_no: str, period: int) -> list[str]:
        """Return the types whose summary of ``period`` is on file."""
        rows = self._all(
            "SELECT type FROM uploads WHERE taxpayer_id = ? AND device_no = ? AND period = ?"
            " ORDER BY type",
            taxpayer_id,
            device_no,
            period,
        )
        return [str(row[0]) for row in rows]

    # clearings

    def clearing(
        self, taxpayer_id: str, device_no: str, period: int, types: list[str]
    ) -> bytes | None:
        """Return the first clearing data issued for exactly these types and period, if any."""
        row = self._one(
            "SELECT data FROM clearings WHERE taxpayer_id = ? AND device_no = ? AND period = ?"
            " AND types = ? ORDER BY id LIMIT 1",
            taxpayer_id,
            device_no,
            period,
            ",".join(sorted(types)),
        )
        return bytes(row[0]) if row else None

    def add_clearing(
        self,
        taxpayer_id: str,
        device_no: str,
        period: int,
        types: list[str],
        data: bytes,
        now: datetime,
    ) -> None:
        """Record issued clearing data."""
        self._write(
            "INSERT INTO clearings (taxpayer_id, device_no, period, types, data, issued_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            taxpayer_id,
            device_no,
            period,
            ",".join(sorted(types)),
            data,
            now.isoformat(timespec="seconds"),
        )

    def cleared_types(self, taxpayer_id: str, device_no: str, period: int) -> list[str]:
        """Return the types any clearing data of ``period`` covered."""
        rows = self._all(
            "SELECT types FROM clearings WHERE taxpayer_id = ? AND device_no = ? AND period = ?",
            taxpayer_id,
            device_no,
            period,
        )
        return sorted({code for (types,) in rows for code in str(types).split(",")})

    def clearing_count(self, taxpayer_id: str) -> int:
        """Return how many clearing data the taxpayer was issued."""
        row = self._one("SELECT COUNT(*) FROM clearings WHERE taxpayer_id = ?", taxpayer_id)
        return int(row[0]) if row else 0

    # sessions

    def add_session(self, session: SessionRow) -> None:
        """Record an open session."""
        self._write(
            "INSERT INTO sessions (session_id, taxpayer_id, device_no, authority, expires)"
            " VALUES (?, ?, ?, ?, ?)",
            session.session_id,
            session.taxpayer_id,
            session.device_no,
            session.authority,
            session.expires,
        )

    def session(self, session_id: str) -> SessionRow | None:
        """Return the session with this id, expired or not."""
        row = self._one(
            "SELECT taxpayer_id, device_no, authority, expires FROM sessions WHERE session_id = ?",
            session_id,
        )
        return SessionRow(session_id, row[0], row[1], row[2], row[3]) if row else None

    def expire_sessions(self, taxpayer_id: str) -> int:
        """End every session of the taxpayer; return how many there were."""
        with self.lock:
            cursor = self._db.execute(
                "UPDATE sessions SET expires = 0 WHERE taxpayer_id = ?", (taxpayer_id,)
            )
            return cursor.rowcount

    # answers per business id

    def answer(self, business_id: str) -> tuple[str, bytes] | None:
        """Return (content digest, answer body) stored for a business id."""
        row = self._one("SELECT content, body FROM answers WHERE business_id = ?", business_id)
        return (str(row[0]), bytes(row[1])) if row else None

    def add_answer(self, business_id: str, content: str, body: bytes) -> None:
        """Store the successful answer to a business id (the first one stored wins)."""
        self._write(
            "INSERT OR IGNORE INTO answers (business_id, content, body) VALUES (?, ?, ?)",
            business_id,
            content,
            body,
        )

    # scenario control

    def reset_taxpayer(self, taxpayer_id: str) -> None:
        """Forget everything about a taxpayer: back to a valid certificate and no uploads."""
        with self.lock:
            for table in ("certificates", "declarations", "uploads", "clearings", "sessions"):
                self._db.execute(f"DELETE FROM {table} WHERE taxpayer_id = ?", (taxpayer_id,))  # noqa: S608

    def state(self, taxpayer_id: str) -> dict[str, Any]:
        """Return what the bureau holds about a taxpayer, for the admin API."""
        uploads = self._all(
            "SELECT period, type, digest, accepted_at FROM uploads WHERE taxpayer_id = ?"
            " ORDER BY period, type",
            taxpayer_id,
        )
        declarations = self._all(
            "SELECT period, status FROM declarations WHERE taxpayer_id = ? ORDER BY period",
            taxpayer_id,
        )
        return {
            "taxpayer_id": taxpayer_id,
            "certificate": self.cert_status(taxpayer_id),
            "declarations": {str(period): status for period, status in declarations},
            "uploads": [
                {"period": p, "type": t, "digest": d, "accepted_at": a} for p, t, d, a in uploads
            ],
            "clearings": self.clearing_count(taxpayer_id),
        }
