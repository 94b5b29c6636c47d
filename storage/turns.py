"""The per-message path: read a turn, commit it, claim a late reply; the in-process caches.

What :class:`~wxloan.storage.store.Store` does for every inbound message, on the
:class:`~.engine.Engine` (whose docstring explains the writer thread, the group commit and
why these reads are queued to the writer rather than run on the event loop):

* **De-duplication and session updates are atomic in SQLite, not only in memory.** The
  message key is inserted when the turn is written (``INSERT … ON CONFLICT DO NOTHING``),
  so the claim on a message is taken at commit: if another worker process stored it
  first, its reply wins and ours is discarded. Each session carries a version; a turn
  computed from an older version than the stored one is refused (``STALE``) and redone on
  the fresh session. So several worker processes on one database file process each
  message once and never lose a session update.
"""

from __future__ import annotations

import asyncio
import dataclasses
from abc import ABC, abstractmethod
import json
import sqlite3
from collections import OrderedDict
from typing import Any, Generic, TypeVar

import orjson

from .engine import Engine
from .models import (
    Claim,
    ClaimStatus,
    Commit,
    CommitStatus,
    Session,
    StoredAssessment,
    TurnRecord,
)
from .privacy import mask_personal_data

__all__ = [
    "RECENT_KEYS_SIZE", "SESSION_CACHE_SIZE", "CachedTurns", "StaleSessionError", "Turns",
    "TurnsFacade", "dumps",
    "loads",
]

#: Sessions and recently answered message keys kept in memory per process (LRU). The
#: cache only saves reads: every commit is still checked in SQLite (key and version), so a
#: stale entry (another worker moved on) costs one redo, never a wrong answer.
SESSION_CACHE_SIZE = 4_000
RECENT_KEYS_SIZE = 10_000

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: K) -> V | None:
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)


def _copy(session: Session | None) -> Session | None:
    """A copy the caller may change without touching the cached one."""
    if session is None:
        return None
    return dataclasses.replace(
        session, slots=dict(session.slots), pending_pages=list(session.pending_pages)
    )


