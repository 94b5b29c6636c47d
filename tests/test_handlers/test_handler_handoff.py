"""Hand-off to a human that cannot trap: explicit requests only, the user always told,
an online check first, and every way back (回到机器人, 重新开始/退出, nobody picking up).

The dialogue here gets a stand-in agent directory whose answer each test sets (2 online,
0 online, None = cannot tell); time moves through the turn's ``now``.
"""

from __future__ import annotations

import dataclasses

import pytest

from wxloan.handlers import Dialogue, Kind, State, build_router, load_services
from wxloan.handlers.handoff import HANDOFF_SECONDS, PICKUP_SECONDS
from wxloan.handlers.services import UnknownAgents
from wxloan.handlers.states import Flow

from tests.test_handlers.conftest import NOW, Chat

UNTIL, WAIT, AGENT, FROM = ("_handoff_until", "_handoff_wait_until", "_handoff_agent",
                            "_handoff_from")
HANDOFF_KEYS = {UNTIL, WAIT, AGENT, FROM}

#: Mid-questionnaire, with one fact known.
MID_FLOW = State(flow=Flow.ELIGIBILITY, step="pay_score",
                 slots={"overdue": "none", "_asked": ["overdue", "pay_score"]})


class StandInAgents:
    """An agent directory the test controls; it records every question it was asked."""

    def __init__(self) -> None:
        self.online: int | None = 2
        self.asked: list[str] = []

    async def online_count(self, channel: str) -> int | None:
        self.asked.append(channel)
        return self.online


@pytest.fixture(scope="module")
def directory() -> StandInAgents:
    return StandInAgents()


@pytest.fixture(scope="module")
def chat(directory: StandInAgents) -> Chat:
    """A production dialogue whose agent directory is the stand-in."""
    services = dataclasses.replace(load_services(), agents=directory)
    return Chat(Dialogue(build_router(), services))


@pytest.fixture
def agents(directory: StandInAgents) -> StandInAgents:
    """The directory, reset: two agents online, nothing asked yet."""
    directory.online, directory.asked[:] = 2, []
    return directory


@pytest.fixture
async def transferred(chat, agents):
    """"转人工" from mid-questionnaire with agents online: transferred at ``NOW``."""
    return await chat.text("转人工", MID_FLOW)


@pytest.fixture
async def announced(chat, agents):
    """"转人工" when the directory cannot tell: announced, not yet transferred."""
    agents.online = None
    return await chat.text("转人工")


def no_handoff_keys(slots) -> bool:
    return not HANDOFF_KEYS & set(slots)


# -- what transfers, and what does not ---------------------------------------------------


@pytest.mark.parametrize("text", ["转人工", "人工", "人工客服", "找真人", "我要人工",
                                  "能帮我转人工吗", "我要投诉"])
