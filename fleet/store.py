"""The fleet store: the latest state of every box and tax device, and the event log.

``sqlite:///path`` (embedded default, one collector) or ``postgresql://…`` (several collectors
sharing one store). The same SQL serves both. Writes are idempotent, so a message the broker
delivers twice (at least once) or that two collectors both see changes nothing the second time:
events are keyed by their id, and state only moves forward in time (a health or status older
than the stored one is ignored).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from fleet.board import Board, BoxView
from fleet.errors import StoreError
from fleet.parse import Event, Health, parse_alert, parse_health

# A health dated this far after the collector's clock no longer holds back later ones.
HEALTH_AHEAD_S = 24 * 3600

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS boxes (
        site TEXT NOT NULL, box TEXT NOT NULL,
        status TEXT, status_session TEXT NOT NULL DEFAULT '',
        health TEXT, health_ts DOUBLE PRECISION NOT NULL DEFAULT 0,
        seen_ts DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (site, box))""",
    """CREATE TABLE IF NOT EXISTS alerts (
        site TEXT NOT NULL, box TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (site, box, name))""",
    """CREATE TABLE IF NOT EXISTS availability (
        site TEXT NOT NULL, box TEXT NOT NULL, device TEXT NOT NULL, state TEXT NOT NULL,
        PRIMARY KEY (site, box, device))""",
    """CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY, site TEXT NOT NULL, box TEXT NOT NULL, seq BIGINT NOT NULL,
        kind TEXT NOT NULL, device_no TEXT, at_ts DOUBLE PRECISION NOT NULL,
        stored_ts DOUBLE PRECISION NOT NULL, payload TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS events_box ON events (site, box, seq)",
)


class Store(Protocol):
    """What collectors and ``qingka fleet watch`` use."""

    def status(self, site: str, box: str, status: str | None, session: str, now: float) -> None:
        """Record ``online``/``offline`` (None: forgotten) unless an older session says it."""

    def health(self, health: Health, now: float) -> None:
        """Record a health document unless a newer one is stored."""

    def alert(self, site: str, box: str, name: str, body: bytes) -> None:
        """Record an alert (empty body: resolved)."""

    def availability(self, site: str, box: str, device: str, state: str | None) -> None:
        """Record a device's availability (None: forgotten)."""

    def event(self, event: Event, now: float) -> bool:
        """Store one event; False when its id was stored before (a duplicate)."""

    def boxes(self) -> list[BoxView]:
        """Return every box."""

    def rows(self) -> list[dict[str, Any]]:
        """Return the fleet table rows, most urgent first."""

    def events(self, site: str, box: str) -> list[dict[str, Any]]:
        """Return one box's stored events in order."""

    def event_count(self) -> int:
        """Return how many events are stored."""

    def close(self) -> None:
        """Close the store."""

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...


