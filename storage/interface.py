"""The typed seam between the bot and its storage: :class:`StoreBackend`.

Every method the rest of the program (``bot/``) calls on the store, and nothing else:
the per-message path, the outbound ledger, the health check and shutdown. The SQLite
:class:`~wxloan.storage.store.Store` implements it (mypy checks that in :mod:`.store`, and
``tests/test_storage/test_interface.py`` checks that the method set is exactly what
``bot/`` uses). This is the seam a PostgreSQL backend will implement later: the
docstrings below are the contract, including what must hold across several worker
processes sharing one database, which the SQLite implementation gets from its commit
checks (:mod:`.turns`) and a PostgreSQL one could get from the same ``INSERT … ON
CONFLICT`` and version checks in its transactions.

Opening is not part of it: each backend has its own ``open_*`` function (for SQLite,
:func:`~wxloan.storage.store.open_store`) that returns a ready backend.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from .models import Claim, Commit, Session, StoredAssessment, TurnRecord

__all__ = ["StoreBackend"]


@runtime_checkable
class StoreBackend(Protocol):
    """What the bot needs from durable storage (all of it, and only that)."""

    # -- lifecycle and health -----------------------------------------------------------

    @property
    def applied_migrations(self) -> list[str]:
        """Names of the schema migrations applied when this store was opened (empty: the
        database was up to date). Logged at start-up."""
        ...

    async def close(self) -> None:
        """Finish every write already queued, then release the connections.

        Closing twice is harmless; a call that needs the database after ``close`` raises
        :class:`~wxloan.storage.errors.StoreClosedError`.
        """
        ...

    async def ping(self) -> bool:
        """True when the database answers a trivial query (the health endpoint).

        Must answer at once, without waiting behind queued writes.
        """
        ...

    # -- the per-message path -----------------------------------------------------------

    async def read_turn(self, msg_key: str, openid: str) -> Claim:
        """Look up ``msg_key``; if it is new, also the user's session.

        May be answered from a per-process cache: the cache only saves reads, because
        :meth:`finish_turn` checks the key and the session version in the database.

        :returns: ``DONE`` with the stored reply, or ``NEW`` with the session (None: the
            user has none), which the caller may change freely (a copy).
        """
        ...

    async def finish_turn(self, record: TurnRecord) -> Commit:
        """Store one processed message atomically: the reply under ``msg_key``, the
        message log (masked; the inbound row with ``record.inbound_meta``, what the dialogue
        made of it), the session (or its deletion), the profile, the quota grants and the
        assessment — all of it or nothing.

        The claim on the message is taken here, at commit, not when it was read:

        :returns: ``COMMITTED`` (with the session's new version, None if it was deleted);
            ``DUPLICATE`` with the
            reply another worker stored first under ``msg_key`` (nothing of this turn is
            written); or ``STALE`` when the stored session version is no longer
            ``record.expected_version`` (nothing is written: reload the session with
            :meth:`load_session` and redo the turn).
        :raises Exception: whatever a failing write raised; that turn alone is rolled back.
        """
        ...

    def claim_reply(
        self, msg_key: str, expected: str, claimed: str, now: float
    ) -> asyncio.Future[bool]:
        """Swap the stored reply ``expected`` for ``claimed`` unless someone changed it.

        Called synchronously: before it returns, a retry of ``msg_key`` arriving in this
        process already gets ``claimed``. The future says whether the stored reply still
        was ``expected`` and now is ``claimed``; once it is True, no retry in any worker
        or node gets ``expected`` any more. If it is False or fails, this process serves
        whatever the database holds.
        """
        ...

    async def count_late_delivery(self, msg_key: str, openid: str, now: float) -> int:
        """Count one more delivery of ``msg_key`` that reached the deadline unanswered.

        Shared by every worker and kept across restarts.

        :returns: how many such deliveries there have been, this one included.
        """
        ...

    async def count_duplicate(self, msg_key: str, openid: str, now: float) -> None:
        """Count one more delivery of ``msg_key`` answered from its first turn (a retry
        WeChat sent because the answer was slow or lost), for ``wxloan stats``."""
        ...

    async def load_session(self, openid: str) -> Session | None:
        """The stored session of ``openid``, read from the database (never from a cache),
        e.g. to redo a ``STALE`` turn; None when the user has none."""
        ...

    async def last_assessment(self, openid: str) -> StoredAssessment | None:
        """The user's most recent row of ``assessments`` (newest ``created_at``; among
        equal times the one stored last), or None. The "my last result" question reads it."""
        ...

    # -- outbound: tokens, quota ledger, deliveries ------------------------------------

    def token_refresh(self, app_id: str) -> AbstractAsyncContextManager[None]:
        """Held (``async with``) while a process refreshes ``app_id``'s access token, so
        that the stores sharing the database have one refresh in flight between them where
        the engine can lock across processes (PostgreSQL: an advisory lock)."""
        ...

    async def get_token(self, app_id: str) -> tuple[str, float] | None:
        """The cached access token of ``app_id`` and when it expires (unix seconds), if
        any. Must answer at once, without waiting behind queued writes."""
        ...

    async def save_token(self, app_id: str, token: str, expires_at: float, now: float) -> None:
        """Cache an access token for every worker sharing this database (replacing the
        previous one of ``app_id``)."""
        ...

    async def grant_quota(
        self, app_id: str, openid: str, kind: str, now: float, allowance: int, ttl: float
    ) -> None:
        """Record a window of ``ttl`` seconds in which ``allowance`` messages of ``kind``
        may be sent to ``openid`` (the hot path grants with :meth:`finish_turn` instead)."""
        ...

    async def consume_quota(self, app_id: str, openid: str, now: float) -> str | None:
        """Use one message of the soonest-expiring open window of ``openid``, atomically
        (two workers never use the same last message).

        :returns: the window's kind, or None if no window is open.
        """
        ...

    async def refund_quota(self, app_id: str, openid: str, kind: str, now: float) -> None:
        """Give back one message of an open ``kind`` window that WeChat refused (it did
        not count)."""
        ...

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
        """Log one outbound attempt (``status``: ``sent``, ``failed``, ``quota``); a sent
        message also goes to the message log as ``out``, masked.

        :param log_message: False when the message is already in the log (a late passive
            reply that the API now delivers).
        """
        ...
