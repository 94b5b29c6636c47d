"""The asynchronous store: one façade over the SQLite file, composed of one module per job.

* :mod:`.engine` — the writer thread, group commits, savepoints, the cross-process
  ``flock`` on ``<db>.writelock``; why writes *and* the per-message reads go through it.
* :mod:`.turns` — the per-message path (read a turn, commit it, claim a reply, count late
  deliveries) and its caches; why de-duplication and session updates are atomic in SQLite
  (the claim is taken at commit, sessions carry versions).
* :mod:`.ledger` — outbound: access tokens, the quota ledger, deliveries.
* :mod:`.reports` — health and operator reads; :class:`ReadOnlyStore`.

:class:`Store` only composes them; :class:`~.interface.StoreBackend` is the typed seam
the rest of the program relies on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .engine import Engine
from .ledger import Ledger
from .models import Claim, Commit, Session, TurnRecord
from .privacy import mask_personal_data
from .turns import Turns

__all__ = ["DayStats", "ReadOnlyStore", "Store", "StoreStats", "open_store"]

T = TypeVar("T")

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


class Store:
    """Async façade over the wxloan SQLite file.

    Create with :func:`open_store`; close with :meth:`close`. Writes run on the writer
    thread in group commits; the per-message lookups run inline on a read-only connection.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine = Engine(path)
        self.applied_migrations: list[str] = []
        self._turns = Turns(self._engine)
        self._ledger = Ledger(self._engine)

    # -- plumbing -------------------------------------------------------------------

    async def open(self) -> None:
        """Start the writer (creating and migrating the file), then open the reader."""
        await self._engine.open()
        self.applied_migrations = self._engine.applied_migrations

    async def close(self) -> None:
        """Finish queued writes, stop the writer and close both connections."""
        await self._engine.close()

    # -- the per-message path (storage/turns.py) ------------------------------------

    async def read_turn(self, msg_key: str, openid: str) -> Claim:
        """Look up ``msg_key``; if it is new, also the user's session."""
        return await self._turns.read_turn(msg_key, openid)

    async def finish_turn(self, record: TurnRecord) -> Commit:
        """Store the reply, message log, session and profile atomically, in a group commit."""
        return await self._turns.finish_turn(record)

    async def store_reply(self, msg_key: str, reply: str, now: float) -> None:
        """Replace the stored reply of ``msg_key`` (e.g. ``success`` once pushed by API)."""
        await self._turns.store_reply(msg_key, reply, now)

    def claim_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[bool]:
        """Swap the stored reply ``expected`` for ``claimed`` unless someone changed it."""
        return self._turns.claim_reply(msg_key, expected, claimed, now)

    async def count_late_delivery(self, msg_key: str, openid: str, now: float) -> int:
        """Count one more delivery of ``msg_key`` that reached the deadline unanswered."""
        return await self._turns.count_late_delivery(msg_key, openid, now)

    async def clear_session(self, openid: str) -> None:
        """Delete the user's dialogue state."""
        await self._turns.clear_session(openid)

    async def load_session(self, openid: str) -> Session | None:
        """The stored session of ``openid``, read from the database (bypasses the cache)."""
        return await self._turns.load_session(openid)

    # -- outbound: tokens, quota ledger, deliveries (storage/ledger.py) ---------------

    async def get_token(self, app_id: str) -> tuple[str, float] | None:
        """The cached access token of ``app_id`` and when it expires, if any."""
        return await self._ledger.get_token(app_id)

    async def save_token(self, app_id: str, token: str, expires_at: float, now: float) -> None:
        """Cache an access token for every worker sharing this database."""
        await self._ledger.save_token(app_id, token, expires_at, now)

    async def grant_quota(
        self, app_id: str, openid: str, kind: str, now: float, allowance: int, ttl: float
    ) -> None:
        """Record a window in which ``allowance`` messages may be sent to ``openid``."""
        await self._ledger.grant_quota(app_id, openid, kind, now, allowance, ttl)

    async def consume_quota(self, app_id: str, openid: str, now: float) -> str | None:
        """Use one message of the soonest-expiring open window; its kind, or None if none."""
        return await self._ledger.consume_quota(app_id, openid, now)

    async def refund_quota(self, app_id: str, openid: str, kind: str, now: float) -> None:
        """Give back a message that WeChat refused (it did not count)."""
        await self._ledger.refund_quota(app_id, openid, kind, now)

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
        """Log one outbound attempt; a sent message also goes to ``messages`` as ``out``."""
        await self._ledger.record_delivery(
            app_id=app_id, openid=openid, msg_key=msg_key, msg_type=msg_type, content=content,
            status=status, errcode=errcode, now=now, log_message=log_message,
        )

    async def deliveries(self, openid: str) -> list[dict[str, Any]]:
        """Outbound attempts for ``openid``, oldest first."""
        return await self._ledger.deliveries(openid)

    # -- operator queries -----------------------------------------------------------

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return bool(self._engine.read().execute("SELECT 1").fetchone() == (1,))

    async def stats(self, days: int = 14, now: float | None = None) -> StoreStats:
        """Totals and the last ``days`` days of activity."""
        since = (now if now is not None else time.time()) - days * 86400
        return await self._engine.query(lambda conn: _stats(conn, since))

    async def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (already masked at write)."""
        return await self._engine.query(lambda conn: _transcript(conn, openid, limit))

    async def purge(self, before: float) -> dict[str, int]:
        """Delete everything older than ``before`` (unix seconds); return rows per table.

        In short batches on a connection of its own, off the event loop, taking the writer
        lock per batch (see :mod:`storage.retention`): this store's group commits, and
        other processes', go on in between.
        """
        deleted = await asyncio.to_thread(_purge, self.path, before)
        # Sessions and replies just deleted must not be served from memory.
        self._turns.forget()
        return deleted

async def open_store(path: Path) -> Store:
    """Open (creating and migrating if needed) the database at ``path``."""
    store = Store(path)
    await store.open()
    return store


class ReadOnlyStore:
    """The operator queries on an existing database, read-only: nothing is created or migrated.

    For ``wxloan stats`` and ``transcript``: a typo in ``--db`` must not leave an empty,
    migrated database behind. Safe next to a running server (WAL readers never block).

    :raises NoDatabaseError: there is no file at ``path``.
    """

    def __init__(self, path: Path) -> None:
        from .errors import NoDatabaseError

        if not path.is_file():
            raise NoDatabaseError(str(path))
        self.path = path
        self._conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        self._conn.execute("PRAGMA busy_timeout=5000")

    def stats(self, days: int = 14, now: float | None = None) -> StoreStats:
        """Totals and the last ``days`` days of activity (as :meth:`Store.stats`)."""
        return _stats(self._conn, (now if now is not None else time.time()) - days * 86400)

    def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (as :meth:`Store.transcript`)."""
        return _transcript(self._conn, openid, limit)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReadOnlyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- SQL, run on the owner thread ------------------------------------------------------


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


def _purge(path: Path, before: float) -> dict[str, int]:
    from .retention import purge  # retention imports nothing from here; keep it that way

    return purge(path, before).deleted
