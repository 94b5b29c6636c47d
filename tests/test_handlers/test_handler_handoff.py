"""Hand-off to a human: transfer=True, then quiet (transferring) until the agent is done."""

from __future__ import annotations

import pytest

from wxloan.handlers import Kind, State
from wxloan.handlers.handoff import HANDOFF_SECONDS
from wxloan.handlers.states import Flow

UNTIL = "_handoff_until"


@pytest.fixture
async def handed_off(chat):
    """The reply to "转人工" from mid-questionnaire (one fact known)."""
    state = State(flow=Flow.ELIGIBILITY, step="pay_score",
                  slots={"overdue": "none", "_asked": ["overdue", "pay_score"]})
    return await chat.text("转人工", state)


@pytest.mark.parametrize("text", ["转人工", "人工"])
async def test_asking_for_a_person_transfers(chat, text):
    reply = await chat.text(text)
    assert reply.outcome.transfer is True
    assert reply.names == ["human_handoff"]
    assert reply.say("human_handoff").context == {"minutes": HANDOFF_SECONDS // 60}
    assert reply.outcome.flow == Flow.HANDOFF
    assert reply.slots[UNTIL] == chat.now + HANDOFF_SECONDS


async def test_a_hand_off_mid_flow_keeps_the_facts(handed_off):
    assert handed_off.outcome.transfer is True
    assert handed_off.outcome.flow == Flow.HANDOFF and handed_off.outcome.step is None
    assert handed_off.slots["overdue"] == "none"


@pytest.mark.parametrize(
    "text", ["你好", "我的支付分是700", "交500元保证金就能放款", "重新开始"],
)
async def test_during_the_hand_off_every_text_goes_to_the_person(chat, handed_off, text):
    reply = await chat.text(text, handed_off.state, now=chat.now + 60)
    assert reply.outcome.transfer is True
    assert reply.names == [] and reply.text == ""
    assert not reply.outcome.silent
    assert reply.state == handed_off.state  # nothing learnt, nothing forgotten


async def test_during_the_hand_off_media_goes_to_the_person_too(chat, handed_off):
    reply = await chat.send(chat.message(Kind.MEDIA, "image"), handed_off.state,
                            now=chat.now + 60)
    assert reply.outcome.transfer is True and reply.names == []


async def test_during_the_hand_off_events_are_acknowledged_silently(chat, handed_off):
    reply = await chat.event("click", "ELIGIBILITY", handed_off.state, now=chat.now + 60)
    assert reply.outcome.silent is True and not reply.outcome.transfer
    assert reply.state.flow == Flow.HANDOFF


async def test_after_the_hand_off_period_the_bot_answers_again(chat, handed_off):
    later = chat.now + HANDOFF_SECONDS + 1
    reply = await chat.text("你好", handed_off.state, now=later)
    assert reply.outcome.transfer is False
    assert reply.names == ["greeting", "menu"]
    assert reply.outcome.flow is None
    assert UNTIL not in reply.slots
    assert reply.slots["overdue"] == "none"


async def test_the_agent_closing_the_session_ends_the_hand_off(chat, handed_off):
    closed = await chat.event("kf_close_session", state=handed_off.state, now=chat.now + 60)
    assert closed.outcome.silent is True
    assert closed.outcome.flow is None and UNTIL not in closed.slots
    reply = await chat.text("你好", closed.state, now=chat.now + 61)
    assert reply.outcome.transfer is False and reply.names == ["greeting", "menu"]
