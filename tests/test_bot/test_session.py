"""Dialogue state: kept between messages, expired after ``session_ttl`` of silence."""

from __future__ import annotations

import pytest

from wxloan.handlers.contract import Outcome, Turn
from wxloan.handlers import events
from tests.conftest import rows

from .support import EXPIRED, router_for, say

Seen = list[tuple[str | None, str | None, dict, bool]]


def _flow_router(seen: Seen):
    """``开始`` enters a flow; anything else reports what the handler saw."""

    async def handle(turn: Turn) -> Outcome:
        session = turn.state
        seen.append((session.flow, session.step, dict(session.slots), turn.expired))
        if turn.text == "开始":
            return turn.goto("eligibility", "age", say("你多大？"), slots={"started": True})
        return turn.stay(say(f"flow={session.flow}"))

    return router_for(handle)


async def test_state_carries_over_to_the_next_message(make_wechat):
    seen: Seen = []
    wechat = await make_wechat(router=_flow_router(seen))
    await wechat.text("user-s", "开始")
    reply = await wechat.text("user-s", "25")
    assert reply.content == "flow=eligibility"
    assert seen[-1] == ("eligibility", "age", {"started": True}, False)


async def test_session_expires_after_31_minutes(make_wechat, clock, db_path):
    seen: Seen = []
    wechat = await make_wechat(router=_flow_router(seen))
    await wechat.text("user-s", "开始")
    clock.advance(31 * 60)
    reply = await wechat.text("user-s", "25")
    assert reply.status == 200
    assert EXPIRED in reply.content
    assert "flow=None" in reply.content
    assert seen[-1] == (None, None, {}, True)
    # The expired state is gone for good: the next message is an ordinary fresh one.
    after = await wechat.text("user-s", "26")
    assert EXPIRED not in after.content
    assert rows(db_path, "SELECT flow FROM sessions") == [(None,)]


async def test_session_within_29_minutes_is_kept_without_note(make_wechat, clock):
    seen: Seen = []
    wechat = await make_wechat(router=_flow_router(seen))
    await wechat.text("user-s", "开始")
    clock.advance(29 * 60)
    reply = await wechat.text("user-s", "25")
    assert EXPIRED not in reply.content
    assert reply.content == "flow=eligibility"
    assert seen[-1][0] == "eligibility"


async def test_each_message_restarts_the_idle_timer(make_wechat, clock):
    seen: Seen = []
    wechat = await make_wechat(router=_flow_router(seen))
    await wechat.text("user-s", "开始")
    for _ in range(3):
        clock.advance(20 * 60)
        reply = await wechat.text("user-s", "还在")
        assert reply.content == "flow=eligibility"


async def test_idle_user_without_state_gets_no_expiry_note(wechat, clock):
    await wechat.text("user-s", "你好")  # default dialogue: idle, no flow, no slots
    clock.advance(3 * 3600)
    reply = await wechat.text("user-s", "你好")
    assert EXPIRED not in reply.content


async def test_expiry_does_not_add_a_note_to_events(make_wechat, clock):
    seen: Seen = []
    router = _flow_router(seen)
    router.include(events.router)
    wechat = await make_wechat(router=router)
    await wechat.text("user-s", "开始")
    clock.advance(31 * 60)
    reply = await wechat.event("user-s", "subscribe")
    assert EXPIRED not in reply.content


@pytest.mark.parametrize(("idle", "expired"), [(59, False), (61, True)])
async def test_session_ttl_is_configurable(make_wechat, settings, clock, idle, expired):
    seen: Seen = []
    wechat = await make_wechat(settings.with_overrides(session_ttl=60.0), router=_flow_router(seen))
    await wechat.text("user-s", "开始")
    clock.advance(idle)
    reply = await wechat.text("user-s", "25")
    assert (EXPIRED in reply.content) is expired
    assert seen[-1][0] == (None if expired else "eligibility")


async def test_sessions_of_users_are_separate(make_wechat):
    seen: Seen = []
    wechat = await make_wechat(router=_flow_router(seen))
    await wechat.text("user-a", "开始")
    reply = await wechat.text("user-b", "25")
    assert reply.content == "flow=None"