class CachedTurns(ABC):
    """The per-message path of a store, with its caches (one per process).

    The caches and the order of cache and database updates are the same for every engine;
    a subclass supplies the database side (:class:`Turns` for SQLite, ``PgTurns`` for
    PostgreSQL), each turn's writes all-or-nothing and refused (:class:`StaleSessionError`)
    when the session's version moved on.
    """

    def __init__(self) -> None:
        self._sessions: _Lru[str, Session | None] = _Lru(SESSION_CACHE_SIZE)
        self._recent: _Lru[str, str] = _Lru(RECENT_KEYS_SIZE)

    # -- the database side ------------------------------------------------------------

    @abstractmethod
    async def _fetch_turn(self, msg_key: str, openid: str) -> tuple[str | None, Session | None]:
        """The stored reply of ``msg_key`` (if answered) and the session of ``openid``."""

    @abstractmethod
    async def _commit_turn(self, record: TurnRecord) -> Commit:
        """Write the turn (or report ``DUPLICATE``); raise :class:`StaleSessionError`."""

    @abstractmethod
    def _swap_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[tuple[bool, str | None]]:
        """Start the compare-and-swap of the stored reply: (swapped, the reply stored now)."""

    @abstractmethod
    async def _count_late(self, msg_key: str, openid: str, now: float) -> int:
        """Count one late delivery of ``msg_key``; how many there have been."""

    @abstractmethod
    async def _count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        """Count one repeated delivery of ``msg_key``."""

    @abstractmethod
    async def _fetch_session(self, openid: str) -> Session | None:
        """The stored session of ``openid``."""

    @abstractmethod
    async def _fetch_assessment(self, openid: str) -> StoredAssessment | None:
        """The user's most recent assessment."""

    # -- the per-message path -----------------------------------------------------------

    async def read_turn(self, msg_key: str, openid: str) -> Claim:
        """Look up ``msg_key``; if it is new, also the user's session.

        Served from the in-process cache when possible, else read from the database.

        :returns: ``DONE`` with the stored reply, or ``NEW`` with the session (or None).
        """
        reply = self._recent.get(msg_key)
        if reply is not None:
            return Claim(ClaimStatus.DONE, reply=reply)
        if openid in self._sessions:
            return Claim(ClaimStatus.NEW, session=_copy(self._sessions.get(openid)))
        reply, session = await self._fetch_turn(msg_key, openid)
        if reply is not None:
            self._recent.put(msg_key, reply)
            return Claim(ClaimStatus.DONE, reply=reply)
        self._sessions.put(openid, _copy(session))
        return Claim(ClaimStatus.NEW, session=session)

    async def finish_turn(self, record: TurnRecord) -> Commit:
        """Store the reply, message log, session and profile atomically.

        :returns: ``COMMITTED``; ``DUPLICATE`` with the reply another worker stored first;
            or ``STALE`` when the session changed since it was read (redo the turn).
        """
        try:
            commit = await self._commit_turn(record)
        except StaleSessionError:
            self._sessions.pop(record.openid)
            return Commit(CommitStatus.STALE)
        if commit.status is CommitStatus.DUPLICATE:
            self._sessions.pop(record.openid)  # another worker is ahead of us
            if commit.reply is not None:
                self._recent.put(record.msg_key, commit.reply)
            return commit
        self._recent.put(record.msg_key, record.reply)
        if record.session is None:
            self._sessions.put(record.openid, None)
        else:
            stored = dataclasses.replace(
                record.session, updated_at=record.now, version=commit.version,
                slots=dict(record.session.slots), pending_pages=list(record.session.pending_pages),
            )
            self._sessions.put(record.openid, stored)
        return commit

    def claim_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[bool]:
        """Swap the stored reply ``expected`` for ``claimed`` unless someone changed it.

        Called synchronously (the in-process cache changes before this returns, so a
        retry arriving on this loop right after sees ``claimed``); the returned future
        says whether the database row still held ``expected`` and now holds ``claimed``.
        Every worker and node reads the row, so once the future is True no retry anywhere
        gets ``expected`` any more.
        """
        self._recent.put(msg_key, claimed)
        swapped = self._swap_reply(msg_key, expected, claimed, now)
        result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def settled(done: asyncio.Future[tuple[bool, str | None]]) -> None:
            if done.cancelled() or done.exception() is not None:
                self._recent.put(msg_key, expected)  # rolled back: the row is unchanged
                error = None if done.cancelled() else done.exception()
                if not result.done():
                    result.set_exception(error or asyncio.CancelledError())
                return
            changed, current = done.result()
            if not changed:  # the row says otherwise: remember what it says
                if current is None:
                    self._recent.pop(msg_key)
                else:
                    self._recent.put(msg_key, current)
            if not result.done():
                result.set_result(changed)

        swapped.add_done_callback(settled)
        return result

    async def count_late_delivery(self, msg_key: str, openid: str, now: float) -> int:
        """Count one more delivery of ``msg_key`` that reached the deadline unanswered.

        :returns: how many such deliveries there have been, this one included.
        """
        return await self._count_late(msg_key, openid, now)

    async def count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        """Count one more delivery of ``msg_key`` answered from its first turn."""
        await self._count_duplicate(msg_key, openid, now)

    async def load_session(self, openid: str) -> Session | None:
        """The stored session of ``openid``, read from the database (bypasses the cache)."""
        session = await self._fetch_session(openid)
        self._sessions.put(openid, _copy(session))
        return session

    async def last_assessment(self, openid: str) -> StoredAssessment | None:
        """The user's most recent assessment (a verdict or a card), if any."""
        return await self._fetch_assessment(openid)


