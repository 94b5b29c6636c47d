"""The message log as a feed on PostgreSQL, for the dashboard (as :mod:`storage.feed`).

A small pool of its own; reads only, never creates or migrates anything.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from ..errors import NoDatabaseError
from ..feed import CST_OFFSET, FeedRow
from ..privacy import mask_personal_data
from ..target import PostgresTarget

__all__ = ["PgFeed"]


class PgFeed:
    """The feed on a PostgreSQL database; open with :meth:`open`.

    :raises NoDatabaseError: (from :meth:`open`) the database has no wxloan tables.
    """

    def __init__(self, target: PostgresTarget) -> None:
        self.target = target
        self._pool: asyncpg.Pool | None = None
        self._meta = "NULL"
        self._has_duplicates = False

    async def open(self, timeout: float = 10.0) -> None:
        # every transaction read-only: a second guard behind "the dashboard never writes"
        self._pool = await asyncpg.create_pool(
            self.target.url, min_size=1, max_size=2, timeout=timeout,
            server_settings={"default_transaction_read_only": "on"})
        found = await self._pool.fetchval("SELECT to_regclass('messages') IS NOT NULL")
        if not found:
            await self.close()
            raise NoDatabaseError(self.target.redacted())
        await self._read_schema()

    async def _read_schema(self) -> None:
        """Which columns the schema has (``serve`` may migrate it while we read)."""
        rows = await self.pool.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND table_name IN ('messages', 'delivery_attempts')")
        columns = {(r["table_name"], r["column_name"]) for r in rows}
        self._meta = "meta" if ("messages", "meta") in columns else "NULL"
        self._has_duplicates = ("delivery_attempts", "duplicates") in columns

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "PgFeed.open() first"
        return self._pool

    async def rows_after(self, last_id: int, limit: int) -> list[FeedRow]:
        """Up to ``limit`` messages with an id above ``last_id``, in id order."""
        if self._meta == "NULL" or not self._has_duplicates:
            await self._read_schema()
        rows = await self.pool.fetch(
            "SELECT id, openid, direction, msg_type, content, created_at,"
            f" {self._meta} AS meta FROM messages WHERE id > $1 ORDER BY id LIMIT $2",
            last_id, limit)
        return [_row(r) for r in rows]

    async def rows_with_ids(self, ids: list[int]) -> list[FeedRow]:
        """The messages among ``ids`` that exist now: ids are taken before a turn commits,
        so two nodes' turns can commit out of id order and a read can pass one by."""
        if not ids:
            return []
        rows = await self.pool.fetch(
            "SELECT id, openid, direction, msg_type, content, created_at,"
            f" {self._meta} AS meta FROM messages WHERE id = ANY($1::bigint[]) ORDER BY id",
            ids)
        return [_row(r) for r in rows]

    async def count_reused(self, last_id: int, newest: float) -> int:
        """Always 0: PostgreSQL never hands out an identity value twice."""
        return 0

    async def count_upto(self, last_id: int) -> int:
        """How many messages with an id up to ``last_id`` are still stored."""
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM messages WHERE id <= $1", last_id))

    async def duplicates_per_day(self) -> dict[int, int]:
        """Repeated deliveries per day number (CST days since the epoch)."""
        if not self._has_duplicates:
            return {}
        rows = await self.pool.fetch(
            f"SELECT floor((updated_at + {CST_OFFSET}) / 86400)::bigint AS day,"
            " sum(duplicates) AS n FROM delivery_attempts WHERE duplicates > 0 GROUP BY 1")
        return {int(r["day"]): int(r["n"]) for r in rows}

    async def conversation(self, openid: str, limit: int) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first, masked again on read."""
        rows = await self.pool.fetch(
            f"SELECT id, direction, msg_type, content, created_at, {self._meta} AS meta"
            " FROM messages WHERE openid = $1 ORDER BY id DESC LIMIT $2", openid, limit)
        return [{"id": r["id"], "direction": r["direction"], "msg_type": r["msg_type"],
                 "content": mask_personal_data(r["content"] or "").text,
                 "created_at": r["created_at"], "meta": r["meta"]} for r in reversed(rows)]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _row(r: asyncpg.Record) -> FeedRow:
    return FeedRow(r["id"], r["openid"], r["direction"], r["msg_type"], r["content"],
                   r["created_at"], r["meta"])
