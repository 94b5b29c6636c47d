"""The SQLite engine under :class:`~wxloan.storage.store.Store`: one writer thread, group commits.

Everything that touches a connection goes through an :class:`Engine`: the per-message
path (:mod:`.turns`), the outbound ledger (:mod:`.ledger`) and the health and operator
reads (:mod:`.reports`) hand it small functions of a :class:`sqlite3.Connection`. Why this
shape, measured (``tests/perf``):

* **Writes go to one writer thread.** SQLite allows one writer at a time, and a commit
  must never stall the event loop. Like datasette's write thread, a dedicated thread owns
  the writing connection; coroutines queue small functions and await the result.
* **Group commit.** The writer takes every job waiting in its queue and runs them in one
  transaction, each inside its own savepoint (a failing job rolls back alone). Under a
  burst, dozens of messages share one commit, so the pages they touch are written to the
  WAL once instead of once per message — per-message commits were the largest single cost
  of the hot path.
* **Per-message reads go through the same thread.** Looking up a message key and a session
  on the event loop looked cheap (5 µs each alone) but cost ~125 µs under load: every
  SQLite call releases the GIL, the writer thread takes it, and the loop waits to get it
  back. Queued to the writer (:meth:`Engine.query`), the two reads ride along with the next
  group commit (measured: 1,834 → 2,287 req/s). Rare reads (health, tokens, a stale
  session) stay inline on a read-only connection that never waits (``busy_timeout=0``,
  :meth:`Engine.read`).
* **Writers of several processes queue on a kernel lock.** Each group commit holds
  ``flock`` on ``<db>.writelock`` (as do :mod:`.retention`'s purge batches), instead of
  relying on SQLite's busy handler, which polls with growing sleeps and let one worker
  starve the other for seconds under load (measured: 4 s p99 with two workers).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from .errors import StoreClosedError
from .migrations import apply_migrations

__all__ = ["MAX_BATCH", "Engine", "connect"]

T = TypeVar("T")

#: Most jobs one group commit takes from the queue.
MAX_BATCH = 256


def connect(path: Path) -> sqlite3.Connection:
    """A writing connection as the writer thread uses it (WAL, ``synchronous=NORMAL``)."""
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    #: True: runs inside the shared group-commit transaction; False: alone, autocommit
    write: bool


_Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


def _deliver(results: list[_Outcome]) -> None:
    for future, value, error in results:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _call(conn: sqlite3.Connection, job: _Job) -> _Outcome:
    try:
        return job.future, job.fn(conn), None
    except Exception as exc:  # handed to the awaiting coroutine, which re-raises it
        return job.future, None, exc


class _Writer(threading.Thread):
    """The thread that owns the writing connection and commits jobs in groups."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="wxloan-sqlite-writer", daemon=True)
        self.path = path
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.ready = threading.Event()
        self.startup_error: BaseException | None = None
        self.applied: list[str] = []
        self.lock_fd = -1

    def run(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.lock_fd = os.open(f"{self.path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
            conn = connect(self.path)
            self.applied = apply_migrations(Database(conn))
        except BaseException as exc:  # reported to open() by the waiting coroutine
            self.startup_error = exc
            self.ready.set()
            return
        self.ready.set()
        try:
            self._serve(conn)
        finally:
            conn.close()
            os.close(self.lock_fd)

    def _serve(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            first = self.jobs.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._run_batch(conn, batch)

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        results: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        writes = [job for job in batch if job.write]
        for job in batch:
            if not job.write:
                results.setdefault(job.loop, []).append(_call(conn, job))
        if writes:
            outcomes: list[_Outcome] = []
            # Writers of several processes queue on a kernel lock instead of SQLite's busy
            # handler, which polls with growing sleeps and let one worker starve the other
            # for seconds under load (measured: 4 s p99 with two workers).
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            try:
                conn.execute("BEGIN IMMEDIATE")
                for job in writes:
                    conn.execute("SAVEPOINT job")
                    outcome = _call(conn, job)
                    if outcome[2] is not None:
                        conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append(outcome)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:  # the commit itself failed: every job failed
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                outcomes = [(job.future, None, exc) for job in writes]
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            for job, outcome in zip(writes, outcomes, strict=True):
                results.setdefault(job.loop, []).append(outcome)
        for loop, delivered in results.items():
            try:
                loop.call_soon_threadsafe(_deliver, delivered)
            except RuntimeError:  # that loop is closed: nobody waits any more
                pass


class Engine:
    """The writer thread and the inline reader of one database file.

    :meth:`open` starts both (creating and migrating the file); :meth:`close` stops them.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._reader: sqlite3.Connection | None = None
        #: the migrations :meth:`open` applied (empty: the file was up to date)
        self.applied_migrations: list[str] = []

    def submit(self, fn: Callable[[sqlite3.Connection], T], write: bool) -> asyncio.Future[T]:
        """Queue ``fn`` to the writer now; the future settles when it has run.

        :param write: True: in the next group commit (inside its own savepoint); False:
            alone, outside any transaction.
        :raises StoreClosedError: the engine is not open.
        """
        writer = self._writer
        if writer is None:
            raise StoreClosedError(str(self.path))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        writer.jobs.put(_Job(fn, future, loop, write))
        return future

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in the next group commit (inside its own savepoint)."""
        return await self.submit(fn, write=True)

    async def query(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a (possibly long) read on the writer thread, outside any transaction."""
        return await self.submit(fn, write=False)

    def read(self) -> sqlite3.Connection:
        """The inline read-only connection (never waits: ``busy_timeout=0``)."""
        if self._reader is None:
            raise StoreClosedError(str(self.path))
        return self._reader

    async def read_or_query(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Read inline; if the file is busy (another process), read on the writer thread."""
        try:
            return fn(self.read())
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return await self.query(fn)

    async def open(self) -> None:
        """Start the writer (creating and migrating the file), then open the reader."""
        writer = _Writer(self.path)
        writer.start()
        await asyncio.get_running_loop().run_in_executor(None, writer.ready.wait)
        if writer.startup_error is not None:
            raise writer.startup_error
        self._writer = writer
        self.applied_migrations = writer.applied
        reader = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA query_only=1")
        # Never wait on the event loop: a busy read (another process checkpointing) is
        # retried on the writer thread instead (see read_or_query).
        reader.execute("PRAGMA busy_timeout=0")
        self._reader = reader

    async def close(self) -> None:
        """Finish queued writes, stop the writer and close both connections."""
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.jobs.put(None)
        await asyncio.get_running_loop().run_in_executor(None, writer.join)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
