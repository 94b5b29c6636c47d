"""The storage contract, run against both engines: SQLite (two stores on one file, as two
workers) and PostgreSQL (two stores on one database, as two nodes).

Only the :class:`~wxloan.storage.StoreBackend` interface is used, so the same test says
the same thing of both; what each engine stores is looked at through :func:`_messages`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from wxloan.storage import (
    ClaimStatus,
    CommitStatus,
    OutboundRecord,
    PostgresTarget,
    Session,
    StoreBackend,
    Target,
    TurnRecord,
    open_database,
)

NOW = 1_700_000_000.0

Open = Callable[[], Awaitable[StoreBackend]]


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """The database of one test, on either engine."""
    if request.param == "sqlite":
        return tmp_path / "contract.db"
    return PostgresTarget(request.getfixturevalue("pg_url"))


@pytest.fixture
async def stores(target: Target) -> AsyncIterator[tuple[StoreBackend, StoreBackend]]:
    """Two stores on one database: two workers (SQLite) or two nodes (PostgreSQL)."""
    first = await open_database(target)
    second = await open_database(target)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def _turn(msg_key: str, openid: str = "user-1", *, text: str = "你好", reply: str = "答",
          session: Session | None = None, expected_version: int | None = None,
          assessment: Any = None) -> TurnRecord:
    return TurnRecord(
        msg_key=msg_key, openid=openid, now=NOW, inbound_type="text", inbound_content=text,
        reply=f'{{"kind": "text", "text": "{reply}"}}', outbound=(OutboundRecord("text", reply),),
        session=session if session is not None else Session(openid),
        expected_version=expected_version, assessment=assessment,
    )


async def _messages(target: Target, openid: str) -> list[tuple[str, str]]:
    """(direction, content) of the user's logged messages, oldest first."""
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            return conn.execute("SELECT direction, content FROM messages WHERE openid = ?"
                                " ORDER BY id", (openid,)).fetchall()
    import asyncpg

    conn = await asyncpg.connect(target.url)
    try:
        rows = await conn.fetch("SELECT direction, content FROM messages WHERE openid = $1"
                                " ORDER BY id", openid)
    finally:
        await conn.close()
    return [(r["direction"], r["content"]) for r in rows]


async def test_both_open_migrated_and_answer_a_ping(stores: Any) -> None:
    first, second = stores
    assert "0005_message_meta" in first.applied_migrations
    assert second.applied_migrations == []  # the first one did it
    assert await first.ping() and await second.ping()


async def test_a_turn_is_stored_and_a_retry_on_the_other_store_gets_its_reply(stores):
    first, second = stores
    claim = await first.read_turn("m1", "user-1")
    assert claim.status is ClaimStatus.NEW and claim.session is None
    commit = await first.finish_turn(_turn("m1", session=Session("user-1", flow="eligibility")))
    assert commit.status is CommitStatus.COMMITTED
    retry = await second.read_turn("m1", "user-1")
    assert retry.status is ClaimStatus.DONE and "答" in retry.reply
    stored = await second.load_session("user-1")
    assert stored is not None and stored.flow == "eligibility" and stored.version == commit.version


async def test_a_message_processed_on_both_at_once_is_stored_once(stores, target):
    first, second = stores
    results = await asyncio.gather(
        first.finish_turn(_turn("m1", reply="甲")), second.finish_turn(_turn("m1", reply="乙"))
    )
    statuses = sorted(r.status.value for r in results)
    assert statuses in (["committed", "duplicate"], ["committed", "stale"])
    winner = next(r for r in results if r.status is CommitStatus.COMMITTED)
    loser = next(r for r in results if r.status is not CommitStatus.COMMITTED)
    if loser.status is CommitStatus.DUPLICATE:  # its reply is the winner's
        assert loser.reply is not None and loser.reply != ""
    assert [d for d, _ in await _messages(target, "user-1")] == ["in", "out"]
    assert winner.version == 1


async def test_a_turn_from_an_older_session_is_refused_as_stale(stores):
    first, second = stores
    await first.finish_turn(_turn("m1"))
    seen = await second.load_session("user-1")
    assert seen is not None
    ahead = await first.finish_turn(_turn("m2", expected_version=seen.version))
    assert ahead.status is CommitStatus.COMMITTED
    behind = await second.finish_turn(_turn("m3", expected_version=seen.version))
    assert behind.status is CommitStatus.STALE
    # the refused turn left nothing: its message key is still new
    assert (await second.read_turn("m3", "user-1")).status is ClaimStatus.NEW


async def test_racing_turns_of_one_user_lose_no_update(stores):
    async def bump(store: StoreBackend, key: str) -> None:
        for _ in range(200):  # each round exactly one of the racers commits
            seen = await store.load_session("user-1")
            count = 0 if seen is None else seen.slots["count"]
            record = dataclasses.replace(
                _turn(key, session=Session("user-1", slots={"count": count + 1})),
                expected_version=None if seen is None else seen.version,
            )
            if (await store.finish_turn(record)).status is CommitStatus.COMMITTED:
                return
        raise AssertionError("never committed")

    first, second = stores
    await asyncio.gather(*(bump(stores[i % 2], f"k{i}") for i in range(12)))
    stored = await first.load_session("user-1")
    assert stored is not None and stored.slots["count"] == 12 and stored.version == 12
    del second


