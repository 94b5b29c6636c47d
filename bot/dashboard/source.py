"""Keeps the dashboard's :class:`~.analytics.Analytics` up to date with the database.

Each answer first calls :meth:`Source.refresh`: at most every ``interval`` seconds it
reads the rows added since the last refresh (in batches) and the duplicate counts. Every
``check_every`` seconds it also checks that no counted row has gone (a purge or a
``forget``); if some have, it counts everything again from the start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from wxloan.storage import PostgresTarget, Target
from wxloan.storage.feed import FeedRow, SqliteFeed

from .analytics import Analytics

__all__ = ["Feed", "Source", "open_feed"]

log = logging.getLogger("wxloan.dashboard")

T = TypeVar("T")
#: Rows read per query when catching up.
BATCH = 20_000
#: How long an id skipped by a read is looked for again (ids are taken before a turn
#: commits: on PostgreSQL two nodes' turns can commit out of id order). A gap still empty
#: after this was a rolled-back turn or a deleted row.
GAP_SECONDS = 30.0
#: Skipped ids remembered at most (a deleted range is a gap too; it never fills).
GAPS_KEPT = 10_000


class Feed(Protocol):
    """What the dashboard reads (:class:`SqliteFeed` in a thread, or ``PgFeed``)."""

    async def rows_after(self, last_id: int, limit: int) -> list[FeedRow]: ...
    async def rows_with_ids(self, ids: list[int]) -> list[FeedRow]: ...
    async def count_upto(self, last_id: int) -> int: ...
    async def count_reused(self, last_id: int, newest: float) -> int: ...
    async def duplicates_per_day(self) -> dict[int, int]: ...
    async def conversation(self, openid: str, limit: int) -> list[dict[str, Any]]: ...
    async def close(self) -> None: ...


class _ThreadedSqliteFeed:
    """The SQLite feed with each call on a worker thread (the event loop never waits)."""

    def __init__(self, feed: SqliteFeed) -> None:
        self._feed = feed

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def rows_after(self, last_id: int, limit: int) -> list[FeedRow]:
        return await self._call(self._feed.rows_after, last_id, limit)

    async def rows_with_ids(self, ids: list[int]) -> list[FeedRow]:
        return await self._call(self._feed.rows_with_ids, ids)

    async def count_reused(self, last_id: int, newest: float) -> int:
        return await self._call(self._feed.count_reused, last_id, newest)

    async def count_upto(self, last_id: int) -> int:
        return await self._call(self._feed.count_upto, last_id)

    async def duplicates_per_day(self) -> dict[int, int]:
        return await self._call(self._feed.duplicates_per_day)

    async def conversation(self, openid: str, limit: int) -> list[dict[str, Any]]:
        return await self._call(self._feed.conversation, openid, limit)

    async def close(self) -> None:
        self._feed.close()


async def open_feed(target: Target) -> Feed:
    """The feed on ``target``, read-only (raises ``NoDatabaseError`` for a missing one)."""
    if isinstance(target, PostgresTarget):
        from wxloan.storage.postgres.feed import PgFeed

        feed = PgFeed(target)
        await feed.open()
        return feed
    assert isinstance(target, Path)
    return _ThreadedSqliteFeed(SqliteFeed(target))


class Source:
    """The analytics and the feed they are kept from.

    :param interval: answers within this many seconds of the last catch-up reuse it.
    :param check_every: how often :meth:`watch` looks for deleted rows (seconds).
    """

    def __init__(self, feed: Feed, confidence: float, *, interval: float = 1.0,
                 check_every: float = 60.0, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.feed = feed
        self.confidence = confidence
        self.analytics = Analytics(confidence)
        self.interval = interval
        self.check_every = check_every
        self.clock = clock
        self._lock = asyncio.Lock()
        self._refreshed = float("-inf")

    async def refresh(self, force: bool = False) -> Analytics:
        """The analytics, brought up to date unless that was done less than ``interval``
        seconds ago (``force``: regardless)."""
        async with self._lock:
            if force or self.clock() - self._refreshed >= self.interval:
                await self._catch_up(self.analytics, in_thread=False)
                self.analytics.duplicates = await self.feed.duplicates_per_day()
                self._refreshed = self.clock()
        return self.analytics

    async def load(self) -> Analytics:
        """The first count of everything stored (batches counted on a worker thread)."""
        await self._catch_up(self.analytics, in_thread=True)
        return await self.refresh(force=True)

    async def _catch_up(self, analytics: Analytics, in_thread: bool) -> None:
        await self._fill_gaps(analytics)
        while True:
            rows = await self.feed.rows_after(analytics.last_id, BATCH)
            self._note_gaps(analytics, rows)
            if in_thread:  # a big catch-up: keep the event loop answering meanwhile
                await asyncio.to_thread(analytics.add, rows)
            else:
                analytics.add(rows)
            if len(rows) < BATCH:
                return

    def _note_gaps(self, analytics: Analytics, rows: list[FeedRow]) -> None:
        """Remember the ids between what ``analytics`` has read and ``rows`` that were not
        there (each count keeps its own: a recount must not take another's)."""
        now = self.clock()
        expected = analytics.last_id + 1
        gaps = analytics.gaps
        for row in rows:
            if row.id > expected and len(gaps) < GAPS_KEPT:
                for missing in range(expected, min(row.id, expected + GAPS_KEPT)):
                    gaps.setdefault(missing, now)
            expected = row.id + 1

    async def _fill_gaps(self, analytics: Analytics) -> None:
        """Count the skipped ids that have turned up since; forget the old gaps."""
        gaps = analytics.gaps
        if not gaps:
            return
        now = self.clock()
        found = await self.feed.rows_with_ids(sorted(gaps))
        for row in found:
            del gaps[row.id]
        analytics.add(found)
        for gap in [g for g, seen in gaps.items() if now - seen > GAP_SECONDS]:
            del gaps[gap]

    async def check(self) -> bool:
        """If counted rows have been deleted (a purge, a ``forget``) or their ids handed
        out again, count everything again beside the answers, and swap the new count in;
        True when it did."""
        counted = self.analytics
        last_id, rows, newest = counted.last_id, counted.rows, counted.newest
        stored = await self.feed.count_upto(last_id)
        reused = await self.feed.count_reused(last_id, newest)
        if (stored >= rows and not reused) or self.analytics is not counted:
            return False
        log.info("messages were deleted (purge or forget); counting again",
                 extra={"fields": {"counted": rows, "stored": stored, "reused": reused}})
        fresh = Analytics(self.confidence)
        await self._catch_up(fresh, in_thread=True)
        async with self._lock:
            await self._catch_up(fresh, in_thread=False)
            fresh.duplicates = await self.feed.duplicates_per_day()
            self.analytics = fresh
        return True

    async def watch(self) -> None:
        """Run :meth:`check` every ``check_every`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(self.check_every)
            try:
                await self.check()
            except Exception:  # a failed check must not end the watch
                log.exception("checking for deleted messages failed")

    async def close(self) -> None:
        await self.feed.close()
