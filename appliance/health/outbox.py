"""The box's durable outbox and fleet state: one SQLite file on the data partition.

Events and outcomes wait here while the broker is unreachable and leave in order once it
answers; an event is deleted only when the broker acknowledged it (PUBACK), so a crash or power
cut at any moment loses nothing that was accepted (WAL, ``synchronous=FULL``: a returned write
is on flash). The outbox is bounded: when full, the oldest events go and a counted ``dropped``
event tells the fleet. Health is never queued here; the latest one wins.

The same file keeps the little state the link needs across restarts: the request ids of
recent commands (replays are refused), the retained topics the box has published (so stale
ones are emptied), the policy set by the fleet and each device's last job.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from appliance.health.errors import OutboxError

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        payload BLOB NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS seen_commands (id TEXT PRIMARY KEY, at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, at REAL NOT NULL)",
    # The journal outcomes queued as events since the last catch-up (above its floor).
    "CREATE TABLE IF NOT EXISTS outcome_events (outcome_id INTEGER PRIMARY KEY)",
)
DROPPED_KEY = "dropped_pending"
# Every journal outcome up to this id is queued (or was, and has left).
OUTCOMES_FLOOR_KEY = "outcomes_floor"


class Outbox:
    """The outbox file, shared by the link's threads behind one lock."""

    def __init__(self, path: Path, max_events: int = 10_000) -> None:
        self.path = path
        self.max_events = max_events
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(
                f"cannot open the outbox {path}: {exc}", f"无法打开发送队列 {path}"
            ) from exc
        # Event ids are <box>-<epoch>-<seq>: the epoch is drawn once per outbox file, so a new
        # file (a replaced SD card) never repeats an id the fleet has already seen.
        self.epoch = self.meta("epoch") or self._new_epoch()

    def _new_epoch(self) -> str:
        epoch = secrets.token_hex(4)
        self.set_meta("epoch", epoch)
        return epoch

    def _write(self, statements: Callable[[sqlite3.Connection], object]) -> object:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = statements(self._conn)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise OutboxError(
                    f"the outbox {self.path} cannot be written: {exc}", "发送队列写入失败"
                ) from exc
            return result

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise OutboxError(f"the outbox cannot be read: {exc}", "发送队列读取失败") from exc

    # -- events ---------------------------------------------------------------------------------

    def put(
        self,
        box: str,
        created: float,
        build: Callable[[str, int], bytes],
        allow_over: bool = False,
        outcome_id: int | None = None,
    ) -> tuple[int, str]:
        """Queue one event; ``build(id, seq)`` returns its bytes. Return (seq, id).

        ``outcome_id``, the journal's id of the outcome the event tells, is noted in the same
        transaction: the outbox then knows, after any cut, which outcomes it has taken.
        """

        def insert(conn: sqlite3.Connection) -> tuple[int, str]:
            count = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
            excess = count + 1 - self.max_events
            if excess > 0 and not allow_over:
                conn.execute(
                    "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)",
                    (excess,),
                )
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = ?", (DROPPED_KEY,)
                ).fetchone()
                dropped = int(row[0]) if row else 0
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    (DROPPED_KEY, str(dropped + excess)),
                )
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            seq = (int(row[0]) if row else 0) + 1
            event_id = f"{box}-{self.epoch}-{seq}"
            conn.execute(
                "INSERT INTO events (seq, id, created, payload) VALUES (?, ?, ?, ?)",
                (seq, event_id, created, build(event_id, seq)),
            )
            if outcome_id is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO outcome_events (outcome_id) VALUES (?)", (outcome_id,)
                )
            return seq, event_id

        result = self._write(insert)
        assert isinstance(result, tuple)
        return result

    def pending(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """Return up to ``limit`` queued events after ``after``, oldest first."""
        rows = self._read(
            "SELECT seq, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        )
        return [(int(str(seq)), bytes(payload)) for seq, payload in rows]  # type: ignore[call-overload]

    def ack(self, seq: int) -> None:
        """Forget an event the broker acknowledged."""
        self._write(lambda conn: conn.execute("DELETE FROM events WHERE seq = ?", (seq,)))

    def depth(self) -> tuple[int, float | None]:
        """Return how many events wait and when the oldest was queued (epoch seconds)."""
        count, oldest = self._read("SELECT COUNT(*), MIN(created) FROM events")[0]
        return int(str(count)), (float(str(oldest)) if oldest is not None else None)

    def take_dropped(self) -> int:
        """Return and reset the count of events dropped because the outbox was full."""

        def take(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (DROPPED_KEY,)).fetchone()
            conn.execute("DELETE FROM meta WHERE key = ?", (DROPPED_KEY,))
            return int(row[0]) if row else 0

        result = self._write(take)
        assert isinstance(result, int)
        return result

    # -- commands -------------------------------------------------------------------------------

    def first_sight(self, request_id: str, now: float, keep_s: float) -> bool:
        """Record a command's request id; False if it was seen before (a replay)."""

        def record(conn: sqlite3.Connection) -> bool:
            conn.execute("DELETE FROM seen_commands WHERE at < ?", (now - keep_s,))
            seen = conn.execute(
                "SELECT 1 FROM seen_commands WHERE id = ?", (request_id,)
            ).fetchone()
            if seen:
                return False
            conn.execute("INSERT INTO seen_commands (id, at) VALUES (?, ?)", (request_id, now))
            return True

        return bool(self._write(record))

    # -- retained topics and small state ---------------------------------------------------------

    def retained(self) -> set[str]:
        """Return the topics the box holds a retained message on."""
        return {str(row[0]) for row in self._read("SELECT topic FROM retained")}

    def set_retained(self, topic: str, held: bool, now: float) -> None:
        """Record that the box holds (or emptied) a retained message on ``topic``."""
        if held:
            self._write(
                lambda conn: conn.execute(
                    "INSERT OR REPLACE INTO retained (topic, at) VALUES (?, ?)", (topic, now)
                )
            )
        else:
            self._write(lambda conn: conn.execute("DELETE FROM retained WHERE topic = ?", (topic,)))

    # -- which journal outcomes were queued ---------------------------------------------------

    def outcomes_floor(self) -> int | None:
        """Return the id up to which every journal outcome was queued (None: never counted)."""
        value = self.meta(OUTCOMES_FLOOR_KEY)
        return int(value) if value is not None else None

    def queued_outcomes(self) -> set[int]:
        """Return the journal outcomes queued above the floor."""
        rows = self._read("SELECT outcome_id FROM outcome_events")
        return {int(str(row[0])) for row in rows}

    def has_outcome(self, outcome_id: int) -> bool:
        """Tell whether the journal outcome ``outcome_id`` was queued (at or below the floor)."""
        floor = self.outcomes_floor()
        if floor is not None and outcome_id <= floor:
            return True
        rows = self._read("SELECT 1 FROM outcome_events WHERE outcome_id = ?", (outcome_id,))
        return bool(rows)

    def set_outcomes_floor(self, floor: int) -> None:
        """Note that every journal outcome up to ``floor`` is queued; forget the ids up to it."""

        def settle(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (OUTCOMES_FLOOR_KEY, str(floor)),
            )
            conn.execute("DELETE FROM outcome_events WHERE outcome_id <= ?", (floor,))

        self._write(settle)

    def meta(self, key: str) -> str | None:
        """Return a stored value."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a value."""
        self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )
        )

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
