"""Retention: delete old rows in short batches that a live server does not notice.

``wxloan purge`` runs while ``wxloan serve`` keeps answering on the same file, so it must
never hold the write lock for long (one ``DELETE`` of a million messages held it for 7.9 s
and a reply missed WeChat's deadline). The design, measured in ``tests/perf/purge_live.py``:

* **Bounded batches.** Each table is walked by rowid: a batch deletes at most ``limit``
  qualifying rows among the next rowids after a cursor (and scans at most a bounded span
  of rowids, so a region of recent rows costs a bounded scan too). Each batch is its own
  short transaction.
* **Sized by time.** ``limit`` adapts so that a batch holds the lock for about
  :data:`TARGET_BATCH_S` (10 ms): the cost per row differs by table (a message touches three
  b-trees, a session two) and by machine.
* **The server's lock.** Every batch takes the same kernel lock (``flock`` on
  ``<db>.writelock``) that the server's writer takes around each group commit, so the two
  queue fairly instead of polling in SQLite's busy handler; SQLite's ``busy_timeout``
  covers writers that do not take it.
* **Checkpoints outside the lock.** Autocheckpoint is off on the purge's connection; the
  WAL is checkpointed (``PASSIVE``, which never blocks writers) between batches, while the
  server may commit. Otherwise the server's next commit would run the checkpoint of the
  purge's pages (tens of ms, fsync included) while holding the lock.
* **A pause between batches**, as long as the batch held the lock (``pause_ratio``), so a
  waiting server writer wins the lock and the purge uses at most half the write capacity.

Reclaiming the space (:func:`vacuum`): with ``auto_vacuum=INCREMENTAL`` the freed pages are
returned in bounded ``incremental_vacuum`` steps under the same lock (safe live). Otherwise
only a full ``VACUUM`` can shrink the file: it rewrites the whole file and holds the write
lock throughout (the server's writes queue on the flock until it ends), so it is for a quiet
moment; it also switches the file to ``auto_vacuum=INCREMENTAL`` so that later purges can
reclaim space live.

Over 400 lines on purpose: the purge and the vacuum are one job (give space back while a
server writes) and share its discipline — the writer's ``flock``, the connection settings,
steps sized by time with a pause — which two modules would have to keep in step.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from .errors import NoDatabaseError

__all__ = [
    "RULES",
    "TARGET_BATCH_S",
    "PurgeReport",
    "VacuumReport",
    "file_bytes",
    "plan",
    "purge",
    "vacuum",
    "vacuums_live",
]

#: Table → the column whose age decides (rows older than the cut-off go). Tables that do
#: not exist in the file (an older schema) are skipped.
RULES: tuple[tuple[str, str], ...] = (
    ("messages", "created_at"),
    ("processed", "created_at"),
    ("assessments", "created_at"),
    ("sessions", "updated_at"),
    ("users", "last_seen"),
    ("deliveries", "created_at"),
    ("quota_grants", "expires_at"),
    ("delivery_attempts", "updated_at"),
)

#: How long one batch should hold the write lock.
TARGET_BATCH_S = 0.010
#: First batch size, and the bounds of the adaptive size (rows).
FIRST_LIMIT = 256
MIN_LIMIT = 16
MAX_LIMIT = 50_000
#: Rowids scanned per batch, as a multiple of ``limit`` (capped): bounds the scan through a
#: region where few rows qualify (~0.1 µs a row, against ~6–9 µs to delete a message).
SCAN_FACTOR = 16
MAX_SCAN = 100_000
#: Pages freed by the first ``incremental_vacuum`` step (4 KiB pages: 1 MiB); the next
#: steps are sized by time like the purge's batches.
VACUUM_STEP_PAGES = 256

T = TypeVar("T")

Progress = Callable[[str, int, int], None]
"""``progress(table, deleted so far, total to delete)``, called after every batch."""


@dataclass(slots=True)
class PurgeReport:
    """What :func:`purge` did."""

    #: rows deleted per table (tables present in the file, in :data:`RULES` order)
    deleted: dict[str, int] = field(default_factory=dict)
    #: transactions committed (one per batch)
    batches: int = 0
    #: longest time one batch held the write lock (s)
    max_hold_s: float = 0.0
    #: how long each batch held the lock (s), in order
    holds: list[float] = field(default_factory=list)
    #: longest time a batch waited for the lock, i.e. for the server's commit (s)
    max_wait_s: float = 0.0
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class VacuumReport:
    """What :func:`vacuum` did: ``incremental`` or ``full``, bytes on disk before and after."""

    mode: str
    bytes_before: int
    bytes_after: int
    #: how long it took (the full mode holds the write lock that long)
    elapsed_s: float = 0.0
    #: transactions (incremental steps; 1 for a full VACUUM) and the longest one (s)
    steps: int = 0
    max_hold_s: float = 0.0

    @property
    def reclaimed(self) -> int:
        return self.bytes_before - self.bytes_after


def file_bytes(path: Path) -> int:
    """Bytes on disk of the database: the file and its WAL."""
    total = 0
    for name in (str(path), f"{path}-wal"):
        with contextlib.suppress(FileNotFoundError):
            total += os.path.getsize(name)
    return total


def _require(path: Path) -> None:
    if not path.is_file():
        raise NoDatabaseError(str(path))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    _require(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def _connect_writer(path: Path) -> sqlite3.Connection:
    _require(path)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpointed between batches, unlocked
    return conn


def _present(conn: sqlite3.Connection) -> list[tuple[str, str, bool]]:
    """``(table, age column, has rowid)`` for the rules whose table and column exist."""
    tables = {
        name: sql or ""
        for name, sql in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    }
    found = []
    for table, column in RULES:
        if table not in tables:
            continue
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info([{table}])")}
        if column in columns:
            found.append((table, column, "WITHOUT ROWID" not in tables[table].upper()))
    return found


def _check_cutoff(before: float) -> None:
    if not math.isfinite(before):
        raise ValueError(f"the cut-off must be a finite time, not {before}")


def plan(path: Path, before: float) -> dict[str, int]:
    """Rows per table that :func:`purge` would delete now; reads only, changes nothing."""
    _check_cutoff(before)
    conn = _connect_read_only(path)
    try:
        return {
            table: int(conn.execute(
                f"SELECT COUNT(*) FROM [{table}] WHERE [{column}] < ?", (before,)
            ).fetchone()[0])
            for table, column, _ in _present(conn)
        }
    finally:
        conn.close()


class _WriteLock:
    """The server's inter-process writer lock (see ``_Writer._run_batch`` in store.py)."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)

    @contextlib.contextmanager
    def held(self) -> Iterator[float]:
        """Hold the lock; yields how long it took to get it (s)."""
        asked = time.perf_counter()
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            yield time.perf_counter() - asked
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self.fd)