class TurnsFacade:
    """The per-message methods of a store, handed to its :class:`CachedTurns` (``_turns``):
    the same six on every engine's store, so each store only says which turns it has."""

    _turns: CachedTurns

    async def read_turn(self, msg_key: str, openid: str) -> Claim:
        """Look up ``msg_key``; if it is new, also the user's session."""
        return await self._turns.read_turn(msg_key, openid)

    async def finish_turn(self, record: TurnRecord) -> Commit:
        """Store the reply, message log, session and profile atomically."""
        return await self._turns.finish_turn(record)

    def claim_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[bool]:
        """Swap the stored reply ``expected`` for ``claimed`` unless someone changed it."""
        return self._turns.claim_reply(msg_key, expected, claimed, now)

    async def count_late_delivery(self, msg_key: str, openid: str, now: float) -> int:
        """Count one more delivery of ``msg_key`` that reached the deadline unanswered."""
        return await self._turns.count_late_delivery(msg_key, openid, now)

    async def count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        """Count one more delivery of ``msg_key`` answered from its first turn."""
        await self._turns.count_duplicate(msg_key, openid, now)

    async def load_session(self, openid: str) -> Session | None:
        """The stored session of ``openid``, read from the database (bypasses the cache)."""
        return await self._turns.load_session(openid)

    async def last_assessment(self, openid: str) -> StoredAssessment | None:
        """The user's most recent assessment, if any."""
        return await self._turns.last_assessment(openid)


