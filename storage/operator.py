"""The operator's copies and deletions on a SQLite file: ``wxloan backup`` and ``forget``.

Both run beside a serving ``wxloan serve``. The backup reads: it never takes the writers'
lock. ``forget`` writes: it takes the writers' ``flock`` (as the purge does) so it never
races the server's writer thread. PostgreSQL's counterparts are in
:mod:`.postgres.operator`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .retention import _WriteLock

__all__ = ["USER_TABLES", "backup", "forget", "known_openids"]

#: Tables that hold a user's rows, keyed by ``openid`` (see :mod:`.migrations`).
USER_TABLES = ("messages", "processed", "assessments", "sessions", "users", "deliveries",
               "quota_grants", "delivery_attempts")


def backup(path: Path, out: Path,
           on_step: Callable[[int, int, int], object] | None = None) -> None:
    """Copy the database at ``path`` to ``out``, consistent as of one commit.

    One step of SQLite's backup API inside one read transaction: in WAL mode a reader
    never blocks the writer, so the server keeps answering. (A copy in several steps with
    pauses restarts whenever another connection commits between two steps; under steady
    traffic it would never finish.) The copy is written next to ``out`` and renamed into
    place, so a failed backup never leaves a half-written ``out``.

    :param on_step: called after each backup step with (status, pages left, pages in all).
    :raises ValueError: ``out`` is the database itself.
    """
    if out.exists() and out.samefile(path):
        raise ValueError(f"{out} is the database itself")
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(str(partial))
        try:
            source.backup(target, progress=on_step)
        finally:
            target.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    for stale in (out.with_name(out.name + "-wal"), out.with_name(out.name + "-shm")):
        stale.unlink(missing_ok=True)  # an old copy's journal must not apply to this one
    os.replace(partial, out)


def known_openids(path: Path) -> list[str]:
    """Every openid with a user row or a logged message (to find one by its log reference)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [str(row[0]) for row in conn.execute(
            "SELECT openid FROM users UNION SELECT openid FROM messages")]
    finally:
        conn.close()


def forget(path: Path, openid: str) -> dict[str, int]:
    """Delete every row of ``openid`` in one transaction; the rows deleted, per table."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    lock = _WriteLock(path)
    deleted: dict[str, int] = {}
    try:
        with lock.held():
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {row[0] for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                for table in USER_TABLES:
                    if table in tables:
                        deleted[table] = conn.execute(
                            f"DELETE FROM [{table}] WHERE openid = ?", (openid,)).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        lock.close()
        conn.close()
    return deleted
