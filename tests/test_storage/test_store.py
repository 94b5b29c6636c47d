"""The SQLite store on its own: migrations, claims, sessions and operator queries."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from storage import (
    ClaimStatus,
    OutboundRecord,
    Session,
    StoreClosedError,
    TurnRecord,
    open_store,
)
from storage.store import STALE_CLAIM_SECONDS

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
    claim = await store.begin_turn("k1", "user-1", NOW)
    assert claim.status is ClaimStatus.NEW and claim.session is None
    await store.finish_turn(_turn("k1", session=session))
    loaded = await store.load_session("user-1")
    assert loaded == Session(
        "user-1",
        flow="eligibility",
        step="income",
        slots={"age": 30, "job": "工薪", "nested": {"a": [1, 2]}},
        pending_pages=["第二页", "第三页"],
        updated_at=NOW,
    )
    # begin_turn hands the same session to the next message
    nxt = await store.begin_turn("k2", "user-1", NOW + 1)
    assert nxt.session == loaded


async def test_finish_turn_with_no_session_deletes_it(store):
    await store.begin_turn("k1", "user-1", NOW)
    await store.finish_turn(_turn("k1", session=Session("user-1", flow="limits")))
    await store.begin_turn("k2", "user-1", NOW)
    await store.finish_turn(dataclasses.replace(_turn("k2"), session=None))
    assert await store.load_session("user-1") is None


async def test_clear_session(store):
    await store.begin_turn("k1", "user-1", NOW)
    await store.finish_turn(_turn("k1", session=Session("user-1", flow="limits")))
    await store.clear_session("user-1")
    assert await store.load_session("user-1") is None


# -- claims ----------------------------------------------------------------------------


async def test_claim_goes_new_pending_done(store):
    first = await store.begin_turn("msg-1", "user-1", NOW)
    assert first.status is ClaimStatus.NEW
    again = await store.begin_turn("msg-1", "user-1", NOW + 1)
    assert again.status is ClaimStatus.PENDING
    await store.finish_turn(_turn("msg-1", reply='{"kind": "text", "text": "好的"}'))
    done = await store.begin_turn("msg-1", "user-1", NOW + 2)
    assert done.status is ClaimStatus.DONE
    assert json.loads(done.reply) == {"kind": "text", "text": "好的"}
    # DONE stays DONE, however old
    later = await store.begin_turn("msg-1", "user-1", NOW + 10 * STALE_CLAIM_SECONDS)
    assert later.status is ClaimStatus.DONE


async def test_stale_pending_claim_is_taken_over(store):
    assert (await store.begin_turn("msg-1", "user-1", NOW)).status is ClaimStatus.NEW
    just_before = await store.begin_turn("msg-1", "user-1", NOW + STALE_CLAIM_SECONDS - 1)
    assert just_before.status is ClaimStatus.PENDING
    taken = await store.begin_turn("msg-1", "user-1", NOW + STALE_CLAIM_SECONDS + 1)
    assert taken.status is ClaimStatus.NEW
    # the takeover refreshed the claim: an immediate second look sees it pending again
    again = await store.begin_turn("msg-1", "user-1", NOW + STALE_CLAIM_SECONDS + 2)
    assert again.status is ClaimStatus.PENDING


async def test_release_claim_lets_the_retry_process_afresh(store):
    await store.begin_turn("msg-1", "user-1", NOW)
    await store.release_claim("msg-1")
    assert (await store.begin_turn("msg-1", "user-1", NOW + 1)).status is ClaimStatus.NEW


async def test_release_claim_never_forgets_a_finished_message(store):
    await store.begin_turn("msg-1", "user-1", NOW)
    await store.finish_turn(_turn("msg-1"))
    await store.release_claim("msg-1")
    assert (await store.begin_turn("msg-1", "user-1", NOW + 1)).status is ClaimStatus.DONE


async def test_wait_for_reply_sees_another_stores_result(db):
    a, b = await open_store(db), await open_store(db)
    try:
        await a.begin_turn("msg-1", "user-1", NOW)
        waiter = asyncio.create_task(b.wait_for_reply("msg-1", timeout=2.0))
        await asyncio.sleep(0.1)
        await a.finish_turn(_turn("msg-1", reply='{"kind": "text", "text": "迟到"}'))
        assert json.loads(await waiter) == {"kind": "text", "text": "迟到"}
        assert await b.wait_for_reply("msg-unknown", timeout=0.05) is None
    finally:
        await a.close()
        await b.close()


async def test_two_stores_on_one_file_never_both_claim_a_key(db):
    stores = [await open_store(db) for _ in range(2)]
    try:
        for i in range(30):
            key = f"msg-{i}"
            claims = await asyncio.gather(*(s.begin_turn(key, "user-1", NOW) for s in stores))
            statuses = sorted(c.status.value for c in claims)
            assert statuses == ["new", "pending"], (key, statuses)
    finally:
        for s in stores:
            await s.close()


async def test_two_stores_many_concurrent_claims_exactly_one_winner(db):
    stores = [await open_store(db) for _ in range(3)]
    try:
        claims = await asyncio.gather(
            *(s.begin_turn("hot-key", "user-1", NOW) for s in stores for _ in range(5))
        )
        assert sum(c.status is ClaimStatus.NEW for c in claims) == 1
    finally:
        for s in stores:
            await s.close()


async def test_finish_turn_is_one_transaction(store, db):
    await store.begin_turn("msg-1", "user-1", NOW)
    bad = _turn("msg-1", assessment=({"x": object()}, {"y": 1}))  # default=str copes
    await store.finish_turn(bad)
    assert _rows(db, "SELECT COUNT(*) FROM assessments") == [(1,)]

    class Boom:
        def __str__(self):
            raise RuntimeError("cannot serialise")

    await store.begin_turn("msg-2", "user-1", NOW)
    with pytest.raises(RuntimeError):
        await store.finish_turn(_turn("msg-2", assessment=({"x": Boom()}, {})))
    # nothing of msg-2 was written: no message rows, the claim still pending
    assert _rows(db, "SELECT COUNT(*) FROM messages") == [(2,)]
    assert _rows(db, "SELECT status FROM processed WHERE msg_key='msg-2'") == [("pending",)]


# -- operator queries ------------------------------------------------------------------


async def test_purge_deletes_only_old_rows(store, db):
    old, new = NOW - 40 * 86400, NOW
    for key, user, when in [
        ("o1", "old-user", old),
        ("n1", "new-user", new),
        ("o2", "both", old),
        ("n2", "both", new),
    ]:
        await store.begin_turn(key, user, when)
        await store.finish_turn(_turn(key, user, when, assessment=({"a": 1}, {"r": 2})))
    counts = await store.purge(NOW - 30 * 86400)
    assert counts == {"messages": 4, "processed": 2, "assessments": 2, "sessions": 1, "users": 1,
                      "deliveries": 0, "quota_grants": 0}
    assert _rows(db, "SELECT DISTINCT created_at FROM messages") == [(new,)]
    assert sorted(_rows(db, "SELECT msg_key FROM processed")) == [("n1",), ("n2",)]
    assert sorted(_rows(db, "SELECT openid FROM users")) == [("both",), ("new-user",)]
    assert sorted(_rows(db, "SELECT openid FROM sessions")) == [("both",), ("new-user",)]
    assert _rows(db, "SELECT COUNT(*) FROM assessments") == [(2,)]


async def test_stats_counts_per_china_day(store):
    def at(day: int, hour: int, minute: int = 0) -> float:
        return dt.datetime(2024, 3, day, hour, minute, tzinfo=CST).timestamp()

    events = [
        ("a1", "alice", at(1, 9)),
        ("a2", "alice", at(1, 23, 30)),  # 15:30 UTC, still March 1st in China
        ("b1", "bob", at(2, 0, 30)),  # 16:30 UTC on March 1st, but March 2nd in China
        ("a3", "alice", at(2, 12)),
    ]
    for key, user, when in events:
        await store.begin_turn(key, user, when)
        await store.finish_turn(
            _turn(key, user, when, assessment=({"a": 1}, {"r": 1}) if key == "a3" else None)
        )
    await store.begin_turn("silent", "bob", at(2, 13))
    await store.finish_turn(_turn("silent", "bob", at(2, 13), outbound=()))
    stats = await store.stats(days=14, now=at(3, 12))
    assert (stats.users, stats.messages, stats.assessments, stats.sessions) == (2, 9, 1, 2)
    by_day = {d.day: d for d in stats.days}
    assert sorted(by_day) == ["2024-03-01", "2024-03-02"]
    mar1, mar2 = by_day["2024-03-01"], by_day["2024-03-02"]
    assert (mar1.new_users, mar1.messages_in, mar1.messages_out, mar1.assessments) == (1, 2, 2, 0)
    assert (mar2.new_users, mar2.messages_in, mar2.messages_out, mar2.assessments) == (1, 3, 2, 1)


async def test_stats_window_excludes_older_days(store):
    old = NOW - 30 * 86400
    await store.begin_turn("k-old", "u", old)
    await store.finish_turn(_turn("k-old", "u", old))
    await store.begin_turn("k-new", "v", NOW)
    await store.finish_turn(_turn("k-new", "v", NOW))
    stats = await store.stats(days=7, now=NOW + 60)
    assert stats.messages == 4  # totals are all-time
    assert sum(d.messages_in for d in stats.days) == 1


async def test_transcript_is_oldest_first_and_limited(store):
    for i in range(5):
        key = f"k{i}"
        await store.begin_turn(key, "user-1", NOW + i)
        await store.finish_turn(
            _turn(
                key, "user-1", NOW + i, text=f"问{i}", outbound=(OutboundRecord("text", f"答{i}"),)
            )
        )
    await store.begin_turn("other", "user-2", NOW)
    await store.finish_turn(_turn("other", "user-2", NOW, text="别人的"))
    full = await store.transcript("user-1")
    assert [(r["direction"], r["content"]) for r in full] == [
        item for i in range(5) for item in (("in", f"问{i}"), ("out", f"答{i}"))
    ]
    last = await store.transcript("user-1", limit=3)
    assert [r["content"] for r in last] == ["答3", "问4", "答4"]
    assert await store.transcript("nobody") == []


async def test_messages_are_masked_at_write_even_if_the_caller_forgot(store, db):
    await store.begin_turn("k1", "user-1", NOW)
    await store.finish_turn(
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