async def test_an_explicit_request_with_agents_online_transfers_and_says_so(chat, agents,
                                                                             text):
    reply = await chat.text(text)
    assert agents.asked == ["official_account"]
    assert reply.outcome.transfer is True
    assert reply.names == ["human_handoff"]
    assert reply.say("human_handoff").context == {"minutes": PICKUP_SECONDS // 60}
    assert "回到机器人" in reply.text
    assert reply.outcome.flow == Flow.HANDOFF
    assert reply.slots[UNTIL] == NOW + HANDOFF_SECONDS
    assert reply.slots[WAIT] == NOW + PICKUP_SECONDS


async def test_the_directory_is_asked_about_the_users_channel(chat, agents):
    message = dataclasses.replace(chat.text_message("转人工"), channel="miniprogram")
    await chat.send(message)
    assert agents.asked == ["miniprogram"]


@pytest.mark.parametrize("text", ["你是机器人吗", "是真人吗", "你是AI吗", "你是人工吗",
                                  "你是真人还是机器人"])
async def test_asking_whether_it_is_a_bot_is_answered_never_transferred(chat, agents, text):
    reply = await chat.text(text)
    assert reply.names == ["bot_identity"]
    assert reply.outcome.transfer is False and reply.outcome.flow is None
    assert "转人工" in reply.text and "公开文章" in reply.text
    assert agents.asked == []


async def test_the_bot_identity_answer_mid_flow_asks_the_question_again(chat, agents):
    reply = await chat.text("你是机器人吗", MID_FLOW)
    assert reply.names[0] == "bot_identity" and "back_to_question" in reply.names
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert not reply.outcome.transfer


@pytest.mark.parametrize("text", ["人工审核要多久", "客服让我先交500元保证金", "客服电话多少"])
async def test_a_mention_of_a_person_is_not_a_request(chat, agents, text):
    reply = await chat.text(text)
    assert reply.outcome.transfer is False and reply.outcome.flow != Flow.HANDOFF
    assert agents.asked == []


# -- nobody online / cannot tell ---------------------------------------------------------


async def test_nobody_online_says_so_and_stays_with_the_bot(chat, agents):
    agents.online = 0
    reply = await chat.text("转人工")
    assert reply.names == ["handoff_nobody", "menu"]
    assert reply.outcome.transfer is False and reply.outcome.flow is None
    assert no_handoff_keys(reply.slots)


async def test_nobody_online_mid_flow_keeps_the_pending_question(chat, agents):
    agents.online = 0
    reply = await chat.text("我要人工", MID_FLOW)
    assert reply.names[0] == "handoff_nobody" and "back_to_question" in reply.names
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert reply.outcome.transfer is False


async def test_cannot_tell_announces_first_and_transfers_the_next_message(chat, announced):
    assert announced.names == ["handoff_unsure"]
    assert announced.say("handoff_unsure").context == {"minutes": PICKUP_SECONDS // 60}
    assert announced.outcome.transfer is False  # a transfer reply could not carry the note
    assert announced.outcome.flow == Flow.HANDOFF and WAIT not in announced.slots
    question = await chat.text("我的额度怎么没了", announced.state, now=NOW + 120)
    assert question.outcome.transfer is True and question.names == []
    assert question.slots[WAIT] == NOW + 120 + PICKUP_SECONDS  # the clock starts now
    again = await chat.text("还在吗", question.state, now=NOW + 200)
    assert again.outcome.transfer is True
    assert again.state == question.state


async def test_cannot_tell_and_nobody_picks_up_after_the_first_transfer(chat, announced):
    question = await chat.text("我的额度怎么没了", announced.state, now=NOW + 120)
    late = NOW + 120 + PICKUP_SECONDS
    reply = await chat.text("日利率多少", question.state, now=late)
    assert reply.names == ["handoff_timeout", "faq_rates"]
    assert reply.outcome.transfer is False and reply.outcome.flow is None


async def test_cannot_tell_and_the_user_never_writes_again(chat, announced):
    reply = await chat.text("你好", announced.state, now=NOW + HANDOFF_SECONDS)
    assert reply.names == ["greeting", "menu"]
    assert reply.outcome.flow is None and no_handoff_keys(reply.slots)


# -- during the hand-off -----------------------------------------------------------------


async def test_a_hand_off_mid_flow_keeps_the_facts(transferred):
    assert transferred.outcome.flow == Flow.HANDOFF and transferred.outcome.step is None
    assert transferred.slots["overdue"] == "none"
    assert transferred.slots[FROM] == ["eligibility", "pay_score"]


@pytest.mark.parametrize("text", ["你好", "我的支付分是700", "交500元保证金就能放款",
                                  "你是机器人吗", "转人工"])
async def test_while_waiting_for_an_agent_texts_go_to_the_person(chat, transferred, text):
    reply = await chat.text(text, transferred.state, now=NOW + PICKUP_SECONDS - 1)
    assert reply.outcome.transfer is True
    assert reply.names == [] and reply.text == "" and not reply.outcome.silent
    assert reply.state == transferred.state  # nothing learnt, nothing forgotten


async def test_while_waiting_media_goes_to_the_person_too(chat, transferred):
    reply = await chat.send(chat.message(Kind.MEDIA, "image"), transferred.state,
                            now=NOW + 60)
    assert reply.outcome.transfer is True and reply.names == []


@pytest.mark.parametrize("text", ["结束人工", "回到机器人", "不要人工了", "退出人工"])
async def test_ending_the_hand_off_returns_at_once_to_the_pending_question(chat, transferred,
                                                                           text):
    reply = await chat.text(text, transferred.state, now=NOW + 30)
    assert reply.outcome.transfer is False
    assert reply.names[0] == "handoff_ended" and "back_to_question" in reply.names
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert reply.slots["overdue"] == "none" and no_handoff_keys(reply.slots)


async def test_ending_the_hand_off_from_idle_just_confirms(chat, agents):
    handed = await chat.text("转人工")
    reply = await chat.text("回到机器人", handed.state, now=NOW + 30)
    assert reply.names == ["handoff_ended"]
    assert reply.outcome.flow is None and no_handoff_keys(reply.slots)


async def test_ending_a_hand_off_that_is_not_on_confirms_and_carries_on(chat, agents):
    reply = await chat.text("不要人工了", MID_FLOW)
    assert reply.names[0] == "handoff_ended" and "back_to_question" in reply.names
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")


async def test_restart_during_the_hand_off_reaches_the_bot(chat, transferred):
    reply = await chat.text("重新开始", transferred.state, now=NOW + 30)
    assert reply.names == ["handoff_left", "restarted", "menu"]
    assert reply.outcome.transfer is False
    assert (reply.outcome.flow, reply.slots) == (None, {})


async def test_cancel_during_the_hand_off_reaches_the_bot(chat, transferred):
    reply = await chat.text("退出", transferred.state, now=NOW + 30)
    assert reply.names == ["handoff_left", "cancelled", "menu"]
    assert reply.outcome.transfer is False and reply.outcome.flow is None
    assert reply.slots == {"overdue": "none"}


async def test_a_menu_click_during_the_hand_off_reaches_the_bot(chat, transferred):
    reply = await chat.event("click", "LIMIT_TIPS", transferred.state, now=NOW + 30)
    alone = await chat.event("click", "LIMIT_TIPS", MID_FLOW)
    assert reply.names == ["handoff_left", *alone.names]  # the note, then the button's answer
    assert reply.outcome.flow == alone.outcome.flow != Flow.HANDOFF
    assert not reply.outcome.transfer and no_handoff_keys(reply.slots)


async def test_other_events_during_the_hand_off_are_acknowledged_silently(chat, transferred):
    reply = await chat.event("location", state=transferred.state, now=NOW + 30)
    assert reply.outcome.silent is True and not reply.outcome.transfer
    assert reply.state == transferred.state


# -- nobody picks up ---------------------------------------------------------------------


async def test_nobody_picking_up_brings_the_bot_back_with_a_note(chat, agents):
    handed = await chat.text("转人工")
    reply = await chat.text("日利率多少", handed.state, now=NOW + PICKUP_SECONDS)
    assert reply.names == ["handoff_timeout", "faq_rates"]
    assert reply.say("handoff_timeout").context == {"minutes": PICKUP_SECONDS // 60}
    assert reply.outcome.transfer is False and reply.outcome.flow is None
    assert no_handoff_keys(reply.slots)


async def test_nobody_picking_up_mid_flow_answers_the_pending_question(chat, transferred):
    reply = await chat.text("六百八", transferred.state, now=NOW + PICKUP_SECONDS + 60)
    alone = await chat.text("六百八", MID_FLOW)  # the same answer with no hand-off at all
    assert reply.names == ["handoff_timeout", *alone.names]
    assert reply.outcome.transfer is False and reply.outcome.flow == alone.outcome.flow
    assert reply.slots["pay_score"] == 680  # read as the answer to the question it was
    assert no_handoff_keys(reply.slots)


# -- an agent picks up -------------------------------------------------------------------


@pytest.fixture
async def picked_up(chat, transferred):
    """The agent took the conversation one minute after the transfer."""
    return await chat.event("kf_create_session", state=transferred.state, now=NOW + 60)


async def test_an_agent_picking_up_keeps_the_conversation_theirs(chat, picked_up):
    assert picked_up.outcome.silent is True and picked_up.outcome.flow == Flow.HANDOFF
    assert picked_up.slots[AGENT] is True and WAIT not in picked_up.slots
    later = await chat.text("好的，谢谢", picked_up.state, now=NOW + PICKUP_SECONDS + 600)
    assert later.outcome.transfer is True and later.names == []


async def test_the_hand_off_window_ends_after_thirty_minutes(chat, picked_up):
    reply = await chat.text("你好", picked_up.state, now=NOW + HANDOFF_SECONDS)
    assert reply.names == ["greeting", "menu"]  # no "nobody picked up" note: someone did
    assert reply.outcome.transfer is False
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)  # not the old question
    assert reply.slots["overdue"] == "none" and no_handoff_keys(reply.slots)


async def test_the_agent_closing_the_session_ends_the_hand_off(chat, picked_up):
    closed = await chat.event("kf_close_session", state=picked_up.state, now=NOW + 600)
    assert closed.outcome.silent is True
    assert closed.outcome.flow is None and no_handoff_keys(closed.slots)
    reply = await chat.text("你好", closed.state, now=NOW + 601)
    assert reply.outcome.transfer is False and reply.names == ["greeting", "menu"]


async def test_a_session_closed_before_anyone_talked_resumes_the_flow(chat, transferred):
    closed = await chat.event("kf_close_session", state=transferred.state, now=NOW + 60)
    assert closed.outcome.silent is True
    assert (closed.outcome.flow, closed.outcome.step) == (Flow.ELIGIBILITY, "pay_score")


async def test_a_close_event_outside_a_hand_off_changes_nothing(chat, agents):
    closed = await chat.event("kf_close_session", state=MID_FLOW)
    assert closed.outcome.silent is True and closed.state == MID_FLOW


async def test_a_late_agent_after_the_bot_came_back_gets_the_conversation(chat, agents):
    handed = await chat.text("转人工")
    back = await chat.text("日利率多少", handed.state, now=NOW + PICKUP_SECONDS)
    assert back.outcome.flow is None
    late = await chat.event("kf_create_session", state=back.state, now=NOW + 900)
    assert late.outcome.flow == Flow.HANDOFF and late.slots[AGENT] is True
    assert late.slots[UNTIL] == NOW + 900 + HANDOFF_SECONDS
    reply = await chat.text("你好", late.state, now=NOW + 960)
    assert reply.outcome.transfer is True


# -- the port's default ------------------------------------------------------------------


async def test_the_default_directory_cannot_tell():
    assert await UnknownAgents().online_count("official_account") is None
    assert isinstance(load_services().agents, UnknownAgents)
