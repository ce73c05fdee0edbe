"""The write-ahead journal of clearing jobs, in the box's SQLite database.

A job is one (device, period). Its step and every output a later step needs are written in one
transaction *before* the next step starts, so after a crash the job resumes at the step it was
about to run, with the inputs it had. ``UNIQUE (device_no, period)`` is what makes "exactly one
clearing per device per period" hold even if two triggers race.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from appliance.clearing.outcomes import Outcome, OutcomeKind
from appliance.clearing.steps import JobStep
from appliance.clock import clock
from appliance.storage.database import Database


@dataclass(frozen=True)
class JobRecord:
    """A job as the journal holds it."""

    id: int
    device_no: str
    taxpayer_id: str
    period: int
    step: JobStep
    finished: bool
    outcome: str | None
    outcome_code: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        """Build from a ``jobs`` row."""
        return cls(
            id=row["id"],
            device_no=row["device_no"],
            taxpayer_id=row["taxpayer_id"],
            period=row["period"],
            step=JobStep(row["step"]),
            finished=bool(row["finished"]),
            outcome=row["outcome"],
            outcome_code=row["outcome_code"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def pin_digest(device_no: str, pin: str) -> str:
    """Return what the journal keeps of a PIN: a salted digest, never the PIN."""
    return hashlib.sha256(f"qingka-pin/{device_no}/{pin}".encode()).hexdigest()


class Journal:
    """Jobs, their step outputs, outcomes, rejected PINs and warnings sent."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _now() -> str:
        return clock().stamp("milliseconds")

    def unfinished(self, device_no: str) -> JobRecord | None:
        """Return the device's job that has not reached a success, if any."""
        rows = self.db.query(
            "SELECT * FROM jobs WHERE device_no = ? AND finished = 0 ORDER BY period DESC LIMIT 1",
            (device_no,),
        )
        return JobRecord.from_row(rows[0]) if rows else None

    def find(self, device_no: str, period: int) -> JobRecord | None:
        """Return the job of this device and period, if any."""
        rows = self.db.query(
            "SELECT * FROM jobs WHERE device_no = ? AND period = ?", (device_no, period)
        )
        return JobRecord.from_row(rows[0]) if rows else None

    def get(self, job_id: int) -> JobRecord:
        """Return a job by id."""
        return JobRecord.from_row(self.db.query("SELECT * FROM jobs WHERE id = ?", (job_id,))[0])

    def create(
        self, device_no: str, taxpayer_id: str, period: int, step: JobStep, outputs: dict[str, Any]
    ) -> JobRecord:
        """Create the job of (device, period) at ``step`` with ``outputs``, in one transaction."""
        now = self._now()
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO jobs (device_no, taxpayer_id, period, step, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (device_no, taxpayer_id, period, step.value, now, now),
            )
            job_id = int(cursor.lastrowid or 0)
            self._write(conn, job_id, step, outputs, now)
        return self.get(job_id)

    def advance(self, job: JobRecord, step: JobStep, outputs: dict[str, Any]) -> JobRecord:
        """Durably record ``outputs`` and move the job to ``step``, in one transaction."""
        now = self._now()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET step = ?, updated_at = ? WHERE id = ?",
                (step.value, now, job.id),
            )
            self._write(conn, job.id, step, outputs, now)
        return self.get(job.id)

    @staticmethod
    def _write(
        conn: sqlite3.Connection, job_id: int, step: JobStep, outputs: dict[str, Any], now: str
    ) -> None:
        for key, value in outputs.items():
            conn.execute(
                "INSERT OR REPLACE INTO job_values (job_id, key, value) VALUES (?, ?, ?)",
                (job_id, key, json.dumps(value, ensure_ascii=False)),
            )
        conn.execute(
            "INSERT INTO journal (job_id, step, at, data) VALUES (?, ?, ?, ?)",
            (job_id, step.value, now, json.dumps(sorted(outputs), ensure_ascii=False)),
        )

    def values(self, job: JobRecord) -> dict[str, Any]:
        """Return every output recorded for the job."""
        rows = self.db.query("SELECT key, value FROM job_values WHERE job_id = ?", (job.id,))
        return {row["key"]: json.loads(row["value"]) for row in rows}

    def record_outcome(
        self,
        device_no: str,
        outcome: Outcome,
        job: JobRecord | None = None,
        url: str | None = None,
        *,
        answer: bool = False,
    ) -> int:
        """Record how an attempt ended; a success also closes the job for good.

        With ``answer``, the open requests of ``url`` are answered in the same transaction: a
        power cut can then never leave an outcome whose request the box would run again.
        Return the outcome's id (the order outcomes were recorded in).
        """
        now = outcome.at.isoformat(timespec="milliseconds") if outcome.at else self._now()
        with self.db.transaction() as conn:
            if answer and url:
                conn.execute(
                    "UPDATE clear_requests SET answered_at = ?, outcome_code = ?"
                    " WHERE url = ? AND answered_at IS NULL",
                    (self._now(), outcome.code, url),
                )
            if job is not None:
                conn.execute(
                    "UPDATE jobs SET outcome = ?, outcome_code = ?, finished = ?, updated_at = ?"
                    " WHERE id = ?",
                    (outcome.kind.value, outcome.code, int(outcome.kind.success), now, job.id),
                )
            cursor = conn.execute(
                "INSERT INTO outcomes (device_no, period, job_id, at, kind, code, detail, url)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    device_no,
                    outcome.period,
                    job.id if job else None,
                    now,
                    outcome.kind.value,
                    outcome.code,
                    json.dumps(outcome.to_json(), ensure_ascii=False),
                    url,
                ),
            )
            return int(cursor.lastrowid or 0)

    def outcomes_after(self, after: int, limit: int = 100) -> list[dict[str, Any]]:
        """Return up to ``limit`` outcomes recorded after the one with id ``after``, oldest first.

        Each is the outcome's JSON with ``at``, ``url`` and its ``outcome_id``.
        """
        rows = self.db.query(
            "SELECT id, url, at, detail FROM outcomes WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [
            {
                **json.loads(row["detail"]),
                "at": row["at"],
                "url": row["url"],
                "outcome_id": row["id"],
            }
            for row in rows
        ]

    def last_outcome_id(self) -> int:
        """Return the id of the latest outcome recorded (0: none yet)."""
        rows = self.db.query("SELECT MAX(id) AS id FROM outcomes")
        return int(rows[0]["id"] or 0) if rows else 0

    def history(self, device_no: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return the latest outcomes, newest first."""
        if device_no is None:
            rows = self.db.query("SELECT * FROM outcomes ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.db.query(
                "SELECT * FROM outcomes WHERE device_no = ? ORDER BY id DESC LIMIT ?",
                (device_no, limit),
            )
        return [{**json.loads(row["detail"]), "at": row["at"]} for row in rows]

    def last_outcome(self, device_no: str) -> Outcome | None:
        """Return the device's latest outcome."""
        rows = self.history(device_no, 1)
        return Outcome.from_json(rows[0]) if rows else None

    def last_outcome_at(self, url: str) -> Outcome | None:
        """Return the latest outcome recorded for the device at ``url`` (after a restart)."""
        rows = self.db.query(
            "SELECT at, detail FROM outcomes WHERE url = ? ORDER BY id DESC LIMIT 1", (url,)
        )
        if not rows:
            return None
        return Outcome.from_json({**json.loads(rows[0]["detail"]), "at": rows[0]["at"]})

    # -- clear requests -----------------------------------------------------------------

    def add_request(self, url: str, source: str) -> int:
        """Durably record that someone asked to clear ``url``; it holds until answered."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO clear_requests (url, source, requested_at) VALUES (?, ?, ?)",
                (url, source, self._now()),
            )
            return int(cursor.lastrowid or 0)

    def open_requests(self) -> list[tuple[int, str, str]]:
        """Return (id, URL, source) of every request no job has answered yet, oldest first."""
        rows = self.db.query(
            "SELECT id, url, source FROM clear_requests WHERE answered_at IS NULL ORDER BY id"
        )
        return [(row["id"], row["url"], row["source"]) for row in rows]

    def last_success(self, device_no: str) -> dict[str, Any] | None:
        """Return the device's latest successful clearing."""
        kinds = (OutcomeKind.DONE.value, OutcomeKind.ALREADY_CLEARED.value)
        rows = self.db.query(
            "SELECT * FROM outcomes WHERE device_no = ? AND kind IN (?, ?)"
            " ORDER BY id DESC LIMIT 1",
            (device_no, *kinds),
        )
        return {**json.loads(rows[0]["detail"]), "at": rows[0]["at"]} if rows else None

    # -- rejected PINs ------------------------------------------------------------------

    def pin_rejection(self, device_no: str) -> tuple[str, int] | None:
        """Return (digest, tries left) of the PIN this device last rejected, if any."""
        rows = self.db.query(
            "SELECT pin_digest, tries_left FROM pin_rejections WHERE device_no = ?", (device_no,)
        )
        return (rows[0]["pin_digest"], rows[0]["tries_left"]) if rows else None

    def record_pin_rejection(self, device_no: str, pin: str, tries_left: int) -> None:
        """Remember that ``pin`` was rejected, so it is never sent to this device again."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO pin_rejections VALUES (?, ?, ?, ?)",
                (device_no, pin_digest(device_no, pin), tries_left, self._now()),
            )

    def clear_pin_rejection(self, device_no: str) -> None:
        """Forget a rejection once a PIN was accepted."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM pin_rejections WHERE device_no = ?", (device_no,))

    # -- deadline warnings --------------------------------------------------------------

    def warn_once(self, device_no: str, lock_date: str, days: int) -> bool:
        """Record a deadline warning; return False if it was already sent."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO warnings_sent VALUES (?, ?, ?, ?)",
                (device_no, lock_date, days, self._now()),
            )
            return cursor.rowcount == 1
