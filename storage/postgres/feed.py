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

    async def open(self, timeout: float = 10.0) -> None:
        self._pool = await asyncpg.create_pool(self.target.url, min_size=1, max_size=2,
                                               timeout=timeout)
        found = await self._pool.fetchval("SELECT to_regclass('messages') IS NOT NULL")
        if not found:
            await self.close()
            raise NoDatabaseError(self.target.redacted())

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "PgFeed.open() first"
        return self._pool

    async def rows_after(self, last_id: int, limit: int) -> list[FeedRow]:
        """Up to ``limit`` messages with an id above ``last_id``, in id order."""
        rows = await self.pool.fetch(
            "SELECT id, openid, direction, msg_type, content, created_at, meta FROM messages"
            " WHERE id > $1 ORDER BY id LIMIT $2", last_id, limit)
        return [FeedRow(r["id"], r["openid"], r["direction"], r["msg_type"], r["content"],
                        r["created_at"], r["meta"]) for r in rows]

    async def count_upto(self, last_id: int) -> int:
        """How many messages with an id up to ``last_id`` are still stored."""
        return int(await self.pool.fetchval(
            "SELECT count(*) FROM messages WHERE id <= $1", last_id))

    async def duplicates_per_day(self) -> dict[int, int]:
        """Repeated deliveries per day number (CST days since the epoch)."""
        rows = await self.pool.fetch(
            f"SELECT floor((updated_at + {CST_OFFSET}) / 86400)::bigint AS day,"
            " sum(duplicates) AS n FROM delivery_attempts WHERE duplicates > 0 GROUP BY 1")
        return {int(r["day"]): int(r["n"]) for r in rows}

    async def conversation(self, openid: str, limit: int) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first, masked again on read."""
        rows = await self.pool.fetch(
            "SELECT id, direction, msg_type, content, created_at, meta FROM messages"
            " WHERE openid = $1 ORDER BY id DESC LIMIT $2", openid, limit)
        return [{"id": r["id"], "direction": r["direction"], "msg_type": r["msg_type"],
                 "content": mask_personal_data(r["content"] or "").text,
                 "created_at": r["created_at"], "meta": r["meta"]} for r in reversed(rows)]

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
