"""Schema of the wxloan database, one registered function per change.

Applied at every start-up by :func:`apply_migrations`; applying is idempotent and each
migration runs in its own transaction (sqlite-utils' ``Migrations``). Never edit a
migration that has shipped: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

__all__ = ["apply_migrations", "migrations"]

migrations = Migrations("wxloan")


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    """Users, sessions, the message log, processed-message keys and assessments."""
    db.table("users").create(
        {"openid": str, "first_seen": float, "last_seen": float, "profile": str},
        pk="openid",
    )
    db.table("sessions").create(
        {
            "openid": str,
            "flow": str,
            "step": str,
            "slots": str,
            "pending_pages": str,
            "updated_at": float,
        },
        pk="openid",
    )
    db.table("messages").create(
        {
            "id": int,
            "openid": str,
            "direction": str,
            "msg_type": str,
            "content": str,
            "created_at": float,
        },
        pk="id",
    )
    db.table("messages").create_index(["openid", "id"])
    db.table("messages").create_index(["created_at"])
    db.table("processed").create(
        {
            "msg_key": str,
            "openid": str,
            "status": str,
            "reply": str,
            "created_at": float,
            "updated_at": float,
        },
        pk="msg_key",
    )
    db.table("processed").create_index(["created_at"])
    db.table("assessments").create(
        {"id": int, "openid": str, "inputs": str, "result": str, "created_at": float},
        pk="id",
    )
    db.table("assessments").create_index(["openid"])
    db.table("assessments").create_index(["created_at"])


def apply_migrations(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    pending = [migration.name for migration in migrations.pending(db)]
    migrations.apply(db)
    return pending


@migrations(name="0002_outbound")
def outbound(db: Database) -> None:
    """Access tokens, the customer-service quota ledger and outbound deliveries."""
    db.table("access_tokens").create(
        {"app_id": str, "token": str, "expires_at": float, "updated_at": float},
        pk="app_id",
    )
    db.table("quota_grants").create(
        {
            "id": int,
            "app_id": str,
            "openid": str,
            "kind": str,
            "granted_at": float,
            "expires_at": float,
            "allowance": int,
            "used": int,
        },
        pk="id",
    )
    db.table("quota_grants").create_index(["app_id", "openid", "expires_at"])
    db.table("deliveries").create(
        {
            "id": int,
            "app_id": str,
            "openid": str,
            "msg_key": str,
            "msg_type": str,
            "status": str,
            "errcode": int,
            "created_at": float,
        },
        pk="id",
    )
    db.table("deliveries").create_index(["openid", "id"])
    db.table("deliveries").create_index(["created_at"])


@migrations(name="0003_session_version")
def session_version(db: Database) -> None:
    """A version per session: concurrent workers detect a lost update and redo the turn."""
    db.execute("ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0")


@migrations(name="0004_delivery_attempts")
def delivery_attempts(db: Database) -> None:
    """How many deliveries of each message WeChat has made that our deadline let pass.

    Without an outbound sender the only way a slow reply reaches the user is WeChat's own
    next delivery of the same message, and only the last expected delivery may be answered
    ``success``; counting here (not in memory) keeps that right across restarts and workers.
    """
    db.table("delivery_attempts").create(
        {"msg_key": str, "openid": str, "late": int, "updated_at": float},
        pk="msg_key",
    )
    db.table("delivery_attempts").create_index(["updated_at"])


@migrations(name="0005_message_meta")
def message_meta(db: Database) -> None:
    """What the dialogue made of each inbound text message, as a small JSON object.

    ``{"intent": …, "confidence": …, "source": …, "fallback": …, "clarify": …}``: no user
    text, so nothing unmasked. ``wxloan nlu review`` reads it to find the messages that
    fell to the fallback or were read with low confidence. Nullable: older rows, events,
    media and replies have none.
    """
    db.execute("ALTER TABLE messages ADD COLUMN meta TEXT")


@migrations(name="0006_delivery_duplicates")
def delivery_duplicates(db: Database) -> None:
    """How many deliveries of each message were answered from its first turn (WeChat's
    retries of a slow or lost answer), for ``wxloan stats`` and the dashboard."""
    db.execute(
        "ALTER TABLE delivery_attempts ADD COLUMN duplicates INTEGER NOT NULL DEFAULT 0"
    )
