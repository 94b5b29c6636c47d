"""Retention (``storage.retention``): bounded batches that interleave with a live writer."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import time
from pathlib import Path

import pytest

from wxloan.storage import NoDatabaseError, OutboundRecord, Session, TurnRecord, open_store, retention
from tests.perf.prefill import prefill_synthetic
from wxloan.storage.store import ReadOnlyStore

OLD_MESSAGES = 200
RECENT = 5


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def _count(path: Path, table: str) -> int:
    return int(_rows(path, f"SELECT COUNT(*) FROM {table}")[0][0])


def _dump(path: Path) -> dict[str, list[tuple]]:
    tables = [name for (name,) in _rows(path, "SELECT name FROM sqlite_master WHERE type='table'")]
    return {t: sorted(_rows(path, f"SELECT * FROM [{t}]"), key=repr) for t in tables}


def _turn(key: str, openid: str, now: float) -> TurnRecord:
    return TurnRecord(
        msg_key=key, openid=openid, now=now, inbound_type="text", inbound_content="你好",
        reply='{"kind":"text","text":"答"}', outbound=(OutboundRecord("text", "答"),),
        session=Session(openid), expected_version=None,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Old data (a day ago: 10 users, 200 messages, 100 keys) and a few recent rows."""
    path = tmp_path / "r.db"
    prefill_synthetic(path, users=10, messages=OLD_MESSAGES)
    now = time.time()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO messages (openid, direction, msg_type, content, created_at)"
            " VALUES ('new', 'in', 'text', 'hi', ?)", [(now,)] * RECENT,
        )
        conn.execute("INSERT INTO users VALUES ('new', ?, ?, NULL)", (now, now))
        conn.execute("INSERT INTO processed VALUES ('new-key', 'new', 'done', 'x', ?, ?)",
                     (now, now))
    return path


def _cutoff() -> float:
    return time.time() - 3600  # keeps the recent rows, takes the day-old ones


# -- what goes ----------------------------------------------------------------------------


def test_plan_counts_without_changing_anything(db):
    before = _dump(db)
    planned = retention.plan(db, _cutoff())
    assert planned["messages"] == OLD_MESSAGES
    assert planned["processed"] == OLD_MESSAGES // 2
    assert planned["users"] == planned["sessions"] == 10
    assert _dump(db) == before


def test_purge_deletes_old_rows_of_every_table_and_keeps_recent_ones(db):
    report = retention.purge(db, _cutoff())
    assert report.deleted["messages"] == OLD_MESSAGES
    assert report.deleted["processed"] == OLD_MESSAGES // 2
    assert report.deleted["users"] == report.deleted["sessions"] == 10
    assert _count(db, "messages") == RECENT
    assert _rows(db, "SELECT openid FROM users") == [("new",)]
    assert _rows(db, "SELECT msg_key FROM processed") == [("new-key",)]
    assert _count(db, "sessions") == 0
    assert retention.plan(db, _cutoff()) == {table: 0 for table in report.deleted}


def test_every_per_message_table_is_covered(db):
    present = {name for (name,) in _rows(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    covered = {table for table, _ in retention.RULES}
    assert {"messages", "processed", "assessments", "sessions", "users", "deliveries",
            "quota_grants", "delivery_attempts"} <= covered
    # every table of the schema is either purged or holds no per-message data
    assert present - covered <= {"access_tokens", "_sqlite_migrations"}


def test_missing_tables_are_skipped(tmp_path):
    path = tmp_path / "old-schema.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, created_at FLOAT)")
        conn.executemany("INSERT INTO messages (created_at) VALUES (?)", [(1.0,), (2.0,)])
    assert retention.plan(path, 10.0) == {"messages": 2}
    assert retention.purge(path, 10.0).deleted == {"messages": 2}


def test_a_table_without_rowid_is_purged_too(tmp_path):
    path = tmp_path / "norowid.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE delivery_attempts (msg_key TEXT PRIMARY KEY, openid TEXT,"
                     " late INT, updated_at FLOAT) WITHOUT ROWID")
        conn.executemany("INSERT INTO delivery_attempts VALUES (?, 'u', 1, ?)",
                         [(f"k{n}", float(n)) for n in range(30)])
    report = retention.purge(path, 20.0, batch_rows=7)
    assert report.deleted == {"delivery_attempts": 20}
    assert _count(path, "delivery_attempts") == 10


# -- bounded batches ---------------------------------------------------------------------


