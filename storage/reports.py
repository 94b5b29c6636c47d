"""Health and operator reads: ``ping``, per-day statistics, transcripts, the purge.

:class:`Reports` runs them for the live :class:`~wxloan.storage.store.Store` (long reads
on the writer thread, outside any transaction, so they never wait on the event loop);
:class:`ReadOnlyStore` runs the same statistics and transcript SQL on an existing file for
``wxloan stats`` and ``wxloan transcript``, and never creates or migrates one. The purge
itself is :mod:`.retention` (short batches under the writers' ``flock``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import Engine
from .errors import NoDatabaseError, NoMetaError
from .privacy import mask_personal_data

__all__ = [
    "Activity",
    "DayStats",
    "FlowFunnel",
    "LoggedMessage",
    "ReadOnlyStore",
    "Reports",
    "StoreStats",
]

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
class FlowFunnel:
    """One flow's funnel over a period: users who had a turn in it, users it gave a verdict."""

    flow: str
    started: int
    reached_verdict: int


@dataclass(frozen=True, slots=True)
class Activity:
    """What the bot did over a period, from each turn's ``meta`` (see the pipeline).

    :param turns: inbound messages processed.
    :param replies: messages sent back (a long answer's later pages included).
    :param duplicates: repeated deliveries answered from their first turn (WeChat's retries).
    :param late: turns whose reply was ready only after the reply deadline.
    :param errors: turns a handler failed on (answered with an apology).
    :param fallbacks: text messages no feature understood.
    :param scam_warnings: scam answers, by the pattern they named.
    :param handoffs: hand-offs to a person started.
    :param funnel: per flow, users who started it and users who reached a verdict in it.
    """

    turns: int
    replies: int
    duplicates: int
    late: int
    errors: int
    fallbacks: int
    scam_warnings: dict[str, int]
    handoffs: int
    funnel: tuple[FlowFunnel, ...]


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Totals and per-day counts for ``wxloan stats``; ``activity`` covers the same days
    (None when the database predates the turn records; ``wxloan serve`` migrates it)."""

    users: int
    messages: int
    assessments: int
    sessions: int
    days: tuple[DayStats, ...]
    activity: Activity | None = None


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One inbound message of the log with what the dialogue made of it (``wxloan nlu review``).

    :param content: the text as logged (masked at write, and masked again on read).
    :param meta: the row's ``meta``: ``intent``, ``confidence``, ``source``, ``fallback``,
        ``clarify`` (see migration ``0005_message_meta``).
    """

    id: int
    openid: str
    content: str
    created_at: float
    meta: dict[str, Any]


class Reports:
    """The health check and operator queries of one live store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return bool(self._engine.read().execute("SELECT 1").fetchone() == (1,))

    async def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (already masked at write)."""
        return await self._engine.query(lambda conn: _transcript(conn, openid, limit))


class ReadOnlyStore:
    """The operator queries on an existing database, read-only: nothing is created or migrated.

    For ``wxloan stats`` and ``transcript``: a typo in ``--db`` must not leave an empty,
    migrated database behind. Safe next to a running server (WAL readers never block).

    :raises NoDatabaseError: there is no file at ``path``.
    """

    def __init__(self, path: Path) -> None:
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

    def openids(self) -> list[str]:
        """Every user's openid (to find one by the log reference the logs name it by)."""
        return [row[0] for row in self._conn.execute("SELECT openid FROM users")]

    def users(self, limit: int) -> list[tuple[str, float, float, int, str | None]]:
        """The ``limit`` users seen last: openid, first and last seen, messages, flow."""
        rows = self._conn.execute(
            "SELECT u.openid, u.first_seen, u.last_seen,"
            " (SELECT COUNT(*) FROM messages m WHERE m.openid = u.openid),"
            " (SELECT flow FROM sessions s WHERE s.openid = u.openid)"
            " FROM users u ORDER BY u.last_seen DESC LIMIT ?", (limit,)).fetchall()
        return [(str(r[0]), float(r[1]), float(r[2]), int(r[3]), r[4]) for r in rows]

    def messages_since(self, since: float) -> list[dict[str, Any]]:
        """Every message at or after ``since``, oldest first, masked again on read."""
        rows = self._conn.execute(
            "SELECT id, openid, direction, msg_type, content, created_at FROM messages"
            " WHERE created_at >= ? ORDER BY id", (since,)).fetchall()
        return [{"id": r[0], "openid": r[1], "direction": r[2], "msg_type": r[3],
                 "content": mask_personal_data(r[4] or "").text, "created_at": r[5]}
                for r in rows]

    def unsure_messages(self, since: float, confidence: float) -> list[LoggedMessage]:
        """Inbound messages since ``since`` that fell to the fallback, got a clarifying
        question or were read with a confidence below ``confidence``; oldest first.

        :raises NoMetaError: the database predates migration ``0005_message_meta`` (a
            read-only store never migrates; ``wxloan serve`` does at start).
        """
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(messages)")}
        if "meta" not in columns:
            raise NoMetaError(str(self.path))
        return _unsure_messages(self._conn, since, confidence)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReadOnlyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- SQL ------------------------------------------------------------------------------


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
        activity=_activity(conn, since),
    )