async def test_a_claimed_reply_is_what_every_store_sees(stores):
    first, second = stores
    await first.finish_turn(_turn("m1", reply="原文"))
    text = (await first.read_turn("m1", "user-1")).reply
    assert await first.claim_reply("m1", text, '"success"', NOW) is True
    assert (await second.read_turn("m1", "user-1")).reply == '"success"'
    # a second claim that expects the old text fails, and says what is stored
    assert await second.claim_reply("m1", text, "其他", NOW) is False
    assert (await second.read_turn("m1", "user-1")).reply == '"success"'


async def test_late_deliveries_are_counted_across_stores(stores):
    first, second = stores
    counts = [await first.count_late_delivery("m1", "u", NOW),
              await second.count_late_delivery("m1", "u", NOW),
              await first.count_late_delivery("m1", "u", NOW)]
    assert counts == [1, 2, 3]


async def test_the_newest_assessment_is_returned(stores):
    first, second = stores
    assert await second.last_assessment("user-1") is None
    await first.finish_turn(_turn("m1", assessment=({"pay_score": 600}, {"flow": "a"})))
    later = dataclasses.replace(
        _turn("m2", assessment=({"pay_score": 700}, {"flow": "b"}), expected_version=1),
        now=NOW + 60,
    )
    assert (await first.finish_turn(later)).status is CommitStatus.COMMITTED
    newest = await second.last_assessment("user-1")
    assert newest is not None and newest.inputs == {"pay_score": 700}
    assert newest.result == {"flow": "b"} and newest.created_at == NOW + 60


async def test_personal_numbers_are_masked_in_what_is_stored(stores, target):
    first, _ = stores
    await first.finish_turn(_turn("m1", text="我的手机13912345678"))
    stored = dict(await _messages(target, "user-1"))
    assert stored["in"] == "我的手机139****5678"


async def test_a_cleared_session_is_gone_for_both(stores):
    first, second = stores
    await first.finish_turn(_turn("m1"))
    record = dataclasses.replace(_turn("m2", expected_version=1), session=None)
    assert (await first.finish_turn(record)).status is CommitStatus.COMMITTED
    assert await second.load_session("user-1") is None


async def test_the_access_token_is_shared(stores):
    first, second = stores
    assert await second.get_token("wxapp") is None
    await first.save_token("wxapp", "token-1", NOW + 7200, NOW)
    await first.save_token("wxapp", "token-2", NOW + 7300, NOW)
    assert await second.get_token("wxapp") == ("token-2", NOW + 7300)


async def test_a_quota_window_is_spent_once_across_stores(stores):
    first, second = stores
    await first.grant_quota("wxapp", "u", "reply", NOW, 3, 3600)
    spent = await asyncio.gather(
        *(store.consume_quota("wxapp", "u", NOW + 1) for store in (first, second) * 3)
    )
    assert sorted(map(str, spent)) == ["None", "None", "None", "reply", "reply", "reply"]
    await second.refund_quota("wxapp", "u", "reply", NOW + 2)
    assert await first.consume_quota("wxapp", "u", NOW + 3) == "reply"
    assert await first.consume_quota("wxapp", "u", NOW + 3600) is None  # expired


async def test_a_sent_delivery_is_logged_masked(stores, target):
    first, _ = stores
    await first.record_delivery(app_id="wxapp", openid="u", msg_key="m1", msg_type="text",
                                content="回电13912345678", status="sent", errcode=0, now=NOW)
    await first.record_delivery(app_id="wxapp", openid="u", msg_key="m2", msg_type="text",
                                content="没发出去", status="failed", errcode=45015, now=NOW)
    assert await _messages(target, "u") == [("out", "回电139****5678")]


async def test_the_lock_key_is_the_same_in_python_and_in_the_database(pg_url):
    import asyncpg

    from wxloan.storage.postgres.store import lock_key

    store = await open_database(PostgresTarget(pg_url))  # creates the schema's functions
    await store.close()
    conn = await asyncpg.connect(pg_url)
    try:
        for name in ["o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "wxapp", "用户", "", "x" * 200]:
            assert await conn.fetchval("SELECT wxloan_lock_key($1)", name) == lock_key(name)
    finally:
        await conn.close()


async def test_nodes_starting_at_once_apply_each_migration_once(pg_url):
    """Several nodes start on a new database together: one migrates, the others wait."""
    from wxloan.storage.postgres import MIGRATIONS

    opened = await asyncio.gather(*(open_database(PostgresTarget(pg_url)) for _ in range(6)))
    try:
        applied = [store.applied_migrations for store in opened]
        assert sorted(map(len, applied)) == [0] * 5 + [len(MIGRATIONS)]
        assert all(await asyncio.gather(*(store.ping() for store in opened)))
    finally:
        for store in opened:
            await store.close()