class Turns(CachedTurns):
    """The per-message path on SQLite: reads and writes queued to the engine's writer."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine

    async def _fetch_turn(self, msg_key: str, openid: str) -> tuple[str | None, Session | None]:
        return await self._engine.query(
            lambda conn: (_stored_reply(conn, msg_key), _load_session(conn, openid))
        )

    async def _commit_turn(self, record: TurnRecord) -> Commit:
        return await self._engine.write(lambda conn: _finish_turn(conn, record))

    def _swap_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[tuple[bool, str | None]]:
        return self._engine.submit(
            lambda conn: _swap_reply(conn, msg_key, expected, claimed, now), write=True
        )

    async def _count_late(self, msg_key: str, openid: str, now: float) -> int:
        return await self._engine.write(lambda conn: _count_late(conn, msg_key, openid, now))

    async def _count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        await self._engine.write(lambda conn: _count_duplicate(conn, msg_key, openid, now))

    async def _fetch_session(self, openid: str) -> Session | None:
        return await self._engine.read_or_query(lambda conn: _load_session(conn, openid))

    async def _fetch_assessment(self, openid: str) -> StoredAssessment | None:
        return await self._engine.read_or_query(lambda conn: _last_assessment(conn, openid))


# -- SQL, run on the engine's connections ---------------------------------------------


def _last_assessment(conn: sqlite3.Connection, openid: str) -> StoredAssessment | None:
    row = conn.execute(
        "SELECT inputs, result, created_at FROM assessments WHERE openid = ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (openid,),
    ).fetchone()
    if row is None:
        return None
    inputs, result, created_at = row
    return StoredAssessment(json.loads(inputs or "{}"), json.loads(result or "{}"),
                            float(created_at))


def _load_session(conn: sqlite3.Connection, openid: str) -> Session | None:
    row = conn.execute(
        "SELECT flow, step, slots, pending_pages, updated_at, version FROM sessions"
        " WHERE openid = ?",
        (openid,),
    ).fetchone()
    if row is None:
        return None
    flow, step, slots, pages, updated_at, version = row
    return Session(
        openid=openid,
        flow=flow,
        step=step,
        slots=orjson.loads(slots) if slots else {},
        pending_pages=orjson.loads(pages) if pages else [],
        updated_at=updated_at,
        version=version,
    )


def _stored_reply(conn: sqlite3.Connection, msg_key: str) -> str | None:
    row = conn.execute(
        "SELECT reply FROM processed WHERE msg_key = ? AND status = 'done'", (msg_key,)
    ).fetchone()
    return None if row is None else str(row[0])


def _swap_reply(
    conn: sqlite3.Connection, msg_key: str, expected: str, claimed: str, now: float
) -> tuple[bool, str | None]:
    """Compare and swap the stored reply; (swapped, the reply stored now)."""
    changed = conn.execute(
        "UPDATE processed SET reply = ?, updated_at = ? WHERE msg_key = ? AND reply = ?",
        (claimed, now, msg_key, expected),
    ).rowcount
    return (True, claimed) if changed else (False, _stored_reply(conn, msg_key))


def _count_late(conn: sqlite3.Connection, msg_key: str, openid: str, now: float) -> int:
    row = conn.execute(
        "INSERT INTO delivery_attempts (msg_key, openid, late, updated_at) VALUES (?, ?, 1, ?)"
        " ON CONFLICT(msg_key) DO UPDATE SET late = late + 1, updated_at = excluded.updated_at"
        " RETURNING late",
        (msg_key, openid, now),
    ).fetchone()
    return int(row[0])


def _count_duplicate(conn: sqlite3.Connection, msg_key: str, openid: str, now: float) -> None:
    conn.execute(
        "INSERT INTO delivery_attempts (msg_key, openid, late, duplicates, updated_at)"
        " VALUES (?, ?, 0, 1, ?) ON CONFLICT(msg_key) DO UPDATE"
        " SET duplicates = duplicates + 1, updated_at = excluded.updated_at",
        (msg_key, openid, now),
    )


#: The session codec: the JSON ``json.dumps(value, ensure_ascii=False, separators=(",", ":"),
#: default=str)`` wrote, ~10x faster (orjson). Dates, datetimes and dataclasses still go
#: through ``str`` as before, and non-string keys become strings, as ``json`` makes them.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def dumps(value: Any) -> str:
    """``value`` as the compact JSON every store keeps in its text columns."""
    return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS).decode()


#: the codec's reading side
loads = orjson.loads


class StaleSessionError(Exception):
    """The session moved on since it was read: raised inside the turn's transaction (or
    savepoint), so that the message key is rolled back with everything else."""


def _finish_turn(conn: sqlite3.Connection, record: TurnRecord) -> Commit:
    """One turn's writes; runs inside the writer's savepoint (all or nothing)."""
    now = record.now
    inserted = conn.execute(
        "INSERT INTO processed (msg_key, openid, status, reply, created_at, updated_at)"
        " VALUES (?, ?, 'done', ?, ?, ?) ON CONFLICT(msg_key) DO NOTHING",
        (record.msg_key, record.openid, record.reply, now, now),
    ).rowcount
    if not inserted:
        return Commit(CommitStatus.DUPLICATE, _stored_reply(conn, record.msg_key))
    row = conn.execute(
        "SELECT version FROM sessions WHERE openid = ?", (record.openid,)
    ).fetchone()
    current = None if row is None else int(row[0])
    if current != record.expected_version:
        raise StaleSessionError(record.openid)
    profile = None if record.profile is None else dumps(record.profile)
    conn.execute(
        "INSERT INTO users (openid, first_seen, last_seen, profile) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(openid) DO UPDATE SET last_seen = excluded.last_seen,"
        " profile = COALESCE(excluded.profile, users.profile)",
        (record.openid, now, now, profile),
    )
    meta = None if record.inbound_meta is None else dumps(record.inbound_meta)
    rows = [
        (record.openid, "in", record.inbound_type,
         mask_personal_data(record.inbound_content).text, now, meta)
    ]
    rows.extend(
        (record.openid, "out", out.msg_type, mask_personal_data(out.content).text, now, None)
        for out in record.outbound
    )
    conn.executemany(
        "INSERT INTO messages (openid, direction, msg_type, content, created_at, meta)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    session = record.session
    if session is None:
        conn.execute("DELETE FROM sessions WHERE openid = ?", (record.openid,))
    else:
        conn.execute(
            "INSERT OR REPLACE INTO sessions (openid, flow, step, slots, pending_pages,"
            " updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.openid,
                session.flow,
                session.step,
                dumps(session.slots),
                dumps(session.pending_pages),
                now,
                (current or 0) + 1,
            ),
        )
    conn.executemany(
        "INSERT INTO quota_grants (app_id, openid, kind, granted_at, expires_at, allowance,"
        " used) VALUES (?, ?, ?, ?, ?, ?, 0)",
        [(g.app_id, record.openid, g.kind, now, now + g.seconds, g.allowance)
         for g in record.grants],
    )
    if record.assessment is not None:
        inputs, result = record.assessment
        conn.execute(
            "INSERT INTO assessments (openid, inputs, result, created_at) VALUES (?, ?, ?, ?)",
            (record.openid, dumps(inputs), dumps(result), now),
        )
    return Commit(CommitStatus.COMMITTED, version=None if session is None else (current or 0) + 1)
