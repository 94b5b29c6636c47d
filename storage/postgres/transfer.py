"""Moving an existing SQLite database into PostgreSQL (``wxloan migrate-db``).

Every table is copied whole, ids included, in one PostgreSQL transaction (all or nothing),
with ``COPY`` (asyncpg's ``copy_records_to_table``: one stream per table, not a statement
per row); the identity counters then continue after the highest id copied. The SQLite
file is only read. A target that already holds wxloan data is refused, so a second run
can never mix two histories.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

import asyncpg

from ..errors import NoDatabaseError, StorageError
from ..target import PostgresTarget
from .schema import apply_migrations

__all__ = ["TABLES", "TargetNotEmptyError", "copy_sqlite_to_postgres"]

#: Every wxloan table, parents first.
TABLES: Final = ("users", "sessions", "processed", "messages", "assessments", "access_tokens",
                 "quota_grants", "deliveries", "delivery_attempts")
_WITH_IDENTITY: Final = ("messages", "assessments", "quota_grants", "deliveries")
_BATCH: Final = 10_000


class TargetNotEmptyError(StorageError):
    """The PostgreSQL database already holds wxloan data."""


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


async def copy_sqlite_to_postgres(path: Path, target: PostgresTarget) -> dict[str, int]:
    """Copy every table of the SQLite file ``path`` into ``target``; rows copied per table.

    :raises NoDatabaseError: no file at ``path``.
    :raises StorageError: ``path`` is not a wxloan database (or an older one: run
        ``wxloan serve`` on it once to migrate it first).
    :raises TargetNotEmptyError: ``target`` already holds messages, users or sessions.
    """
    if not path.is_file():
        raise NoDatabaseError(str(path))
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        missing = [t for t in TABLES if not _columns(source, t)]
        if missing or "meta" not in _columns(source, "messages"):
            raise StorageError(f"{path} is not an up-to-date wxloan database (missing: "
                               f"{', '.join(missing) or 'messages.meta'}); run `wxloan serve` "
                               "on it once first")
        conn = await asyncpg.connect(target.url, timeout=10)
        try:
            await apply_migrations(conn)
            copied: dict[str, int] = {}
            async with conn.transaction():
                for table in TABLES:
                    if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                        raise TargetNotEmptyError(
                            f"{target.redacted()} already holds wxloan data ({table})")
                for table in TABLES:
                    copied[table] = await _copy_table(source, conn, table)
                for table in _WITH_IDENTITY:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" GREATEST((SELECT max(id) FROM {table}), 1),"
                        f" (SELECT max(id) FROM {table}) IS NOT NULL)"
                    )
            return copied
        finally:
            await conn.close()
    finally:
        source.close()


async def _copy_table(source: sqlite3.Connection, conn: asyncpg.Connection, table: str) -> int:
    columns = _columns(source, table)
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
    total = 0
    while batch := cursor.fetchmany(_BATCH):
        await conn.copy_records_to_table(table, records=batch, columns=columns)
        total += len(batch)
    return total