class SqlStore:
    """The store on a DB-API connection; ``mark`` is the driver's parameter mark."""

    def __init__(self, connection: Any, mark: str, url: str) -> None:
        self._conn = connection
        self._mark = mark
        self.url = url
        self._lock = threading.Lock()
        with self._tx() as cur:
            for statement in SCHEMA:
                cur.execute(statement)

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _sql(self, text: str) -> str:
        return text.replace("%s", self._mark)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                yield cur
                self._conn.commit()
            except Exception as exc:
                self._conn.rollback()
                raise StoreError(f"the fleet store failed: {exc}", "运维数据库写入失败") from exc
            finally:
                cur.close()

    def _query(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._tx() as cur:
            cur.execute(self._sql(text), params)
            return list(cur.fetchall())

    def status(self, site: str, box: str, status: str | None, session: str, now: float) -> None:
        """Record a status; a newer session wins, and within one session offline wins."""
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO boxes (site, box, status, status_session, seen_ts) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site, box) DO UPDATE SET "
                    "status = excluded.status, status_session = excluded.status_session, "
                    "seen_ts = excluded.seen_ts WHERE excluded.status IS NULL "
                    "OR excluded.status_session = '' OR boxes.status IS NULL "
                    "OR excluded.status_session > boxes.status_session "
                    "OR (excluded.status_session = boxes.status_session "
                    "AND excluded.status = 'offline')"
                ),
                (site, box, status, session, now),
            )

    def health(self, health: Health, now: float) -> None:
        """Record a health document if it is the newest.

        A stored one dated more than :data:`HEALTH_AHEAD_S` after ``now`` (a box whose clock
        jumped, or a forged date) does not count as newer: it would freeze the box's row.
        """
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO boxes (site, box, health, health_ts, seen_ts) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site, box) DO UPDATE SET "
                    "health = excluded.health, health_ts = excluded.health_ts, "
                    "seen_ts = excluded.seen_ts WHERE excluded.health_ts >= boxes.health_ts "
                    "OR boxes.health_ts > %s"
                ),
                (
                    health.site,
                    health.box,
                    json.dumps(health.raw, ensure_ascii=False),
                    health.at.timestamp(),
                    now,
                    now + HEALTH_AHEAD_S,
                ),
            )

    def alert(self, site: str, box: str, name: str, body: bytes) -> None:
        """Record or resolve an alert."""
        with self._tx() as cur:
            if body:
                cur.execute(
                    self._sql(
                        "INSERT INTO alerts (site, box, name, body) VALUES (%s, %s, %s, %s) "
                        "ON CONFLICT (site, box, name) DO UPDATE SET body = excluded.body"
                    ),
                    (site, box, name, body.decode()),
                )
            else:
                cur.execute(
                    self._sql("DELETE FROM alerts WHERE site = %s AND box = %s AND name = %s"),
                    (site, box, name),
                )

    def availability(self, site: str, box: str, device: str, state: str | None) -> None:
        """Record a device's availability."""
        with self._tx() as cur:
            if state is None:
                cur.execute(
                    self._sql(
                        "DELETE FROM availability WHERE site = %s AND box = %s AND device = %s"
                    ),
                    (site, box, device),
                )
            else:
                cur.execute(
                    self._sql(
                        "INSERT INTO availability (site, box, device, state) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (site, box, device) "
                        "DO UPDATE SET state = excluded.state"
                    ),
                    (site, box, device, state),
                )

    def event(self, event: Event, now: float) -> bool:
        """Store an event once."""
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO events (id, site, box, seq, kind, device_no, at_ts, stored_ts, "
                    "payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                (
                    event.id,
                    event.site,
                    event.box,
                    event.seq,
                    event.kind,
                    event.device_no,
                    event.at.timestamp(),
                    now,
                    json.dumps(event.raw, ensure_ascii=False),
                ),
            )
            return bool(cur.rowcount == 1)

    def boxes(self) -> list[BoxView]:
        """Return every box, rebuilt from the stored state."""
        board = Board()
        for site, box, status, health in self._query("SELECT site, box, status, health FROM boxes"):
            view = board.view(site, box)
            view.status = status
            if health:
                view.health = parse_health(health.encode())
        for site, box, name, body in self._query("SELECT site, box, name, body FROM alerts"):
            alert = parse_alert(body.encode())
            if alert is not None:
                board.view(site, box).alerts[name] = alert
        for site, box, device, state in self._query(
            "SELECT site, box, device, state FROM availability"
        ):
            board.view(site, box).availability[device] = state
        return list(board.boxes.values())

    def rows(self) -> list[dict[str, Any]]:
        """Return the fleet table rows."""
        board = Board()
        for view in self.boxes():
            board.boxes[(view.site, view.box)] = view
        return board.rows()

    def events(self, site: str, box: str) -> list[dict[str, Any]]:
        """Return one box's events in order."""
        rows = self._query(
            "SELECT payload FROM events WHERE site = %s AND box = %s ORDER BY seq", (site, box)
        )
        return [json.loads(payload) for (payload,) in rows]

    def event_count(self) -> int:
        """Return the number of stored events."""
        return int(self._query("SELECT COUNT(*) FROM events")[0][0])

    def lags(self, since_ts: float) -> list[float]:
        """Return publish-to-stored seconds of the events stored after ``since_ts``."""
        rows = self._query(
            "SELECT stored_ts - at_ts FROM events WHERE stored_ts >= %s", (since_ts,)
        )
        return [float(lag) for (lag,) in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def open_store(url: str) -> SqlStore:
    """Open ``sqlite:///path`` or ``postgresql://…``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///fleet.db is relative, sqlite:////var/lib/fleet.db absolute.
        path = Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else Path(parts.path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {path}: {exc}", f"无法打开运维数据库 {path}") from exc
        return SqlStore(conn, "?", url)
    if parts.scheme in ("postgresql", "postgres"):
        import psycopg  # noqa: PLC0415 - only for a PostgreSQL store

        try:
            server = psycopg.connect(url, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach {parts.hostname}: {exc}", "连不上运维数据库") from exc
        return SqlStore(server, "%s", url)
    raise StoreError(
        f"{url!r}: the store is sqlite:///PATH or postgresql://…", "运维数据库地址无效"
    )