def test_batches_are_bounded_and_each_is_committed_alone(db):
    seen: list[tuple[str, int, int]] = []

    def after_batch(table: str, deleted: int) -> None:
        # another connection sees every batch as soon as it is done: its own transaction
        seen.append((table, deleted, _count(db, table)))

    report = retention.purge(db, _cutoff(), batch_rows=10, on_batch=after_batch)
    messages = [entry for entry in seen if entry[0] == "messages"]
    assert all(deleted <= 10 for _, deleted, _ in seen)
    # the recent rows after the last old one are not scanned: the count says it is done
    assert [d for _, d, _ in messages] == [10] * (OLD_MESSAGES // 10)
    remaining = [left for _, _, left in messages]
    assert remaining == [OLD_MESSAGES + RECENT - 10 * min(n, OLD_MESSAGES // 10)
                         for n in range(1, len(messages) + 1)]
    assert report.batches == len(seen)
    assert len(report.holds) == report.batches


def test_nothing_old_means_no_batch_and_no_lock(db):
    before = _dump(db)
    report = retention.purge(db, 0.0)  # nothing is older than 1970
    assert report.batches == 0
    assert set(report.deleted.values()) == {0}
    assert _dump(db) == before


def test_the_lock_is_free_between_batches(db):
    """Between two batches another process's writer takes the flock at once and commits."""
    fd = os.open(f"{db}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("PRAGMA busy_timeout=0")  # SQLite's write lock must be free as well
    writes = []

    def after_batch(table: str, deleted: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the purge still held it
        try:
            other.execute("INSERT INTO messages (openid, direction, msg_type, content,"
                          " created_at) VALUES ('live', 'in', 'text', 'x', ?)", (time.time(),))
            writes.append(table)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    try:
        report = retention.purge(db, _cutoff(), batch_rows=25, on_batch=after_batch)
    finally:
        other.close()
        os.close(fd)
    assert len(writes) == report.batches > OLD_MESSAGES // 25
    assert _count(db, "messages WHERE openid = 'live'") == len(writes)


async def test_a_live_store_commits_between_purge_batches(db):
    """The server's writer thread (same flock, another fd) gets in between two batches."""
    store = await open_store(db)
    loop = asyncio.get_running_loop()
    committed: list[str] = []

    def after_batch(table: str, deleted: int) -> None:
        if table == "messages" and len(committed) < 3:
            key = f"live-{len(committed)}"
            future = asyncio.run_coroutine_threadsafe(
                store.finish_turn(_turn(key, key, time.time())), loop
            )
            future.result(timeout=30)  # would never finish if the purge kept the lock
            committed.append(key)

    try:
        report = await asyncio.to_thread(
            retention.purge, db, _cutoff(), batch_rows=20, on_batch=after_batch
        )
    finally:
        await store.close()
    assert committed == ["live-0", "live-1", "live-2"]
    assert report.deleted["messages"] == OLD_MESSAGES
    assert _count(db, "processed WHERE msg_key LIKE 'live-%'") == 3


def test_batch_size_adapts_to_the_time_target(tmp_path):
    def sizes(target: float) -> list[int]:
        path = tmp_path / f"{target}.db"
        prefill_synthetic(path, users=2, messages=2000)
        seen: list[int] = []
        retention.purge(path, _cutoff(), target_batch_s=target,
                        on_batch=lambda t, d: seen.append(d) if t == "messages" else None)
        assert sum(seen) == 2000
        return [d for d in seen if d]

    generous = sizes(10.0)  # grows, by at most a quarter per batch
    assert generous[:3] == [retention.FIRST_LIMIT, 320, 400]
    impossible = sizes(1e-9)  # shrinks at once, down to the floor
    assert impossible[0] == retention.FIRST_LIMIT
    assert set(impossible[1:-1]) == {retention.MIN_LIMIT}


def test_progress_reports_rows_so_far_against_the_plan(db):
    calls: list[tuple[str, int, int]] = []
    planned = retention.plan(db, _cutoff())
    retention.purge(db, _cutoff(), batch_rows=50, totals=planned,
                    progress=lambda t, d, n: calls.append((t, d, n)))
    messages = [(d, n) for t, d, n in calls if t == "messages"]
    assert messages[-1] == (OLD_MESSAGES, OLD_MESSAGES)
    assert [d for d, _ in messages] == sorted(d for d, _ in messages)


# -- vacuum -------------------------------------------------------------------------------


def test_vacuum_full_then_incremental_shrinks_the_file(tmp_path):
    path = tmp_path / "v.db"
    prefill_synthetic(path, users=100, messages=20_000)
    retention.purge(path, time.time() - 3600)
    first = retention.vacuum(path)
    assert first.mode == "full"
    assert first.bytes_after < first.bytes_before / 5
    assert first.bytes_after == retention.file_bytes(path)
    assert retention.vacuums_live(path)  # switched to incremental for next time
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO messages (openid, direction, msg_type, content,"
                         " created_at) VALUES ('u', 'in', 'text', ?, 1.0)",
                         [("x" * 200,)] * 5000)
    grown = retention.file_bytes(path)
    retention.purge(path, 10.0)
    free = int(_rows(path, "PRAGMA freelist_count")[0][0])
    second = retention.vacuum(path, step_pages=16)  # bounded steps, each its own transaction
    assert second.mode == "incremental"
    assert second.steps == -(-free // 16)
    assert _rows(path, "PRAGMA freelist_count") == [(0,)]
    assert second.bytes_after < grown / 3
    assert _count(path, "users") == 0


# -- never creates a database -------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda p: retention.plan(p, 0.0),
    lambda p: retention.purge(p, 0.0),
    lambda p: retention.vacuum(p),
    lambda p: ReadOnlyStore(p),
])
def test_a_missing_database_is_refused_and_not_created(tmp_path, call):
    path = tmp_path / "typo.db"
    with pytest.raises(NoDatabaseError):
        call(path)
    assert list(tmp_path.iterdir()) == []


def test_a_non_finite_cutoff_is_refused(db):
    with pytest.raises(ValueError):
        retention.purge(db, float("nan"))


def test_read_only_store_reads_and_cannot_write(db):
    with ReadOnlyStore(db) as store:
        assert store.stats(days=3).messages == OLD_MESSAGES + RECENT
        assert [row["content"] for row in store.transcript("new")] == ["hi"] * RECENT
        with pytest.raises(sqlite3.OperationalError):
            store._conn.execute("DELETE FROM messages")
