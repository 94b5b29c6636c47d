"""Durable state of wxloan: SQLite through sqlite-utils, on one owner thread.

Only this package writes SQL. :mod:`.store` is the façade; the concurrency design is in
:mod:`.engine` (writer thread, group commit) and :mod:`.turns` (de-duplication, session
versions).
"""

from .errors import NoDatabaseError, NoMetaError, StorageError, StoreClosedError
from .interface import StoreBackend
from .models import (
    Claim,
    ClaimStatus,
    Commit,
    CommitStatus,
    Grant,
    OutboundRecord,
    Session,
    StoredAssessment,
    TurnRecord,
)
from .privacy import MaskResult, mask_personal_data
from .reports import DayStats, LoggedMessage, ReadOnlyStore, StoreStats
from .store import Store, open_store

__all__ = [
    "Claim",
    "ClaimStatus",
    "Commit",
    "CommitStatus",
    "DayStats",
    "Grant",
    "LoggedMessage",
    "MaskResult",
    "NoDatabaseError",
    "NoMetaError",
    "OutboundRecord",
    "ReadOnlyStore",
    "Session",
    "StorageError",
    "Store",
    "StoreBackend",
    "StoreClosedError",
    "StoreStats",
    "StoredAssessment",
    "TurnRecord",
    "mask_personal_data",
    "open_store",
]
