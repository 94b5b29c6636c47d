"""Plain records the storage layer reads and writes; no SQL here."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Claim",
    "ClaimStatus",
    "Commit",
    "CommitStatus",
    "Grant",
    "OutboundRecord",
    "Session",
    "StoredAssessment",
    "TurnRecord",
]


class ClaimStatus(enum.Enum):
    """What looking up a message key found."""

    NEW = "new"  #: not processed yet: process it
    DONE = "done"  #: processed before: ``Claim.reply`` holds the stored reply


class CommitStatus(enum.Enum):
    """What writing a processed turn found."""

    COMMITTED = "committed"  #: written; this worker's reply is the one stored
    DUPLICATE = "duplicate"  #: another worker stored this message first: use its reply
    STALE = "stale"  #: the session changed under us (another worker): redo the turn


@dataclass(slots=True)
class Session:
    """One user's dialogue state: which flow, which step, what is known so far."""

    openid: str
    flow: str | None = None
    step: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    pending_pages: list[str] = field(default_factory=list)
    updated_at: float = 0.0
    #: the stored row's version (None: no row yet); a commit expects it unchanged
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """Result of :meth:`storage.Store.read_turn`: the stored reply or, if new, the session."""

    status: ClaimStatus
    reply: str | None = None
    session: Session | None = None


@dataclass(frozen=True, slots=True)
class Commit:
    """Result of :meth:`storage.Store.finish_turn`."""

    status: CommitStatus
    reply: str | None = None
    #: the session's new version after a commit (None: the session was deleted)
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A customer-service sending window an inbound message opens (the quota ledger)."""

    app_id: str
    kind: str
    allowance: int
    seconds: float


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
    :param expected_version: the session version the turn was computed from (None: the
        user had no stored session); a different stored version means another worker
        updated it first, and the turn must be redone.
    :param inbound_meta: what the dialogue made of the inbound message (intent, confidence,
        source, fallback, clarify), stored as JSON in the message log's ``meta``; it must
        hold no user text (the log masks ``content`` only).
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
    expected_version: int | None = None
    grants: tuple[Grant, ...] = ()
    inbound_meta: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StoredAssessment:
    """One row of ``assessments``: what the user's verdict was computed from, and when.

    :param inputs: the profile the verdict was computed from (already masked: facts only).
    :param result: the verdict's summary (``flow``, statuses, causes, actions...).
    :param created_at: unix seconds.
    """

    inputs: dict[str, Any]
    result: dict[str, Any]
    created_at: float
