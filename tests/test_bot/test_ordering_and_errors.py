"""Per-user ordering, parallelism across users, and handlers that crash."""

from __future__ import annotations

import asyncio
import time

import pytest

from wxloan.handlers.contract import Outcome, Turn
from wxloan.bot.keys import PIPELINE
from wxloan.bot.locks import KeyedLocks
from tests.conftest import rows

from .support import ERROR, MENU, new_msg_id, router_for, say, text_xml

Interval = tuple[str, str, float, float]  # openid, text, start, end


def _timed_router(intervals: list[Interval], delay: float = 0.2):
    async def slow(turn: Turn) -> Outcome:
        start = time.monotonic()
        await asyncio.sleep(delay)
        intervals.append((turn.message.openid, turn.text, start, time.monotonic()))
        return turn.stay(say(turn.text))

    return router_for(slow)


async def test_messages_of_one_user_are_processed_one_at_a_time(make_wechat):
    intervals: list[Interval] = []
    wechat = await make_wechat(router=_timed_router(intervals))
    replies = await asyncio.gather(wechat.text("user-1", "甲"), wechat.text("user-1", "乙"))
    assert sorted(r.content for r in replies) == ["乙", "甲"]
    assert len(intervals) == 2
    (_, _, _start1, end1), (_, _, start2, _end2) = sorted(intervals, key=lambda i: i[2])
    assert start2 >= end1, "the second message started before the first one finished"


async def test_second_message_of_a_user_sees_the_state_saved_by_the_first(make_wechat):
    seen: list[int] = []

    async def counting(turn: Turn) -> Outcome:
        n = int(turn.state.slots.get("n", 0))
        seen.append(n)
        await asyncio.sleep(0.1)
        return turn.stay(say(str(n + 1)), slots={"n": n + 1})

    wechat = await make_wechat(router=router_for(counting))
    await asyncio.gather(*(wechat.text("user-1", f"m{i}") for i in range(3)))
    assert sorted(seen) == [0, 1, 2]  # no lost update


async def test_messages_of_different_users_overlap(make_wechat):
    intervals: list[Interval] = []
    wechat = await make_wechat(router=_timed_router(intervals))
    await asyncio.gather(wechat.text("user-1", "甲"), wechat.text("user-2", "乙"))
    assert {i[0] for i in intervals} == {"user-1", "user-2"}
    (_, _, _start1, end1), (_, _, start2, _end2) = sorted(intervals, key=lambda i: i[2])
    assert start2 < end1, "two users were serialised"


async def test_crashing_handler_apologises_and_retry_gets_same_apology(make_wechat, db_path):
    calls: list[str] = []

    async def crash(turn: Turn) -> Outcome:
        calls.append(turn.text)
        if turn.text == "boom":
            raise RuntimeError("handler bug")
        return turn.stay(say("ok:" + turn.text))

    wechat = await make_wechat(router=router_for(crash))
    msg_id = new_msg_id()
    first = await wechat.text("user-e", "boom", msg_id=msg_id)
    assert first.status == 200
    assert ERROR in first.content
    retry = await wechat.text("user-e", "boom", msg_id=msg_id)
    assert retry.status == 200
    assert retry.content == first.content
    assert calls == ["boom"]  # the retry was not re-run
    # The server keeps working for this and other users.
    assert (await wechat.text("user-e", "hello")).content == "ok:hello"
    assert (await wechat.text("user-f", "hi")).content == "ok:hi"
    assert (await wechat.client.get("/healthz")).status == 200


async def test_crashing_handler_keeps_the_users_previous_state(make_wechat, db_path):
    async def flow(turn: Turn) -> Outcome:
        if turn.text == "boom":
            raise ValueError("bad input handling")
        return turn.goto("eligibility", "age", say("几岁？"), slots={"job": "salaried"})

    wechat = await make_wechat(router=router_for(flow))
    await wechat.text("user-e", "开始")
    await wechat.text("user-e", "boom")
    assert rows(db_path, "SELECT flow, step, slots FROM sessions") == [
        ("eligibility", "age", '{"job":"salaried"}')
    ]


async def test_crash_in_safe_mode_still_gets_an_encrypted_apology(make_wechat):
    async def crash(turn: Turn) -> Outcome:
        raise RuntimeError("handler bug")

    wechat = await make_wechat(router=router_for(crash))
    reply = await wechat.text("user-e", "hi", mode="safe")
    assert reply.status == 200
    assert ERROR in reply.content


async def test_default_dialogue_survives_many_users_at_once(wechat, db_path):
    replies = await asyncio.gather(
        *(wechat.post(text_xml(f"user-{i}", "你好", int(wechat.clock()))) for i in range(20))
    )
    assert all(r.status == 200 and MENU in r.content for r in replies)
    assert rows(db_path, "SELECT COUNT(DISTINCT openid) FROM sessions") == [(20,)]


# -- the per-user lock table itself --------------------------------------------------------


async def test_keyed_locks_serialise_one_key_and_forget_idle_keys():
    locks = KeyedLocks()
    order: list[str] = []

    async def work(key: str, name: str) -> None:
        async with locks.hold(key):
            order.append(f"{name}+")
            await asyncio.sleep(0.02)
            order.append(f"{name}-")

    await asyncio.gather(work("a", "1"), work("a", "2"), work("a", "3"))
    assert order == ["1+", "1-", "2+", "2-", "3+", "3-"]
    assert len(locks) == 0  # no lock kept for an idle user


async def test_keyed_locks_forget_a_key_after_a_cancelled_waiter():
    locks = KeyedLocks()
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("a"):
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with locks.hold("a"):
            pass

    first = asyncio.create_task(holder())
    await holding.wait()
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    await first
    assert len(locks) == 0


async def test_pipeline_keeps_no_per_user_state_after_the_rush(wechat):
    await asyncio.gather(
        *(wechat.post(text_xml(f"user-{i}", "你好", int(wechat.clock()))) for i in range(10))
    )
    pipeline = wechat.client.app[PIPELINE]
    assert pipeline.in_flight == 0
    assert len(pipeline._locks) == 0
