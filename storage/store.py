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
import contextlib
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import Engine
from .interface import StoreBackend
from .ledger import Ledger
from .reports import DayStats, ReadOnlyStore, Reports, StoreStats
from .turns import Turns, TurnsFacade

__all__ = ["DayStats", "ReadOnlyStore", "Store", "StoreStats", "open_store"]


class Store(TurnsFacade):
    """Async façade over the wxloan SQLite file: the SQLite :class:`StoreBackend`.

    Create with :func:`open_store`; close with :meth:`close`. Writes run on the writer
    thread in group commits and the per-message reads ride along (:mod:`.engine`); rare
    reads run inline on a read-only connection. The method docstrings here are short:
    the contract is :class:`StoreBackend`'s.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine = Engine(path)
        self.applied_migrations: list[str] = []
        self._turns = Turns(self._engine)
        self._ledger = Ledger(self._engine)
        self._reports = Reports(self._engine)

    # -- plumbing -------------------------------------------------------------------

    async def open(self) -> None:
        """Start the writer (creating and migrating the file), then open the reader."""
        await self._engine.open()
        self.applied_migrations = self._engine.applied_migrations

    async def close(self) -> None:
        """Finish queued writes, stop the writer and close both connections."""
        await self._engine.close()

    # -- the per-message path: TurnsFacade, over storage/turns.py ---------------------

    # -- health and operator queries (storage/reports.py) ----------------------------

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        return await self._reports.ping()

    async def transcript(self, openid: str, limit: int = 500) -> list[dict[str, Any]]:
        """The user's last ``limit`` messages, oldest first (already masked at write).

        Not part of :class:`~.interface.StoreBackend`: ``bot/`` never calls it (operators
        use :meth:`ReadOnlyStore.transcript`). Kept because the end-to-end privacy test
        (``tests/test_bot/test_privacy.py``) reads what the live app stored through
        ``app[STORE]``, on the store's own connection, without a second one.
        """
        return await self._reports.transcript(openid, limit)

    # -- outbound: tokens, quota ledger, deliveries (storage/ledger.py) ---------------

    def token_refresh(self, app_id: str) -> AbstractAsyncContextManager[None]:
        """Nothing to hold beyond the process: the workers of one machine may each refresh
        once (WeChat's ``stable_token`` keeps the previous token valid meanwhile)."""
        return contextlib.nullcontext()

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


async def open_store(path: Path) -> Store:
    """Open (creating and migrating if needed) the database at ``path``."""
    store = Store(path)
    await store.open()
    return store


if TYPE_CHECKING:  # mypy checks here that Store implements the interface
    _backend: StoreBackend = Store(Path())
