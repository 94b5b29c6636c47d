"""Durable state of wxloan: SQLite through sqlite-utils, on one owner thread, or PostgreSQL.

Only this package writes SQL. :mod:`.store` is the SQLite façade; the concurrency design is
in :mod:`.engine` (writer thread, group commit) and :mod:`.turns` (de-duplication, session
versions, the caches both engines share). :mod:`.postgres` is the same interface on a
PostgreSQL server, for several nodes; :func:`open_database` opens whichever a setting names.
"""

from pathlib import Path

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
from .reports import (
    Activity,
    DayStats,
    FlowFunnel,
    LoggedMessage,
    ReadOnlyStore,
    StoreStats,
)
from .store import Store, open_store
from .target import PostgresTarget, Target, describe, parse_target


async def open_database(target: Target, *, pool_size: int = 10) -> StoreBackend:
    """Open the database ``target`` names: a SQLite file, or a PostgreSQL server.

    :param pool_size: PostgreSQL only: connections kept open (``WXLOAN_DB_POOL``).
    """
    if isinstance(target, Path):
        return await open_store(target)
    from .postgres import open_pg_store  # asyncpg is imported only when it is used

    return await open_pg_store(target, pool_size=pool_size)

__all__ = [
    "Activity",
    "Claim",
    "ClaimStatus",
    "Commit",
    "CommitStatus",
    "DayStats",
    "FlowFunnel",
    "Grant",
    "LoggedMessage",
    "MaskResult",
    "NoDatabaseError",
    "NoMetaError",
    "OutboundRecord",
    "PostgresTarget",
    "ReadOnlyStore",
    "Session",
    "StorageError",
    "Store",
    "StoreBackend",
    "StoreClosedError",
    "StoreStats",
    "StoredAssessment",
    "Target",
    "TurnRecord",
    "describe",
    "mask_personal_data",
    "open_database",
    "open_store",
    "parse_target",
]
