"""The SQLite store on its own: migrations, claims, sessions and operator queries."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from wxloan.storage import (
    ClaimStatus,
    CommitStatus,
    OutboundRecord,
    ReadOnlyStore,
    Session,
    StoreClosedError,
    TurnRecord,
    open_store,
    retention,
)

CST = dt.timezone(dt.timedelta(hours=8))
NOW = 1_710_000_000.0  # 2024-03-10 00:00 CST region; fixed, unlike the wall clock


def _rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def _turn(
    msg_key: str,
    openid: str = "user-1",
    now: float = NOW,
    *,
    text: str = "你好",
    reply: str = '{"kind": "text", "text": "答"}',
    session: Session | None = None,
    outbound: tuple[OutboundRecord, ...] = (OutboundRecord("text", "答"),),
    assessment=None,
) -> TurnRecord:
    return TurnRecord(
        msg_key=msg_key,
        openid=openid,
        now=now,
        inbound_type="text",
        inbound_content=text,
        reply=reply,
        outbound=outbound,
        session=session if session is not None else Session(openid),
        assessment=assessment,
    )


async def _finish(store, record: TurnRecord):
    """finish_turn as the pipeline calls it: computed from the session as stored now."""
    current = await store.load_session(record.openid)
    expected = None if current is None else current.version
    return await store.finish_turn(dataclasses.replace(record, expected_version=expected))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def store(db: Path):
    opened = await open_store(db)
    yield opened
    await opened.close()


# -- migrations -------------------------------------------------------------------------


async def test_migrations_are_applied_once_and_idempotent(db):
    first = await open_store(db)
    applied = list(first.applied_migrations)
    await first.close()
    assert applied  # a fresh file gets every migration
    second = await open_store(db)
    assert second.applied_migrations == []
    await second.close()
    third = await open_store(db)
    await third.close()
    names = [name for (name,) in _rows(db, "SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == applied
    assert len(set(names)) == len(names)
    tables = {name for (name,) in _rows(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "sessions", "messages", "processed", "assessments"} <= tables


async def test_store_creates_missing_parent_directory(tmp_path):
    path = tmp_path / "nested" / "dir" / "w.db"
    store = await open_store(path)
    assert await store.ping()
    await store.close()
    assert path.exists()


async def test_closed_store_refuses_work(db):
    store = await open_store(db)
    await store.close()
    await store.close()  # closing twice is harmless
    with pytest.raises(StoreClosedError):
        await store.ping()


async def test_database_uses_wal_for_concurrent_readers(store, db):
    assert _rows(db, "PRAGMA journal_mode") == [("wal",)]


# -- sessions --------------------------------------------------------------------------


async def test_session_round_trip(store):
    session = Session(
        "user-1",
        flow="eligibility",
        step="income",
        slots={"age": 30, "job": "工薪", "nested": {"a": [1, 2]}},
        pending_pages=["第二页", "第三页"],
    )
    claim = await store.read_turn("k1", "user-1")
    assert claim.status is ClaimStatus.NEW and claim.session is None
    await _finish(store, _turn("k1", session=session))
    loaded = await store.load_session("user-1")
    assert loaded == Session(
        "user-1",
        flow="eligibility",
        step="income",
        slots={"age": 30, "job": "工薪", "nested": {"a": [1, 2]}},
        pending_pages=["第二页", "第三页"],
        updated_at=NOW,
        version=1,
    )
    # read_turn hands the same session to the next message
    nxt = await store.read_turn("k2", "user-1")
    assert nxt.session == loaded


async def test_finish_turn_with_no_session_deletes_it(store):
    await _finish(store, _turn("k1", session=Session("user-1", flow="limits")))
    await _finish(store, dataclasses.replace(_turn("k2"), session=None))
    assert await store.load_session("user-1") is None


# -- de-duplication and session versions ------------------------------------------------


async def test_read_turn_new_then_done_with_the_stored_reply(store):
    first = await store.read_turn("msg-1", "user-1")
    assert first.status is ClaimStatus.NEW
    assert (await _finish(store, _turn("msg-1", reply='{"kind": "text", "text": "一"}'))).status \
        is CommitStatus.COMMITTED
    again = await store.read_turn("msg-1", "user-1")
    assert again.status is ClaimStatus.DONE
    assert json.loads(again.reply) == {"kind": "text", "text": "一"}


async def test_a_second_commit_of_one_message_is_a_duplicate_and_writes_nothing(store, db):
    await _finish(store, _turn("msg-1", reply='{"kind": "text", "text": "先"}'))
    second = await _finish(store, _turn("msg-1", reply='{"kind": "text", "text": "后"}'))
    assert second.status is CommitStatus.DUPLICATE
    assert json.loads(second.reply) == {"kind": "text", "text": "先"}
    assert _rows(db, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == [(1,)]


async def test_a_turn_computed_from_an_old_session_is_stale_and_rolled_back(store, db):
    await _finish(store, _turn("k1", session=Session("user-1", flow="eligibility")))
    seen = await store.load_session("user-1")
    assert seen is not None and seen.version == 1
    await _finish(store, _turn("k2", session=Session("user-1", flow="limits")))
    late = dataclasses.replace(_turn("k3", session=Session("user-1", flow="rejection")),
                               expected_version=seen.version)
    assert (await store.finish_turn(late)).status is CommitStatus.STALE
    assert (await store.load_session("user-1")).flow == "limits"
    # nothing of k3 was kept: its key can be processed again on the fresh session
    assert (await store.read_turn("k3", "user-1")).status is ClaimStatus.NEW
    assert _rows(db, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == [(2,)]


async def test_two_stores_on_one_file_store_each_message_once(db):
    stores = [await open_store(db) for _ in range(2)]
    try:
        for i in range(20):
            key = f"msg-{i}"
            results = await asyncio.gather(
                *(s.finish_turn(_turn(key, openid=f"user-{i}")) for s in stores)
            )
            assert sorted(r.status.value for r in results) == ["committed", "duplicate"], key
        assert _rows(db, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == [(20,)]
    finally:
        for s in stores:
            await s.close()


async def test_a_failing_turn_rolls_back_alone_inside_a_group_commit(store, db):
    class Boom:
        def __str__(self):
            raise RuntimeError("cannot serialise")

    good = [_finish(store, _turn(f"ok-{i}", openid=f"u{i}")) for i in range(5)]
    bad = store.finish_turn(_turn("bad", openid="ux", assessment=({"x": Boom()}, {})))
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    # the codec reports the value it could not write, with the value's own error as cause
    assert isinstance(results[-1], TypeError)
    assert isinstance(results[-1].__cause__, RuntimeError)
    assert all(r.status is CommitStatus.COMMITTED for r in results[:-1])
    assert _rows(db, "SELECT COUNT(*) FROM messages WHERE direction = 'in'") == [(5,)]
    assert (await store.read_turn("bad", "ux")).status is ClaimStatus.NEW


# -- operator queries ------------------------------------------------------------------


async def test_purge_deletes_only_old_rows(store, db):
    old, new = NOW - 40 * 86400, NOW
    for key, user, when in [
        ("o1", "old-user", old),
        ("n1", "new-user", new),
        ("o2", "both", old),
        ("n2", "both", new),
    ]:
        await _finish(store, _turn(key, user, when, assessment=({"a": 1}, {"r": 2})))
    counts = (await asyncio.to_thread(retention.purge, db, NOW - 30 * 86400)).deleted
    assert {table: n for table, n in counts.items() if n} == {
        "messages": 4, "processed": 2, "assessments": 2, "sessions": 1, "users": 1}
    assert {"deliveries", "quota_grants"} <= counts.keys()
    assert _rows(db, "SELECT DISTINCT created_at FROM messages") == [(new,)]
    assert sorted(_rows(db, "SELECT msg_key FROM processed")) == [("n1",), ("n2",)]
    assert sorted(_rows(db, "SELECT openid FROM users")) == [("both",), ("new-user",)]
    assert sorted(_rows(db, "SELECT openid FROM sessions")) == [("both",), ("new-user",)]
    assert _rows(db, "SELECT COUNT(*) FROM assessments") == [(2,)]


async def test_stats_counts_per_china_day(store, db):
    def at(day: int, hour: int, minute: int = 0) -> float:
        return dt.datetime(2024, 3, day, hour, minute, tzinfo=CST).timestamp()

    events = [
        ("a1", "alice", at(1, 9)),
        ("a2", "alice", at(1, 23, 30)),  # 15:30 UTC, still March 1st in China
        ("b1", "bob", at(2, 0, 30)),  # 16:30 UTC on March 1st, but March 2nd in China
        ("a3", "alice", at(2, 12)),
    ]
    for key, user, when in events:
        await _finish(store, 
            _turn(key, user, when, assessment=({"a": 1}, {"r": 1}) if key == "a3" else None)
        )
    await _finish(store, _turn("silent", "bob", at(2, 13), outbound=()))
    with ReadOnlyStore(db) as reader:  # as `wxloan stats` reads it, next to the server
        stats = reader.stats(days=14, now=at(3, 12))
    assert (stats.users, stats.messages, stats.assessments, stats.sessions) == (2, 9, 1, 2)
    by_day = {d.day: d for d in stats.days}
    assert sorted(by_day) == ["2024-03-01", "2024-03-02"]
    mar1, mar2 = by_day["2024-03-01"], by_day["2024-03-02"]
    assert (mar1.new_users, mar1.messages_in, mar1.messages_out, mar1.assessments) == (1, 2, 2, 0)
    assert (mar2.new_users, mar2.messages_in, mar2.messages_out, mar2.assessments) == (1, 3, 2, 1)


async def test_stats_window_excludes_older_days(store, db):
    old = NOW - 30 * 86400
    await _finish(store, _turn("k-old", "u", old))
    await _finish(store, _turn("k-new", "v", NOW))
    with ReadOnlyStore(db) as reader:
        stats = reader.stats(days=7, now=NOW + 60)
    assert stats.messages == 4  # totals are all-time
    assert sum(d.messages_in for d in stats.days) == 1


async def test_transcript_is_oldest_first_and_limited(store):
    for i in range(5):
        key = f"k{i}"
        await _finish(store, 
            _turn(
                key, "user-1", NOW + i, text=f"问{i}", outbound=(OutboundRecord("text", f"答{i}"),)
            )
        )
    await _finish(store, _turn("other", "user-2", NOW, text="别人的"))
    full = await store.transcript("user-1")
    assert [(r["direction"], r["content"]) for r in full] == [
        item for i in range(5) for item in (("in", f"问{i}"), ("out", f"答{i}"))
    ]
    last = await store.transcript("user-1", limit=3)
    assert [r["content"] for r in last] == ["答3", "问4", "答4"]
    assert await store.transcript("nobody") == []


async def test_messages_are_masked_at_write_even_if_the_caller_forgot(store, db):
    await _finish(store, 
        _turn(
            "k1",
            text="手机13812345678",
            outbound=(OutboundRecord("text", "卡6222020012345678901"),),
        )
    )
    contents = [c for (c,) in _rows(db, "SELECT content FROM messages ORDER BY id")]
    assert contents == ["手机138****5678", "卡6222***********8901"]


async def test_ping(store):
    assert await store.ping() is True


# -- out-of-band delivery claims and late-delivery counts ---------------------------------

TEXT = '{"kind": "text", "text": "答"}'
CLAIMED = '{"kind": "success", "text": ""}'


async def test_claim_reply_swaps_only_the_expected_reply(tmp_path: Path):
    store = await open_store(tmp_path / "c.db")
    try:
        await _finish(store, _turn("m-claim", reply=TEXT))
        assert await store.claim_reply("m-claim", TEXT, CLAIMED, NOW) is True
        assert (await store.read_turn("m-claim", "user-1")).reply == CLAIMED
        # a second claim of the same reply loses: exactly one sender may push it
        assert await store.claim_reply("m-claim", TEXT, CLAIMED, NOW) is False
        assert _rows(tmp_path / "c.db", "SELECT reply FROM processed") == [(CLAIMED,)]
        # and giving it back is the same swap the other way
        assert await store.claim_reply("m-claim", CLAIMED, TEXT, NOW) is True
        assert (await store.read_turn("m-claim", "user-1")).reply == TEXT
    finally:
        await store.close()


async def test_claim_reply_changes_the_cache_before_it_is_awaited(tmp_path: Path):
    store = await open_store(tmp_path / "c.db")
    try:
        await _finish(store, _turn("m-now", reply=TEXT))
        pending = store.claim_reply("m-now", TEXT, CLAIMED, NOW)
        assert (await store.read_turn("m-now", "user-1")).reply == CLAIMED
        assert await pending is True
    finally:
        await store.close()


async def test_a_lost_claim_leaves_the_cache_to_the_database(tmp_path: Path):
    path = tmp_path / "c.db"
    store = await open_store(path)
    try:
        await _finish(store, _turn("m-lost", reply=TEXT))
        with sqlite3.connect(path) as conn:  # another worker claimed it first
            conn.execute("UPDATE processed SET reply = 'other' WHERE msg_key = 'm-lost'")
        assert await store.claim_reply("m-lost", TEXT, CLAIMED, NOW) is False
        assert (await store.read_turn("m-lost", "user-1")).reply == "other"
    finally:
        await store.close()


async def test_late_deliveries_are_counted_per_message_and_survive_a_restart(tmp_path: Path):
    path = tmp_path / "c.db"
    store = await open_store(path)
    try:
        assert await store.count_late_delivery("m-1", "user-1", NOW) == 1
        assert await store.count_late_delivery("m-1", "user-1", NOW + 5) == 2
        assert await store.count_late_delivery("m-2", "user-1", NOW) == 1
    finally:
        await store.close()
    reopened = await open_store(path)
    try:
        assert await reopened.count_late_delivery("m-1", "user-1", NOW + 10) == 3
    finally:
        await reopened.close()


async def test_the_last_assessment_is_the_newest_of_that_user(store):
    assert await store.last_assessment("user-a") is None
    await _finish(store, _turn("k1", "user-a", NOW, assessment=({"pay_score": 590},
                                                                  {"flow": "eligibility"})))
    await _finish(store, _turn("k2", "user-b", NOW + 5, assessment=({"pay_score": 800},
                                                                      {"flow": "limits"})))
    await _finish(store, _turn("k3", "user-a", NOW + 10, assessment=({"pay_score": 710},
                                                                       {"flow": "rejection"})))
    await _finish(store, _turn("k4", "user-a", NOW + 20))  # a turn without an assessment
    last = await store.last_assessment("user-a")
    assert last is not None
    assert (last.inputs, last.result, last.created_at) == (
        {"pay_score": 710}, {"flow": "rejection"}, NOW + 10)
    other = await store.last_assessment("user-b")
    assert other is not None and other.result == {"flow": "limits"}


async def test_equal_times_give_the_one_stored_last(store):
    for key, score in (("e1", 600), ("e2", 650)):
        await _finish(store, _turn(key, "user-c", NOW, assessment=({"pay_score": score},
                                                                     {"flow": "eligibility"})))
    last = await store.last_assessment("user-c")
    assert last is not None and last.inputs == {"pay_score": 650}
