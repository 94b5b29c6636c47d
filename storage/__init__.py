"""Durable state of wxloan: SQLite through sqlite-utils, on one owner thread.

Only this package writes SQL. See :mod:`storage.store` for the concurrency design.
"""

from .errors import NoDatabaseError, StorageError, StoreClosedError
from .models import (
    Claim,
    ClaimStatus,
    Commit,
    CommitStatus,
    Grant,
    OutboundRecord,
    Session,
    TurnRecord,
)
from .privacy import MaskResult, mask_personal_data
from .store import DayStats, Store, StoreStats, open_store

__all__ = [
    "Claim",
    "ClaimStatus",
    "Commit",
    "CommitStatus",
    "DayStats",
    "Grant",
    "MaskResult",
    "NoDatabaseError",
    "OutboundRecord",
    "Session",
    "StorageError",
    "Store",
    "StoreClosedError",
    "StoreStats",
    "TurnRecord",
    "mask_personal_data",
    "open_store",
]
