"""The operator commands on PostgreSQL: ``stats``, ``transcript``, ``nlu review``, ``purge``.

The same answers as SQLite's :class:`~storage.reports.ReadOnlyStore` and
:mod:`storage.retention`, for commands that run once and exit: each opens one connection,
never creates or migrates anything (a database without wxloan's tables is refused), and
keeps its event loop to itself, so the CLI calls it like the SQLite side.

Purging on PostgreSQL needs none of SQLite's lock discipline: a ``DELETE`` takes row locks
only, so the nodes keep answering. It still goes in bounded batches (each its own short
transaction), so that no transaction holds many row locks or a long snapshot. Space comes
back with ``VACUUM``, which runs beside the nodes without blocking them; it makes the space
reusable, and PostgreSQL gives it back to the file system only from the end of a table.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import asyncpg

from ..errors import NoDatabaseError, NoMetaError
from ..privacy import mask_personal_data
from ..reports import (
    NO_VERDICT_FLOWS,
    Activity,
    DayStats,
    FlowFunnel,
    LoggedMessage,
    StoreStats,
)
from ..retention import RULES, PurgeReport
from ..target import PostgresTarget
from ..turns import loads

__all__ = ["PgOperatorStore"]

T = TypeVar("T")

#: Rows per purge batch (a batch is one short transaction).
PURGE_BATCH = 5_000
#: China Standard Time, as the SQLite side's "+8 hours".
_CST = 8 * 3600


class PgOperatorStore:
    """An existing wxloan database on a PostgreSQL server, for the operator commands.

    :raises NoDatabaseError: the database has no wxloan tables (``wxloan serve`` creates
        them); connection errors are asyncpg's and the OS's, as for ``serve``.
    """

    def __init__(self, target: PostgresTarget, *, timeout: float = 10.0) -> None:
        self.target = target
        self._runner = asyncio.Runner()
        try:
            self._conn: asyncpg.Connection = self._run(asyncpg.connect(target.url,
                                                                       timeout=timeout))
        except BaseException:
            self._runner.close()
            raise
        try:
            if not self._run(self._conn.fetchval(
                    "SELECT to_regclass('public.wxloan_migrations') IS NOT NULL")):
                raise NoDatabaseError(target.redacted())
        except BaseException:
            self.close()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    # -- the reports --------------------------------------------------------------------

    def stats(self, days: int = 14, now: float | None = None) -> StoreStats:
        """Totals and the last ``days`` days of activity (days in China time)."""
        return self._run(self._stats((now if now is not None else time.time()) - days * 86400))

    async def _stats(self, since: float) -> StoreStats:
        conn = self._conn
        day = f"to_char(to_timestamp(created_at + {_CST}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        queries = {
            "messages_in": f"SELECT {day}, count(*) FROM messages WHERE direction = 'in'"
            " AND created_at >= $1 GROUP BY 1",
            "messages_out": f"SELECT {day}, count(*) FROM messages WHERE direction = 'out'"
            " AND created_at >= $1 GROUP BY 1",
            "assessments": f"SELECT {day}, count(*) FROM assessments WHERE created_at >= $1"
            " GROUP BY 1",
            "new_users": f"SELECT {day.replace('created_at', 'first_seen')}, count(*)"
            " FROM users WHERE first_seen >= $1 GROUP BY 1",
        }
        per_day: dict[str, dict[str, int]] = {}
        for column, sql in queries.items():
            for name, n in await conn.fetch(sql, since):
                per_day.setdefault(name, {})[column] = n
        days = tuple(
            DayStats(day=name, new_users=c.get("new_users", 0),
                     messages_in=c.get("messages_in", 0), messages_out=c.get("messages_out", 0),
                     assessments=c.get("assessments", 0))
            for name, c in sorted(per_day.items())
        )

        async def count(table: str) -> int:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))

        return StoreStats(users=await count("users"), messages=await count("messages"),
                          assessments=await count("assessments"),
                          sessions=await count("sessions"), days=days,
                          activity=await self._activity(since))

    async def _activity(self, since: float) -> Activity | None:
        """The period's outcomes, understanding, safety and funnel (as the SQLite report);
        None when the schema predates the turn records (``wxloan serve`` migrates it)."""
        conn = self._conn
        present = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND ((table_name = 'messages' AND column_name = 'meta') OR"
            " (table_name = 'delivery_attempts' AND column_name = 'duplicates'))")
        if present < 2:
            return None

        def flag(name: str) -> str:
            return f"count(*) FILTER (WHERE (meta::jsonb ->> '{name}')::boolean)"

        row = await conn.fetchrow(
            f"SELECT count(*) AS turns, {flag('late')} AS late, {flag('error')} AS errors,"
            f" {flag('fallback')} AS fallbacks, {flag('handoff')} AS handoffs"
            " FROM messages WHERE direction = 'in' AND created_at >= $1", since)
        replies = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE direction = 'out' AND created_at >= $1", since)
        duplicates = await conn.fetchval(
            "SELECT COALESCE(sum(duplicates), 0) FROM delivery_attempts WHERE updated_at >= $1",
            since)
        scams = await conn.fetch(
            "SELECT pattern, count(*) AS n FROM messages,"
            " jsonb_array_elements_text(CASE WHEN jsonb_typeof(meta::jsonb -> 'scam')"
            " = 'array' THEN meta::jsonb -> 'scam' ELSE '[]' END) AS pattern"
            " WHERE direction = 'in' AND created_at >= $1 AND meta IS NOT NULL"
            " GROUP BY 1 ORDER BY 2 DESC, 1", since)
        funnel = await conn.fetch(
            "SELECT meta::jsonb ->> 'flow' AS flow, count(DISTINCT openid) AS started,"
            " count(DISTINCT openid) FILTER (WHERE (meta::jsonb ->> 'verdict')::boolean)"
            " AS reached FROM messages WHERE direction = 'in' AND created_at >= $1"
            " AND meta::jsonb ->> 'flow' IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1", since)
        return Activity(
            turns=row["turns"], replies=int(replies), duplicates=int(duplicates),
            late=row["late"], errors=row["errors"], fallbacks=row["fallbacks"],
            scam_warnings={r["pattern"]: r["n"] for r in scams}, handoffs=row["handoffs"],
            funnel=tuple(FlowFunnel(r["flow"], r["started"], r["reached"])
                         for r in funnel if r["flow"] not in NO_VERDICT_FLOWS),
        )

    def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (masked again on read)."""
        rows = self._run(self._conn.fetch(
            "SELECT id, direction, msg_type, content, created_at FROM messages"
            " WHERE openid = $1 ORDER BY id DESC LIMIT $2", openid, limit))
        return [{"id": r["id"], "direction": r["direction"], "msg_type": r["msg_type"],
                 "content": mask_personal_data(r["content"] or "").text,
                 "created_at": r["created_at"]} for r in reversed(rows)]

    def openids(self) -> list[str]:
        """Every user's openid (to find one by the log reference the logs name it by)."""
        return [r["openid"] for r in self._run(self._conn.fetch("SELECT openid FROM users"))]

    def users(self, limit: int) -> list[tuple[str, float, float, int, str | None]]:
        """The ``limit`` users seen last: openid, first and last seen, messages, flow."""
        rows = self._run(self._conn.fetch(
            "SELECT u.openid, u.first_seen, u.last_seen,"
            " (SELECT COUNT(*) FROM messages m WHERE m.openid = u.openid) AS messages,"
            " (SELECT flow FROM sessions s WHERE s.openid = u.openid) AS flow"
            " FROM users u ORDER BY u.last_seen DESC LIMIT $1", limit))
        return [(r["openid"], r["first_seen"], r["last_seen"], int(r["messages"]), r["flow"])
                for r in rows]

    def forget(self, openid: str, tables: tuple[str, ...]) -> dict[str, int]:
        """Delete every row of ``openid`` from ``tables`` in one transaction."""
        return self._run(self._forget(openid, tables))

    async def _forget(self, openid: str, tables: tuple[str, ...]) -> dict[str, int]:
        deleted: dict[str, int] = {}
        async with self._conn.transaction():
            for table in tables:
                status = await self._conn.execute(
                    f"DELETE FROM {table} WHERE openid = $1", openid)
                deleted[table] = int(status.split()[-1])
        return deleted

    def messages_since(self, since: float) -> list[dict[str, Any]]:
        """Every message at or after ``since``, oldest first, masked again on read."""
        rows = self._run(self._conn.fetch(
            "SELECT id, openid, direction, msg_type, content, created_at FROM messages"
            " WHERE created_at >= $1 ORDER BY id", since))
        return [{"id": r["id"], "openid": r["openid"], "direction": r["direction"],
                 "msg_type": r["msg_type"], "content": mask_personal_data(r["content"] or "").text,
                 "created_at": r["created_at"]} for r in rows]

    def unsure_messages(self, since: float, confidence: float) -> list[LoggedMessage]:
        """Inbound messages since ``since`` that fell to the fallback, got a clarifying
        question or were read below ``confidence``; oldest first.

        :raises NoMetaError: the schema predates migration ``0005_message_meta``.
        """
        has_meta = self._run(self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name ="
            " 'messages' AND column_name = 'meta')"))
        if not has_meta:
            raise NoMetaError(self.target.redacted())
        rows = self._run(self._conn.fetch(
            "SELECT id, openid, content, created_at, meta FROM messages"
            " WHERE direction = 'in' AND created_at >= $1 AND meta IS NOT NULL"
            " AND ((meta::jsonb ->> 'fallback')::boolean OR (meta::jsonb ->> 'clarify')::boolean"
            " OR (meta::jsonb ->> 'confidence')::float8 < $2)"
            " ORDER BY id", since, confidence))
        return [LoggedMessage(id=int(r["id"]), openid=str(r["openid"]),
                              content=mask_personal_data(r["content"] or "").text,
                              created_at=float(r["created_at"]), meta=loads(r["meta"]))
                for r in rows]

    # -- retention ------------------------------------------------------------------------

    def plan(self, before: float) -> dict[str, int]:
        """Rows per table older than ``before`` (what :meth:`purge` would delete)."""
        async def counts() -> dict[str, int]:
            return {table: int(await self._conn.fetchval(
                f"SELECT count(*) FROM {table} WHERE {column} < $1", before))
                for table, column in RULES}
        return self._run(counts())

    def purge(self, before: float, *, batch: int = PURGE_BATCH,
              progress: Callable[[str, int, int], None] | None = None,
              totals: dict[str, int] | None = None) -> PurgeReport:
        """Delete every row older than ``before``, table by table, in short transactions."""
        return self._run(self._purge(before, batch, progress, totals or {}))

    async def _purge(self, before: float, batch: int,
                     progress: Callable[[str, int, int], None] | None,
                     totals: dict[str, int]) -> PurgeReport:
        report = PurgeReport()
        started = time.monotonic()
        for table, column in RULES:
            done = 0
            while True:
                held = time.monotonic()
                status = await self._conn.execute(
                    f"DELETE FROM {table} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table}"
                    f" WHERE {column} < $1 LIMIT $2))", before, batch)
                hold = time.monotonic() - held
                deleted = int(status.split()[-1])
                report.batches += 1
                report.holds.append(hold)
                report.max_hold_s = max(report.max_hold_s, hold)
                done += deleted
                if progress is not None:
                    progress(table, done, totals.get(table, done))
                if deleted < batch:
                    break
            report.deleted[table] = done
        report.elapsed_s = time.monotonic() - started
        return report

    def vacuum(self) -> tuple[int, int, float]:
        """``VACUUM (ANALYZE)`` the purged tables: (bytes before, bytes after, seconds)."""
        async def run() -> tuple[int, int, float]:
            size = "SELECT sum(pg_total_relation_size(t::regclass))::bigint FROM unnest($1::text[]) t"
            tables = [table for table, _ in RULES]
            before = int(await self._conn.fetchval(size, tables))
            started = time.monotonic()
            for table in tables:
                await self._conn.execute(f"VACUUM (ANALYZE) {table}")
            return before, int(await self._conn.fetchval(size, tables)), time.monotonic() - started
        return self._run(run())

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        try:
            self._run(self._conn.close())
        finally:
            self._runner.close()

    def __enter__(self) -> PgOperatorStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
