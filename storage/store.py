"""The asynchronous store: every SQLite call runs on one owner thread.

Why one thread: SQLite allows one writer at a time, and a blocking ``execute`` on the event
loop would stall every other chat. Like datasette's write thread, a single-worker executor
owns the connection; coroutines hand it small functions and await the result. WAL mode lets
other processes (``wxloan stats``, a second worker) read while we write.

De-duplication is atomic in SQLite, not only in memory: ``begin_turn`` claims the message key
with ``INSERT OR IGNORE`` inside ``BEGIN IMMEDIATE``, so two workers on one database file can
never both process the same WeChat retry.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from .errors import StoreClosedError
from .migrations import apply_migrations
from .models import Claim, ClaimStatus, Session, TurnRecord
from .privacy import mask_personal_data

__all__ = ["DayStats", "Store", "StoreStats", "open_store"]

T = TypeVar("T")

#: A claim still pending after this many seconds belongs to a worker that died; take it over.
STALE_CLAIM_SECONDS = 30.0
#: How often a retry waiting on another process re-reads the claim.
CLAIM_POLL_SECONDS = 0.02
#: China Standard Time, for per-day statistics as the operator reads them.
_CST_MODIFIER = "+8 hours"


@dataclass(frozen=True, slots=True)
class DayStats:
    """Counts for one day (China time)."""

    day: str
    new_users: int
    messages_in: int
    messages_out: int
    assessments: int


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Totals and per-day counts for ``wxloan stats``."""

    users: int
    messages: int
    assessments: int
    sessions: int
    days: tuple[DayStats, ...]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class Store:
    """Async façade over the wxloan SQLite file.

    Create with :func:`open_store`; close with :meth:`close`. Every public coroutine runs
    its SQL on the owner thread, in one transaction where it writes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="wxloan-sqlite"
        )
        self._conn: sqlite3.Connection | None = None
        self.applied_migrations: list[str] = []

    # -- plumbing -------------------------------------------------------------------

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        executor = self._executor
        if executor is None:
            raise StoreClosedError(str(self.path))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, self._call, fn)

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreClosedError(str(self.path))
        return fn(self._conn)

    async def open(self) -> None:
        """Open the connection on the owner thread and apply pending migrations."""

        def opener(_: Any) -> list[str]:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = _connect(self.path)
            return apply_migrations(Database(self._conn))

        executor = self._executor
        assert executor is not None
        loop = asyncio.get_running_loop()
        self.applied_migrations = await loop.run_in_executor(executor, opener, None)

    async def close(self) -> None:
        """Close the connection and stop the owner thread; later calls raise."""
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def closer() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(executor, closer)
        executor.shutdown(wait=True)

    # -- the per-message path -------------------------------------------------------

    async def begin_turn(self, msg_key: str, openid: str, now: float) -> Claim:
        """Claim ``msg_key``; if it is new, also load the user's session.

        :returns: ``NEW`` with the session (or ``None``), ``PENDING`` when another request
            is processing it, or ``DONE`` with the stored reply.
        """
        return await self._run(lambda conn: _begin_turn(conn, msg_key, openid, now))

    async def wait_for_reply(self, msg_key: str, timeout: float) -> str | None:
        """Poll until another worker stores the reply of ``msg_key``; ``None`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            reply = await self._run(lambda conn: _stored_reply(conn, msg_key))
            if reply is not None or time.monotonic() >= deadline:
                return reply
            await asyncio.sleep(CLAIM_POLL_SECONDS)

    async def finish_turn(self, record: TurnRecord) -> None:
        """Write the message log, session, profile and stored reply in one transaction."""
        await self._run(lambda conn: _finish_turn(conn, record))

    async def release_claim(self, msg_key: str) -> None:
        """Forget an unfinished claim so that WeChat's retry is processed afresh."""
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM processed WHERE msg_key = ? AND status = 'pending'", (msg_key,)
            )
        )

    async def store_reply(self, msg_key: str, reply: str, now: float) -> None:
        """Store a reply for ``msg_key`` without touching the session (event outcomes)."""
        await self._run(lambda conn: _store_reply(conn, msg_key, reply, now))

    async def clear_session(self, openid: str) -> None:
        """Delete the user's dialogue state (unsubscribe, restart)."""
        await self._run(
            lambda conn: conn.execute("DELETE FROM sessions WHERE openid = ?", (openid,))
        )

    # -- operator queries -----------------------------------------------------------

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return await self._run(lambda conn: conn.execute("SELECT 1").fetchone() == (1,))

    async def stats(self, days: int = 14, now: float | None = None) -> StoreStats:
        """Totals and the last ``days`` days of activity."""
        since = (now if now is not None else time.time()) - days * 86400
        return await self._run(lambda conn: _stats(conn, since))

    async def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (already masked at write)."""
        return await self._run(lambda conn: _transcript(conn, openid, limit))

    async def purge(self, before: float) -> dict[str, int]:
        """Delete everything older than ``before`` (unix seconds); return rows per table."""
        return await self._run(lambda conn: _purge(conn, before))

    # -- outbound: tokens, quota ledger, deliveries ----------------------------------

    async def get_token(self, app_id: str) -> tuple[str, float] | None:
        """The cached access token of ``app_id`` and when it expires, if any."""

        def read(conn: sqlite3.Connection) -> tuple[str, float] | None:
            row = conn.execute(
                "SELECT token, expires_at FROM access_tokens WHERE app_id = ?", (app_id,)
            ).fetchone()
            return None if row is None else (str(row[0]), float(row[1]))

        return await self._run(read)

    async def save_token(self, app_id: str, token: str, expires_at: float, now: float) -> None:
        """Cache an access token for every worker sharing this database."""
        await self._run(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO access_tokens (app_id, token, expires_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (app_id, token, expires_at, now),
            )
        )

    async def grant_quota(
        self, app_id: str, openid: str, kind: str, now: float, allowance: int, ttl: float
    ) -> None:
        """Record a window in which ``allowance`` messages may be sent to ``openid``."""
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO quota_grants (app_id, openid, kind, granted_at, expires_at,"
                " allowance, used) VALUES (?, ?, ?, ?, ?, ?, 0)",
                (app_id, openid, kind, now, now + ttl, allowance),
            )
        )

    async def consume_quota(self, app_id: str, openid: str, now: float) -> str | None:
        """Use one message of the soonest-expiring open window; its kind, or None if none."""
        return await self._run(lambda conn: _consume_quota(conn, app_id, openid, now))

    async def refund_quota(self, app_id: str, openid: str, kind: str, now: float) -> None:
        """Give back a message that WeChat refused (it did not count)."""
        await self._run(
            lambda conn: conn.execute(
                "UPDATE quota_grants SET used = used - 1 WHERE id = (SELECT id FROM"
                " quota_grants WHERE app_id = ? AND openid = ? AND kind = ? AND used > 0"
                " AND expires_at > ? ORDER BY expires_at LIMIT 1)",
                (app_id, openid, kind, now),
            )
        )

    async def record_delivery(
        self,
        *,
        app_id: str,
        openid: str,
        msg_key: str,
        msg_type: str,
        content: str,
        status: str,
        errcode: int,
        now: float,
        log_message: bool = True,
    ) -> None:
        """Log one outbound attempt; a sent message also goes to ``messages`` as ``out``.

        :param log_message: False when the message is already in ``messages`` (a late
            passive reply that the API now delivers).
        """
        content_to_log = content if log_message else None
        await self._run(
            lambda conn: _record_delivery(
                conn, app_id, openid, msg_key, msg_type, content_to_log, status, errcode, now
            )
        )

    async def deliveries(self, openid: str) -> list[dict[str, Any]]:
        """Outbound attempts for ``openid``, oldest first (tests and operators)."""

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cursor = conn.execute(
                "SELECT app_id, msg_key, msg_type, status, errcode, created_at FROM deliveries"
                " WHERE openid = ? ORDER BY id",
                (openid,),
            )
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]

        return await self._run(read)

    async def load_session(self, openid: str) -> Session | None:
        """The stored session of ``openid`` (tests and tools; the hot path uses begin_turn)."""
        return await self._run(lambda conn: _load_session(conn, openid))


async def open_store(path: Path) -> Store:
    """Open (creating and migrating if needed) the database at ``path``."""
    store = Store(path)
    await store.open()
    return store


# -- SQL, run on the owner thread ------------------------------------------------------


def _begin_turn(conn: sqlite3.Connection, msg_key: str, openid: str, now: float) -> Claim:
    conn.execute("BEGIN IMMEDIATE")
    try:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO processed (msg_key, openid, status, reply, created_at,"
            " updated_at) VALUES (?, ?, 'pending', NULL, ?, ?)",
            (msg_key, openid, now, now),
        ).rowcount
        if not inserted:
            status, reply, updated_at = conn.execute(
                "SELECT status, reply, updated_at FROM processed WHERE msg_key = ?", (msg_key,)
            ).fetchone()
            if status == "done":
                conn.execute("COMMIT")
                return Claim(ClaimStatus.DONE, reply=reply)
            if now - updated_at < STALE_CLAIM_SECONDS:
                conn.execute("COMMIT")
                return Claim(ClaimStatus.PENDING)
            conn.execute(
                "UPDATE processed SET updated_at = ? WHERE msg_key = ?", (now, msg_key)
            )
        session = _load_session(conn, openid)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return Claim(ClaimStatus.NEW, session=session)


def _load_session(conn: sqlite3.Connection, openid: str) -> Session | None:
    row = conn.execute(
        "SELECT flow, step, slots, pending_pages, updated_at FROM sessions WHERE openid = ?",
        (openid,),
    ).fetchone()
    if row is None:
        return None
    flow, step, slots, pages, updated_at = row
    return Session(
        openid=openid,
        flow=flow,
        step=step,
        slots=json.loads(slots) if slots else {},
        pending_pages=json.loads(pages) if pages else [],
        updated_at=updated_at,
    )


def _stored_reply(conn: sqlite3.Connection, msg_key: str) -> str | None:
    row = conn.execute(
        "SELECT reply FROM processed WHERE msg_key = ? AND status = 'done'", (msg_key,)
    ).fetchone()
    return None if row is None else str(row[0])


def _store_reply(conn: sqlite3.Connection, msg_key: str, reply: str, now: float) -> None:
    conn.execute(
        "UPDATE processed SET status = 'done', reply = ?, updated_at = ? WHERE msg_key = ?",
        (reply, now, msg_key),
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _finish_turn(conn: sqlite3.Connection, record: TurnRecord) -> None:
    now = record.now
    conn.execute("BEGIN IMMEDIATE")
    try:
        profile = None if record.profile is None else _dumps(record.profile)
        conn.execute(
            "INSERT INTO users (openid, first_seen, last_seen, profile) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(openid) DO UPDATE SET last_seen = excluded.last_seen,"
            " profile = COALESCE(excluded.profile, users.profile)",
            (record.openid, now, now, profile),
        )
        rows = [
            (
                record.openid,
                "in",
                record.inbound_type,
                mask_personal_data(record.inbound_content).text,
                now,
            )
        ]
        rows.extend(
            (record.openid, "out", out.msg_type, mask_personal_data(out.content).text, now)
            for out in record.outbound
        )
        conn.executemany(
            "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        session = record.session
        if session is None:
            conn.execute("DELETE FROM sessions WHERE openid = ?", (record.openid,))
        else:
            conn.execute(
                "INSERT OR REPLACE INTO sessions (openid, flow, step, slots, pending_pages,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.openid,
                    session.flow,
                    session.step,
                    _dumps(session.slots),
                    _dumps(session.pending_pages),
                    now,
                ),
            )
        if record.assessment is not None:
            inputs, result = record.assessment
            conn.execute(
                "INSERT INTO assessments (openid, inputs, result, created_at)"
                " VALUES (?, ?, ?, ?)",
                (record.openid, _dumps(inputs), _dumps(result), now),
            )
        conn.execute(
            "INSERT INTO processed (msg_key, openid, status, reply, created_at, updated_at)"
            " VALUES (?, ?, 'done', ?, ?, ?) ON CONFLICT(msg_key) DO UPDATE SET"
            " status = 'done', reply = excluded.reply, updated_at = excluded.updated_at",
            (record.msg_key, record.openid, record.reply, now, now),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _consume_quota(conn: sqlite3.Connection, app_id: str, openid: str, now: float) -> str | None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT id, kind FROM quota_grants WHERE app_id = ? AND openid = ?"
            " AND expires_at > ? AND used < allowance ORDER BY expires_at LIMIT 1",
            (app_id, openid, now),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE quota_grants SET used = used + 1 WHERE id = ?", (row[0],))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return None if row is None else str(row[1])


def _record_delivery(
    conn: sqlite3.Connection,
    app_id: str,
    openid: str,
    msg_key: str,
    msg_type: str,
    content: str | None,
    status: str,
    errcode: int,
    now: float,
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO deliveries (app_id, openid, msg_key, msg_type, status, errcode,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (app_id, openid, msg_key, msg_type, status, errcode, now),
        )
        if status == "sent" and content is not None:
            conn.execute(
                "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
                " VALUES (?, 'out', ?, ?, ?)",
                (openid, msg_type, mask_personal_data(content).text, now),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _stats(conn: sqlite3.Connection, since: float) -> StoreStats:
    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    day = f"date(created_at, 'unixepoch', '{_CST_MODIFIER}')"
    per_day: dict[str, dict[str, int]] = {}
    queries = {
        "messages_in": f"SELECT {day}, COUNT(*) FROM messages WHERE direction = 'in'"
        " AND created_at >= ? GROUP BY 1",
        "messages_out": f"SELECT {day}, COUNT(*) FROM messages WHERE direction = 'out'"
        " AND created_at >= ? GROUP BY 1",
        "assessments": f"SELECT {day}, COUNT(*) FROM assessments WHERE created_at >= ?"
        " GROUP BY 1",
        "new_users": f"SELECT date(first_seen, 'unixepoch', '{_CST_MODIFIER}'), COUNT(*)"
        " FROM users WHERE first_seen >= ? GROUP BY 1",
    }
    for column, sql in queries.items():
        for day_name, n in conn.execute(sql, (since,)):
            per_day.setdefault(day_name, {})[column] = n
    days = tuple(
        DayStats(
            day=name,
            new_users=counts.get("new_users", 0),
            messages_in=counts.get("messages_in", 0),
            messages_out=counts.get("messages_out", 0),
            assessments=counts.get("assessments", 0),
        )
        for name, counts in sorted(per_day.items())
    )
    return StoreStats(
        users=count("SELECT COUNT(*) FROM users"),
        messages=count("SELECT COUNT(*) FROM messages"),
        assessments=count("SELECT COUNT(*) FROM assessments"),
        sessions=count("SELECT COUNT(*) FROM sessions"),
        days=days,
    )


def _transcript(conn: sqlite3.Connection, openid: str, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT id, direction, msg_type, content, created_at FROM messages"
        " WHERE openid = ? ORDER BY id DESC LIMIT ?",
        (openid, limit),
    ).fetchall()
    return [
        {
            "id": row[0],
            "direction": row[1],
            "msg_type": row[2],
            "content": mask_personal_data(row[3] or "").text,
            "created_at": row[4],
        }
        for row in reversed(rows)
    ]


def _purge(conn: sqlite3.Connection, before: float) -> dict[str, int]:
    statements = {
        "messages": "DELETE FROM messages WHERE created_at < ?",
        "processed": "DELETE FROM processed WHERE created_at < ?",
        "assessments": "DELETE FROM assessments WHERE created_at < ?",
        "sessions": "DELETE FROM sessions WHERE updated_at < ?",
        "users": "DELETE FROM users WHERE last_seen < ?",
        "deliveries": "DELETE FROM deliveries WHERE created_at < ?",
        "quota_grants": "DELETE FROM quota_grants WHERE expires_at < ?",
    }
    conn.execute("BEGIN IMMEDIATE")
    try:
        counts = {table: conn.execute(sql, (before,)).rowcount for table, sql in statements.items()}
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts
