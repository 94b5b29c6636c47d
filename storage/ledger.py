"""Outbound: cached access tokens, the quota ledger of sending windows, the delivery log.

What the senders in ``bot/`` (the WeChat API client and the customer-service sender)
keep in the database so that every worker process sharing the file sees the same token
and the same remaining allowance. Writes ride the engine's group commits; the token read,
a rare one, stays inline on the read-only connection (see :mod:`.engine`).
"""

from __future__ import annotations

import sqlite3

from .engine import Engine
from .privacy import mask_personal_data

__all__ = ["Ledger"]


class Ledger:
    """Tokens, quota grants (consume, refund) and deliveries of one store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def get_token(self, app_id: str) -> tuple[str, float] | None:
        """The cached access token of ``app_id`` and when it expires, if any."""

        row = self._engine.read().execute(
            "SELECT token, expires_at FROM access_tokens WHERE app_id = ?", (app_id,)
        ).fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    async def save_token(self, app_id: str, token: str, expires_at: float, now: float) -> None:
        """Cache an access token for every worker sharing this database."""
        await self._engine.write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO access_tokens (app_id, token, expires_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (app_id, token, expires_at, now),
            )
        )

    async def grant_quota(
        self, app_id: str, openid: str, kind: str, now: float, allowance: int, ttl: float
    ) -> None:
        """Record a window in which ``allowance`` messages may be sent to ``openid``."""
        await self._engine.write(
            lambda conn: conn.execute(
                "INSERT INTO quota_grants (app_id, openid, kind, granted_at, expires_at,"
                " allowance, used) VALUES (?, ?, ?, ?, ?, ?, 0)",
                (app_id, openid, kind, now, now + ttl, allowance),
            )
        )

    async def consume_quota(self, app_id: str, openid: str, now: float) -> str | None:
        """Use one message of the soonest-expiring open window; its kind, or None if none."""
        return await self._engine.write(lambda conn: _consume_quota(conn, app_id, openid, now))

    async def refund_quota(self, app_id: str, openid: str, kind: str, now: float) -> None:
        """Give back a message that WeChat refused (it did not count)."""
        await self._engine.write(
            lambda conn: conn.execute(
                "UPDATE quota_grants SET used = used - 1 WHERE id = (SELECT id FROM"
                " quota_grants WHERE app_id = ? AND openid = ? AND kind = ? AND used > 0"
                " AND expires_at > ? ORDER BY expires_at LIMIT 1)",
                (app_id, openid, kind, now),
            )
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
        """Log one outbound attempt; a sent message also goes to ``messages`` as ``out``.

        :param log_message: False when the message is already in ``messages`` (a late
            passive reply that the API now delivers).
        """
        content_to_log = content if log_message else None
        await self._engine.write(
            lambda conn: _record_delivery(
                conn, app_id, openid, msg_key, msg_type, content_to_log, status, errcode, now
            )
        )


# -- SQL, run on the writer thread ----------------------------------------------------


def _consume_quota(conn: sqlite3.Connection, app_id: str, openid: str, now: float) -> str | None:
    row = conn.execute(
        "SELECT id, kind FROM quota_grants WHERE app_id = ? AND openid = ?"
        " AND expires_at > ? AND used < allowance ORDER BY expires_at LIMIT 1",
        (app_id, openid, now),
    ).fetchone()
    if row is None:
        return None
    conn.execute("UPDATE quota_grants SET used = used + 1 WHERE id = ?", (row[0],))
    return str(row[1])


def _record_delivery(
    conn: sqlite3.Connection,
    app_id: str,
    openid: str,
    msg_key: str,
    msg_type: str,
    content: str | None,
    status: str,
    errcode: int,
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO deliveries (app_id, openid, msg_key, msg_type, status, errcode,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (app_id, openid, msg_key, msg_type, status, errcode, now),
    )
    if status == "sent" and content is not None:
        conn.execute(
            "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
            " VALUES (?, 'out', ?, ?, ?)",
            (openid, msg_type, mask_personal_data(content).text, now),
        )