#: Flows that never end in a verdict (a hand-off is counted on its own), left out of the funnel.
NO_VERDICT_FLOWS = ("handoff",)


def _activity(conn: sqlite3.Connection, since: float) -> Activity | None:
    def columns(table: str) -> set[str]:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}

    if "meta" not in columns("messages") or "duplicates" not in columns("delivery_attempts"):
        return None
    flag = "COALESCE(SUM(json_extract(meta, '$.{0}')), 0)".format
    turns, late, errors, fallbacks, handoffs = conn.execute(
        f"SELECT COUNT(*), {flag('late')}, {flag('error')}, {flag('fallback')},"
        f" {flag('handoff')} FROM messages WHERE direction = 'in' AND created_at >= ?",
        (since,),
    ).fetchone()
    replies = conn.execute(
        "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND created_at >= ?", (since,)
    ).fetchone()[0]
    duplicates = conn.execute(
        "SELECT COALESCE(SUM(duplicates), 0) FROM delivery_attempts WHERE updated_at >= ?",
        (since,),
    ).fetchone()[0]
    scams = conn.execute(
        "SELECT pattern.value, COUNT(*) FROM messages, json_each(messages.meta, '$.scam')"
        " AS pattern WHERE direction = 'in' AND created_at >= ? AND meta IS NOT NULL"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        (since,),
    ).fetchall()
    funnel = conn.execute(
        "SELECT json_extract(meta, '$.flow') AS flow, COUNT(DISTINCT openid),"
        " COUNT(DISTINCT CASE WHEN json_extract(meta, '$.verdict') THEN openid END)"
        " FROM messages WHERE direction = 'in' AND created_at >= ? AND flow IS NOT NULL"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
        (since,),
    ).fetchall()
    return Activity(
        turns=int(turns), replies=int(replies), duplicates=int(duplicates), late=int(late),
        errors=int(errors), fallbacks=int(fallbacks),
        scam_warnings={str(name): int(n) for name, n in scams}, handoffs=int(handoffs),
        funnel=tuple(FlowFunnel(str(flow), int(started), int(reached))
                     for flow, started, reached in funnel if flow not in NO_VERDICT_FLOWS),
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


def _unsure_messages(
    conn: sqlite3.Connection, since: float, confidence: float
) -> list[LoggedMessage]:
    rows = conn.execute(
        "SELECT id, openid, content, created_at, meta FROM messages"
        " WHERE direction = 'in' AND created_at >= ? AND meta IS NOT NULL"
        " AND (json_extract(meta, '$.fallback') = 1 OR json_extract(meta, '$.clarify') = 1"
        " OR json_extract(meta, '$.confidence') < ?)"
        " ORDER BY id",
        (since, confidence),
    ).fetchall()
    return [
        LoggedMessage(
            id=int(row[0]),
            openid=str(row[1]),
            content=mask_personal_data(row[2] or "").text,
            created_at=float(row[3]),
            meta=json.loads(row[4]),
        )
        for row in rows
    ]
