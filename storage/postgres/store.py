"""The store on PostgreSQL: the same :class:`~storage.interface.StoreBackend`, for several nodes.

Why asyncpg: it speaks PostgreSQL's binary protocol from asyncio directly (no thread, no
libpq), keeps a pool, and prepares every statement once per connection (its statement
cache), so a turn's statements are parsed and planned once, not per message.

What makes several nodes on one database safe is the database, never a process:

* a message key is claimed when the turn commits (``INSERT … ON CONFLICT DO NOTHING`` on
  ``processed``): a retry processed on another node meanwhile finds the row and its reply
  (``DUPLICATE``), so each message is processed once;
* one user's turns never commit in parallel: each turn's transaction first takes a
  transaction-scoped advisory lock on the user, then checks the session's version; a turn
  computed from an older session is refused (``STALE``) and redone on the fresh one, as on
  SQLite (:mod:`storage.turns`);
* the reply swap of a late delivery is a compare-and-swap on the row, and late deliveries
  are counted in the row, so the late-delivery claim holds across nodes.

The in-process caches are the same as SQLite's (:class:`~storage.turns.CachedTurns`): they
only save reads, since every commit is checked in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from ..errors import StoreClosedError
from ..models import Commit, CommitStatus, Session, StoredAssessment, TurnRecord
from ..privacy import mask_personal_data
from ..target import PostgresTarget
from ..turns import CachedTurns, StaleSessionError, TurnsFacade, dumps, loads
from .schema import TOKEN_LOCK, apply_migrations

__all__ = ["PgStore", "open_pg_store"]

def lock_key(name: str) -> int:
    """An advisory lock's second key for a user or an app: the first 32 bits of the md5
    of its name, signed (the schema's ``wxloan_lock_key`` computes the same in SQL)."""
    return int.from_bytes(hashlib.md5(name.encode()).digest()[:4], "big", signed=True)


class PgTurns(CachedTurns):
    """The per-message path on PostgreSQL: one pooled connection per statement or turn."""

    def __init__(self, store: PgStore) -> None:
        super().__init__()
        self._store = store

    async def _fetch_turn(self, msg_key: str, openid: str) -> tuple[str | None, Session | None]:
        async with self._store.connection() as conn:
            reply = await conn.fetchval(
                "SELECT reply FROM processed WHERE msg_key = $1 AND status = 'done'", msg_key
            )
            session = None if reply is not None else await _load_session(conn, openid)
        return reply, session

    async def _commit_turn(self, record: TurnRecord) -> Commit:
        async with self._store.connection() as conn:
            return await _finish_turn(conn, record)

    def _swap_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[tuple[bool, str | None]]:
        return asyncio.ensure_future(self._swap(msg_key, expected, claimed, now))

    async def _swap(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> tuple[bool, str | None]:
        async with self._store.connection() as conn:
            changed = await conn.fetchval(
                "UPDATE processed SET reply = $1, updated_at = $2"
                " WHERE msg_key = $3 AND reply = $4 RETURNING 1",
                claimed, now, msg_key, expected,
            )
            if changed:
                return True, claimed
            current = await conn.fetchval(
                "SELECT reply FROM processed WHERE msg_key = $1 AND status = 'done'", msg_key
            )
            return False, current

    async def _count_late(self, msg_key: str, openid: str, now: float) -> int:
        async with self._store.connection() as conn:
            late = await conn.fetchval(
                "INSERT INTO delivery_attempts (msg_key, openid, late, updated_at)"
                " VALUES ($1, $2, 1, $3) ON CONFLICT (msg_key) DO UPDATE"
                " SET late = delivery_attempts.late + 1, updated_at = excluded.updated_at"
                " RETURNING late",
                msg_key, openid, now,
            )
        return int(late)

    async def _count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        async with self._store.connection() as conn:
            await conn.execute(
                "INSERT INTO delivery_attempts (msg_key, openid, late, duplicates, updated_at)"
                " VALUES ($1, $2, 0, 1, $3) ON CONFLICT (msg_key) DO UPDATE"
                " SET duplicates = delivery_attempts.duplicates + 1,"
                " updated_at = excluded.updated_at",
                msg_key, openid, now,
            )

    async def _fetch_session(self, openid: str) -> Session | None:
        async with self._store.connection() as conn:
            return await _load_session(conn, openid)

    async def _fetch_assessment(self, openid: str) -> StoredAssessment | None:
        async with self._store.connection() as conn:
            row = await conn.fetchrow(
                "SELECT inputs, result, created_at FROM assessments WHERE openid = $1"
                " ORDER BY created_at DESC, id DESC LIMIT 1",
                openid,
            )
        if row is None:
            return None
        return StoredAssessment(loads(row["inputs"] or "{}"), loads(row["result"] or "{}"),
                                float(row["created_at"]))


async def _load_session(conn: asyncpg.Connection, openid: str) -> Session | None:
    row = await conn.fetchrow(
        "SELECT flow, step, slots, pending_pages, updated_at, version FROM sessions"
        " WHERE openid = $1",
        openid,
    )
    if row is None:
        return None
    return Session(
        openid=openid,
        flow=row["flow"],
        step=row["step"],
        slots=loads(row["slots"]) if row["slots"] else {},
        pending_pages=loads(row["pending_pages"]) if row["pending_pages"] else [],
        updated_at=row["updated_at"],
        version=row["version"],
    )


_FINISH_TURN = (
    "SELECT status, stored_reply, new_version FROM wxloan_finish_turn("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
    " $21, $22)"
)


async def _finish_turn(conn: asyncpg.Connection, record: TurnRecord) -> Commit:
    """One turn's writes: one call of the turn function (schema ``pg_0006_finish_turn``),
    one round trip, all or nothing. Personal numbers are masked here, before they leave."""
    session, grants, assessment = record.session, record.grants, record.assessment
    row = await conn.fetchrow(
        _FINISH_TURN,
        record.msg_key, record.openid, record.now, record.reply,
        record.inbound_type, mask_personal_data(record.inbound_content).text,
        None if record.inbound_meta is None else dumps(record.inbound_meta),
        [out.msg_type for out in record.outbound],
        [mask_personal_data(out.content).text for out in record.outbound],
        session is not None,
        None if session is None else session.flow,
        None if session is None else session.step,
        None if session is None else dumps(session.slots),
        None if session is None else dumps(session.pending_pages),
        record.expected_version,
        None if record.profile is None else dumps(record.profile),
        [g.app_id for g in grants], [g.kind for g in grants],
        [float(g.seconds) for g in grants], [g.allowance for g in grants],
        None if assessment is None else dumps(assessment[0]),
        None if assessment is None else dumps(assessment[1]),
    )
    status = row["status"]
    if status == "duplicate":
        return Commit(CommitStatus.DUPLICATE, row["stored_reply"])
    if status == "stale":
        raise StaleSessionError(record.openid)
    return Commit(CommitStatus.COMMITTED, version=row["new_version"])


class PgStore(TurnsFacade):
    """The :class:`~storage.interface.StoreBackend` on PostgreSQL (open with
    :func:`open_pg_store`; close with :meth:`close`)."""

    def __init__(self, target: PostgresTarget, *, pool_size: int = 10,
                 connect_timeout: float = 5.0) -> None:
        self.target = target
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.applied_migrations: list[str] = []
        self._pool: asyncpg.Pool | None = None
        self._turns = PgTurns(self)

    # -- plumbing -------------------------------------------------------------------

    async def open(self) -> None:
        """Connect the pool and apply pending migrations (under the migration lock)."""
        self._pool = await asyncpg.create_pool(
            self.target.url, min_size=1, max_size=self.pool_size,
            timeout=self.connect_timeout,
        )
        async with self._pool.acquire() as conn:
            self.applied_migrations = await apply_migrations(conn)

    async def close(self) -> None:
        """Wait for the connections in use, then close the pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def connection(self) -> Any:
        """A pooled connection (``async with``).

        :raises StoreClosedError: the store is not open.
        """
        if self._pool is None:
            raise StoreClosedError(self.target.redacted())
        return self._pool.acquire()

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        async with self.connection() as conn:
            return bool(await conn.fetchval("SELECT 1") == 1)

    # -- outbound: tokens, quota ledger, deliveries ------------------------------------

    def token_refresh(self, app_id: str) -> AbstractAsyncContextManager[None]:
        """Held while this process refreshes ``app_id``'s token: one refresh in flight
        across every node (a session-level advisory lock, on a connection of its own)."""
        return self._token_lock(app_id)

    @contextlib.asynccontextmanager
    async def _token_lock(self, app_id: str) -> AsyncIterator[None]:
        # A connection of its own, outside the pool: the refresh reads and writes the
        # token through the pool meanwhile, and a pool of one would wait for itself.
        # (A refresh is rare: once in two hours per app.)
        if self._pool is None:
            raise StoreClosedError(self.target.redacted())
        conn = await asyncpg.connect(self.target.url, timeout=self.connect_timeout)
        try:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", TOKEN_LOCK, lock_key(app_id))
            yield  # the session ends with the connection, and the lock with it
        finally:
            await conn.close()

    async def get_token(self, app_id: str) -> tuple[str, float] | None:
        """The cached access token of ``app_id`` and when it expires, if any."""
        async with self.connection() as conn:
            row = await conn.fetchrow(
                "SELECT token, expires_at FROM access_tokens WHERE app_id = $1", app_id
            )
        return None if row is None else (str(row["token"]), float(row["expires_at"]))

    async def save_token(self, app_id: str, token: str, expires_at: float, now: float) -> None:
        """Cache an access token for every node sharing this database."""
        async with self.connection() as conn:
            await conn.execute(
                "INSERT INTO access_tokens (app_id, token, expires_at, updated_at)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (app_id) DO UPDATE SET"
                " token = excluded.token, expires_at = excluded.expires_at,"
                " updated_at = excluded.updated_at",
                app_id, token, expires_at, now,
            )

    async def grant_quota(
        self, app_id: str, openid: str, kind: str, now: float, allowance: int, ttl: float
    ) -> None:
        """Record a window in which ``allowance`` messages may be sent to ``openid``."""
        async with self.connection() as conn:
            await conn.execute(
                "INSERT INTO quota_grants (app_id, openid, kind, granted_at, expires_at,"
                " allowance, used) VALUES ($1, $2, $3, $4, $5, $6, 0)",
                app_id, openid, kind, now, now + ttl, allowance,
            )

    async def consume_quota(self, app_id: str, openid: str, now: float) -> str | None:
        """Use one message of the soonest-expiring open window; its kind, or None if none.

        One statement: the window's row is locked (``FOR UPDATE``) and ``used < allowance``
        is checked again on the locked row, so two nodes never spend its last message twice.
        """
        async with self.connection() as conn:
            kind = await conn.fetchval(
                "UPDATE quota_grants SET used = used + 1 WHERE id = (SELECT id FROM"
                " quota_grants WHERE app_id = $1 AND openid = $2 AND expires_at > $3"
                " AND used < allowance ORDER BY expires_at, id LIMIT 1 FOR UPDATE)"
                " AND used < allowance RETURNING kind",
                app_id, openid, now,
            )
        return None if kind is None else str(kind)

    async def refund_quota(self, app_id: str, openid: str, kind: str, now: float) -> None:
        """Give back a message that WeChat refused (it did not count)."""
        async with self.connection() as conn:
            await conn.execute(
                "UPDATE quota_grants SET used = used - 1 WHERE id = (SELECT id FROM"
                " quota_grants WHERE app_id = $1 AND openid = $2 AND kind = $3 AND used > 0"
                " AND expires_at > $4 ORDER BY expires_at, id LIMIT 1 FOR UPDATE)",
                app_id, openid, kind, now,
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
        """Log one outbound attempt; a sent message also goes to ``messages`` as ``out``."""
        async with self.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO deliveries (app_id, openid, msg_key, msg_type, status, errcode,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                app_id, openid, msg_key, msg_type, status, errcode, now,
            )
            if status == "sent" and log_message:
                await conn.execute(
                    "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
                    " VALUES ($1, 'out', $2, $3, $4)",
                    openid, msg_type, mask_personal_data(content).text, now,
                )


async def open_pg_store(target: PostgresTarget, *, pool_size: int = 10,
                        connect_timeout: float = 5.0) -> PgStore:
    """Open (migrating if needed) the PostgreSQL database ``target`` names."""
    store = PgStore(target, pool_size=pool_size, connect_timeout=connect_timeout)
    try:
        await store.open()
    except BaseException:
        await store.close()
        raise
    return store
