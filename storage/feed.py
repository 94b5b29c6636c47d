"""The message log as a feed, for the dashboard: rows after an id, read-only.

The dashboard (:mod:`wxloan.bot.dashboard`) keeps its aggregates in memory and reads
only the rows it has not seen yet, so an answer costs the same with a million stored
messages as with a hundred. This is the SQLite side; :mod:`.postgres.feed` is the same on
PostgreSQL. Nothing here writes, creates or migrates.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import NoDatabaseError
from .privacy import mask_personal_data

__all__ = ["FeedRow", "SqliteFeed"]

#: China Standard Time offset, for per-day counts as the operator reads them.
CST_OFFSET = 8 * 3600


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One logged message: ``meta`` is the stored JSON text (None for replies and rows
    written before migration 0005); ``content`` is masked at write."""

    id: int
    openid: str
    direction: str
    msg_type: str
    content: str
    created_at: float
    meta: str | None


class SqliteFeed:
    """The feed on a SQLite file, read-only; safe beside a running server (WAL readers).

    One connection, used from one worker thread at a time (the dashboard runs each call
    with ``asyncio.to_thread`` under its own lock).

    :raises NoDatabaseError: there is no file at ``path``.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise NoDatabaseError(str(path))
        self.path = path
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.Lock()
        self._meta = "NULL"
        self._has_duplicates = False
        if not self._read_schema():
            raise NoDatabaseError(str(path))

    def _read_schema(self) -> bool:
        """Which columns the schema has (``serve`` may migrate it while we read); False
        when there is no message log at all."""
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(messages)")}
        self._meta = "meta" if "meta" in columns else "NULL"
        attempts = {row[1] for row in self._conn.execute("PRAGMA table_info(delivery_attempts)")}
        self._has_duplicates = "duplicates" in attempts
        return bool(columns)

    def rows_after(self, last_id: int, limit: int) -> list[FeedRow]:
        """Up to ``limit`` messages with an id above ``last_id``, in id order."""
        with self._lock:
            if self._meta == "NULL" or not self._has_duplicates:
                self._read_schema()
            rows = self._conn.execute(
                "SELECT id, openid, direction, msg_type, content, created_at,"
                f" {self._meta} FROM messages WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, limit)).fetchall()
        return [FeedRow(*row) for row in rows]

    def rows_with_ids(self, ids: list[int]) -> list[FeedRow]:
        """The messages among ``ids`` that exist now (ids skipped earlier), in id order."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, openid, direction, msg_type, content, created_at,"
                f" {self._meta} FROM messages WHERE id IN ({marks}) ORDER BY id",
                ids).fetchall()
        return [FeedRow(*row) for row in rows]

    def count_reused(self, last_id: int, newest: float) -> int:
        """Rows with an id already counted but a later time than anything counted: SQLite
        hands the ids of deleted newest rows out again (a ``forget`` of the latest user)."""
        with self._lock:
            return int(self._conn.execute(
                "SELECT COUNT(*) FROM messages WHERE created_at > ? AND id <= ?",
                (newest, last_id)).fetchone()[0])

    def count_upto(self, last_id: int) -> int:
        """How many messages with an id up to ``last_id`` are still stored (a purge or a
        ``forget`` since makes this less than what the dashboard has counted)."""
        with self._lock:
            return int(self._conn.execute(
                "SELECT COUNT(*) FROM messages WHERE id <= ?", (last_id,)).fetchone()[0])

    def duplicates_per_day(self) -> dict[int, int]:
        """Repeated deliveries per day number (CST days since the epoch)."""
        if not self._has_duplicates:
            return {}
        with self._lock:
            rows = self._conn.execute(
                f"SELECT CAST((updated_at + {CST_OFFSET}) / 86400 AS INTEGER), SUM(duplicates)"
                " FROM delivery_attempts WHERE duplicates > 0 GROUP BY 1").fetchall()
        return {int(day): int(n) for day, n in rows}

    def conversation(self, openid: str, limit: int) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first, masked again on read."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, direction, msg_type, content, created_at,"
                f" {self._meta} FROM messages WHERE openid = ? ORDER BY id DESC LIMIT ?",
                (openid, limit)).fetchall()
        return [{"id": r[0], "direction": r[1], "msg_type": r[2],
                 "content": mask_personal_data(r[3] or "").text, "created_at": r[4],
                 "meta": r[5]} for r in reversed(rows)]

    def close(self) -> None:
        with self._lock:  # not under a query still running on a worker thread
            self._conn.close()
