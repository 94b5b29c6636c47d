"""Plain records the storage layer reads and writes; no SQL here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Claim", "ClaimStatus", "OutboundRecord", "Session", "TurnRecord"]


class ClaimStatus(enum.Enum):
    """What claiming a message key found."""

    NEW = "new"  #: first time seen: this worker processes it
    PENDING = "pending"  #: another request is processing it right now
    DONE = "done"  #: processed before: ``Claim.reply`` holds the stored reply


@dataclass(slots=True)
class Session:
    """One user's dialogue state: which flow, which step, what is known so far."""

    openid: str
    flow: str | None = None
    step: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    pending_pages: list[str] = field(default_factory=list)
    updated_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Claim:
    """Result of :meth:`storage.Store.begin_turn`: the claim and, if new, the session."""

    status: ClaimStatus
    reply: str | None = None
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class OutboundRecord:
    """One reply that left (or will leave) the bot, for the ``messages`` table."""

    msg_type: str
    content: str


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one processed message writes, committed in one transaction.

    :param reply: the serialised reply stored under ``msg_key`` for retries.
    :param session: the new session, or ``None`` to delete it.
    """

    msg_key: str
    openid: str
    now: float
    inbound_type: str
    inbound_content: str
    reply: str
    outbound: tuple[OutboundRecord, ...]
    session: Session | None
    profile: dict[str, Any] | None = None
    assessment: tuple[dict[str, Any], dict[str, Any]] | None = None