def _locked_write(
    conn: sqlite3.Connection, lock: _WriteLock, work: Callable[[], T]
) -> tuple[T, float, float]:
    """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction under the writer lock.

    :returns: its result, how long it held the lock and how long it waited for it (s).
    """
    with lock.held() as waited:
        took = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result, time.perf_counter() - took, waited


def _delete_batch(
    conn: sqlite3.Connection, table: str, column: str, before: float,
    cursor: int, last: int, limit: int,
) -> tuple[int, int]:
    """Delete up to ``limit`` old rows with rowid in ``(cursor, cursor + span]``.

    :returns: rows deleted and the new cursor (every rowid up to it has been looked at).
    """
    top = min(last, cursor + min(MAX_SCAN, limit * SCAN_FACTOR))
    # NOT INDEXED: walk the rowid b-tree from the cursor; an index on the age column would
    # make SQLite collect and sort every old row, in every batch. The limit-th old row, if
    # the span has that many, ends the batch; then one plain range delete (measured 1.5-2x
    # faster than DELETE ... WHERE rowid IN (SELECT ... LIMIT n) RETURNING rowid).
    row = conn.execute(
        f"SELECT rowid FROM [{table}] NOT INDEXED WHERE rowid > ? AND rowid <= ?"
        f" AND [{column}] < ? ORDER BY rowid LIMIT 1 OFFSET ?",
        (cursor, top, before, limit - 1),
    ).fetchone()
    if row is not None:
        top = int(row[0])
    deleted = conn.execute(
        f"DELETE FROM [{table}] NOT INDEXED WHERE rowid > ? AND rowid <= ? AND [{column}] < ?",
        (cursor, top, before),
    ).rowcount
    return deleted, top


