"""WeChat retries: one message is handled once, whatever the timing or a restart."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import rows
from tests.wechat import message_xml
from wxloan.handlers import Flow
from wxloan.handlers.contract import Outcome, Turn

from .support import MENU, WELCOME, count, echo_router, new_msg_id, router_for, say, text_xml


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_same_msgid_twice_gets_identical_reply_and_one_log_row(wechat, db_path, mode):
    xml = text_xml("user-d", "你好", int(wechat.clock()))
    first = await wechat.post(xml, mode=mode)
    second = await wechat.post(xml, mode=mode)
    assert first.status == second.status == 200
    assert MENU in first.content
    assert second.xml == first.xml
    assert count(db_path, "messages", "direction = 'in'") == 1
    assert count(db_path, "messages", "direction = 'out'") == 1


async def test_retry_does_not_run_the_handler_again(make_wechat, db_path):
    calls: list[str] = []
    wechat = await make_wechat(router=echo_router(calls=calls))
    msg_id = new_msg_id()
    first = await wechat.text("user-d", "第一句", msg_id=msg_id)
    again = await wechat.text("user-d", "第一句", msg_id=msg_id)
    other = await wechat.text("user-d", "第二句")
    assert first.content == again.content == "第一句"
    assert other.content == "第二句"
    assert calls == ["第一句", "第二句"]


async def test_concurrent_retries_share_one_run_and_one_reply(make_wechat, db_path):
    calls: list[str] = []
    wechat = await make_wechat(router=echo_router(delay=0.3, calls=calls))
    xml = text_xml("user-c", "慢一点", int(wechat.clock()))
    replies = await asyncio.gather(*(wechat.post(xml) for _ in range(3)))
    assert [r.status for r in replies] == [200, 200, 200]
    assert {r.content for r in replies} == {"慢一点"}
    assert len({r.body for r in replies}) == 1
    assert calls == ["慢一点"]
    assert count(db_path, "messages", "direction = 'in'") == 1


async def test_concurrent_retries_in_safe_mode_share_one_run(make_wechat):
    calls: list[str] = []
    wechat = await make_wechat(router=echo_router(delay=0.3, calls=calls))
    xml = text_xml("user-c", "慢一点", int(wechat.clock()))
    replies = await asyncio.gather(*(wechat.post(xml, mode="safe") for _ in range(3)))
    assert [r.content for r in replies] == ["慢一点"] * 3
    assert calls == ["慢一点"]


async def test_events_deduplicate_by_sender_time_and_event(wechat, db_path):
    when = int(wechat.clock())
    first = await wechat.event("user-e", "subscribe", create_time=when)
    retry = await wechat.event("user-e", "subscribe", create_time=when)
    assert WELCOME in first.content
    assert retry.xml == first.xml
    assert count(db_path, "messages", "direction = 'in'") == 1
    # A different time, event or sender is a different push.
    await wechat.event("user-e", "subscribe", create_time=when - 1)
    await wechat.event("user-e", "CLICK", create_time=when, EventKey="K")
    await wechat.event("user-f", "subscribe", create_time=when)
    assert count(db_path, "messages", "direction = 'in'") == 4


async def test_silent_event_retry_is_recorded_once(wechat, db_path):
    when = int(wechat.clock())
    for _ in range(3):
        reply = await wechat.event(
            "user-e", "LOCATION", create_time=when, Latitude="1", Longitude="2", Precision="3"
        )
        assert reply.body == "success"
    assert count(db_path, "messages") == 1


async def test_different_users_same_msgid_shape_are_independent(make_wechat):
    calls: list[str] = []
    wechat = await make_wechat(router=echo_router(calls=calls))
    await wechat.text("user-1", "甲")
    await wechat.text("user-2", "乙")
    assert calls == ["甲", "乙"]


# -- restart persistence -------------------------------------------------------------------


def _counting_router(calls: list[tuple[str | None, int]]):
    async def count_turns(turn: Turn) -> Outcome:
        seen = int(turn.state.slots.get("count", 0))
        calls.append((turn.state.flow, seen))
        return turn.goto(Flow.CALCULATOR, "next", say(f"count={seen + 1}"), slots={"count": seen + 1})

    return router_for(count_turns)


async def test_restart_keeps_stored_replies_and_session_state(make_wechat, settings, db_path):
    calls_a: list[tuple[str | None, int]] = []
    app_a = await make_wechat(settings, router=_counting_router(calls_a))
    msg_id = new_msg_id()
    first = await app_a.text("user-r", "一", msg_id=msg_id)
    assert first.content == "count=1"
    assert calls_a == [(None, 0)]

    # A second process on the same database file (a restart or another worker).
    calls_b: list[tuple[str | None, int]] = []
    app_b = await make_wechat(settings, router=_counting_router(calls_b))
    retry = await app_b.text("user-r", "一", msg_id=msg_id)
    assert retry.content == "count=1"
    assert calls_b == []  # answered from the processed table

    following = await app_b.text("user-r", "二")
    assert following.content == "count=2"
    assert calls_b == [(Flow.CALCULATOR, 1)]
    assert rows(db_path, "SELECT flow, step, slots FROM sessions") == [
        ("calculator", "next", '{"count":2}')
    ]


async def test_event_retry_after_restart_is_not_rerun(make_wechat, settings, db_path):
    app_a = await make_wechat(settings)
    when = int(app_a.clock())
    first = await app_a.event("user-r", "subscribe", create_time=when)
    app_b = await make_wechat(settings)
    retry = await app_b.event("user-r", "subscribe", create_time=when)
    assert retry.content == first.content
    assert count(db_path, "messages", "direction = 'in'") == 1


async def test_unknown_type_retry_is_recorded_once(wechat, db_path):
    xml = message_xml("user-x", "hologram", int(wechat.clock()), MsgId=new_msg_id())
    assert (await wechat.post(xml)).body == "success"
    assert (await wechat.post(xml)).body == "success"
    assert count(db_path, "messages") == 1