def _delete_batch_without_rowid(
    conn: sqlite3.Connection, table: str, column: str, before: float, limit: int
) -> int:
    keys = [row[1] for row in sorted(
        (row[5], row[1]) for row in conn.execute(f"PRAGMA table_info([{table}])") if row[5]
    )]
    names = ", ".join(f"[{k}]" for k in keys)
    return conn.execute(
        f"DELETE FROM [{table}] WHERE ({names}) IN (SELECT {names} FROM [{table}]"
        f" WHERE [{column}] < ? LIMIT ?)",
        (before, limit),
    ).rowcount


def _next_limit(
    limit: int, cost: float, held: float, deleted: int, target: float
) -> tuple[int, float]:
    """The next batch size: grow slowly (a batch's cost is noisy), shrink at once."""
    if not deleted:
        if held > 2 * target:  # a slow scan through a region of recent rows
            return max(MIN_LIMIT, limit // 2), cost
        return limit, cost
    per_row = held / deleted
    cost = per_row if cost == 0.0 else 0.7 * cost + 0.3 * per_row
    wanted = target / max(cost, per_row if held > 1.5 * target else 0.0, 1e-9)
    return int(max(MIN_LIMIT, min(MAX_LIMIT, limit * 1.25, wanted))), cost


def purge(
    path: Path,
    before: float,
    *,
    batch_rows: int | None = None,
    target_batch_s: float = TARGET_BATCH_S,
    pause_ratio: float = 1.0,
    progress: Progress | None = None,
    totals: dict[str, int] | None = None,
    on_batch: Callable[[str, int], None] | None = None,
) -> PurgeReport:
    """Delete every row older than ``before`` (unix seconds), in short batches.

    :param batch_rows: a fixed number of rows per batch instead of sizing by time.
    :param pause_ratio: pause after each batch, as a multiple of the time it held the lock.
    :param progress: called after each batch with the table, rows so far and ``totals``.
    :param totals: rows to delete per table (from :func:`plan`; counted here if not given).
        Old rows only ever get fewer (the cut-off is fixed, new rows are newer), so a table
        is done once that many are gone: the recent rows after them are not scanned.
    :param on_batch: called after each batch is committed and the lock released, with the
        table and the rows that batch deleted (tests use it to write in between).
    :raises NoDatabaseError: ``path`` does not exist (it is never created).
    """
    _check_cutoff(before)
    started = time.perf_counter()
    if totals is None:
        totals = plan(path, before)
    conn = _connect_writer(path)
    lock = _WriteLock(path)
    report = PurgeReport()
    limit = batch_rows or FIRST_LIMIT
    try:
        for table, column, has_rowid in _present(conn):
            report.deleted[table] = 0
            total = totals.get(table)
            if total == 0:
                continue
            # smoothed seconds per deleted row, 0 until measured; per table: a session
            # costs less to delete than a message (fewer indexes)
            cost = 0.0
            cursor = last = 0
            if has_rowid:
                low, high = conn.execute(
                    f"SELECT min(rowid), max(rowid) FROM [{table}]"
                ).fetchone()
                if low is None:
                    continue  # empty
                # Rows the server adds meanwhile get higher rowids, and they are recent.
                cursor, last = int(low) - 1, int(high)
            while True:
                if has_rowid:
                    (deleted, cursor), held, waited = _locked_write(conn, lock, partial(
                        _delete_batch, conn, table, column, before, cursor, last, limit))
                else:
                    deleted, held, waited = _locked_write(conn, lock, partial(
                        _delete_batch_without_rowid, conn, table, column, before, limit))
                report.batches += 1
                report.deleted[table] += deleted
                report.max_hold_s = max(report.max_hold_s, held)
                report.holds.append(held)
                report.max_wait_s = max(report.max_wait_s, waited)
                done = cursor >= last if has_rowid else deleted < limit
                if total is not None and report.deleted[table] >= total:
                    done = True
                if batch_rows is None:
                    limit, cost = _next_limit(limit, cost, held, deleted, target_batch_s)
                if on_batch is not None:
                    on_batch(table, deleted)
                if progress is not None:
                    progress(table, report.deleted[table], max(total or 0, report.deleted[table]))
                paused = time.perf_counter()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if done:
                    break
                rest = pause_ratio * held - (time.perf_counter() - paused)
                if rest > 0:
                    time.sleep(rest)
    finally:
        lock.close()
        conn.close()
    report.elapsed_s = time.perf_counter() - started
    return report


def vacuums_live(path: Path) -> bool:
    """True when :func:`vacuum` works in bounded steps (``auto_vacuum=INCREMENTAL``)."""
    conn = _connect_read_only(path)
    try:
        return bool(conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2)
    finally:
        conn.close()


def vacuum(
    path: Path,
    *,
    step_pages: int | None = None,
    target_step_s: float = TARGET_BATCH_S,
    pause_ratio: float = 1.0,
) -> VacuumReport:
    """Give the free pages back to the file system; see the module docstring.

    ``incremental`` (``auto_vacuum=INCREMENTAL``): steps of ``incremental_vacuum`` under the
    writer lock, sized like the purge's batches (or ``step_pages`` each), safe while the
    server runs. ``full``: one ``VACUUM`` that holds the lock throughout and switches the
    file to incremental for next time.
    """
    started = time.perf_counter()
    before = file_bytes(path)
    conn = _connect_writer(path)
    lock = _WriteLock(path)
    steps, longest = 0, 0.0
    try:
        incremental = conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        if incremental:
            pages, cost = step_pages or VACUUM_STEP_PAGES, 0.0
            free = _freelist(conn)
            while free > 0:
                with lock.held():
                    took = time.perf_counter()
                    try:
                        # Python's execute() steps the pragma once, which frees one page;
                        # executescript() runs it to the end (and would commit an open
                        # transaction first, hence BEGIN and COMMIT inside the script).
                        conn.executescript(
                            f"BEGIN IMMEDIATE; PRAGMA incremental_vacuum({int(pages)}); COMMIT;"
                        )
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                    held = time.perf_counter() - took
                freed, free = free - _freelist(conn), _freelist(conn)
                steps, longest = steps + 1, max(longest, held)
                if freed <= 0:
                    break  # nothing moves any more (should not happen): never spin
                if step_pages is None:  # moving a live page costs more than dropping a free one
                    pages, cost = _next_limit(pages, cost, held, freed, target_step_s)
                paused = time.perf_counter()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                rest = pause_ratio * held - (time.perf_counter() - paused)
                if rest > 0:
                    time.sleep(rest)
        else:
            with lock.held():
                took = time.perf_counter()
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("VACUUM")
                steps, longest = 1, time.perf_counter() - took
        _truncate_wal(conn, lock)
    finally:
        lock.close()
        conn.close()
    return VacuumReport("incremental" if incremental else "full", before, file_bytes(path),
                        time.perf_counter() - started, steps, longest)


def _freelist(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def _truncate_wal(conn: sqlite3.Connection, lock: _WriteLock, attempts: int = 50) -> bool:
    """Empty the WAL file (``wal_checkpoint(TRUNCATE)``), without making writers wait long.

    TRUNCATE waits for every reader to reach the latest snapshot and blocks new writers
    meanwhile; the busy timeout is cut to 10 ms and a busy attempt is retried after a pause.
    Gives up (the WAL is reused, only not shrunk) after ``attempts``.
    """
    conn.execute("PRAGMA busy_timeout=10")
    try:
        for _ in range(attempts):
            with lock.held():
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                return True
            time.sleep(0.02)
        return False
    finally:
        conn.execute("PRAGMA busy_timeout=5000")
