"""FAQ topics from the article and small talk; mid-flow both lead back to the question."""

from __future__ import annotations

import pytest

from wxloan.handlers import State
from wxloan.handlers.faq import FAQ_TOPICS
from wxloan.handlers.states import Flow

#: One ordinary question per FAQ intent.
QUESTIONS = {
    "requirements": "开通需要什么条件",
    "limit_factors": "额度由什么决定",
    "rejection_reasons": "被拒的原因有哪些",
    "rates": "日利率怎么算",
    "channels": "在哪里开通",
    "special_groups": "学生能开通吗",
    "risk_control": "风控是什么",
    "after_opening": "开通后怎么还款",
    "banned_purpose": "能借钱炒股吗",
}
MID_FLOW = State(
    flow=Flow.ELIGIBILITY,
    step="pay_score",
    slots={"overdue": "none", "_asked": ["overdue", "pay_score"]},
)


def test_every_faq_topic_has_a_question_here():
    assert set(QUESTIONS) == set(FAQ_TOPICS)


@pytest.mark.parametrize("intent", sorted(FAQ_TOPICS))
async def test_a_topic_question_gets_its_answer_and_sources(chat, kb, intent):
    topic, sections = FAQ_TOPICS[intent]
    reply = await chat.text(QUESTIONS[intent])
    assert reply.names == [f"faq_{topic}"]
    assert reply.say(f"faq_{topic}").context["kb"] is kb
    assert reply.outcome.flow is None
    expected = [entry.id for number in sections for entry in kb.section_entries(number)]
    assert expected, f"sections {sections} hold no entries"
    assert reply.slots["_last"] == {"topic": "faq", "sources": expected}


@pytest.mark.parametrize("intent", ["rates", "channels", "risk_control"])
async def test_a_topic_question_mid_flow_leads_back_to_the_question(chat, intent):
    topic, _ = FAQ_TOPICS[intent]
    reply = await chat.text(QUESTIONS[intent], MID_FLOW)
    assert reply.names == [f"faq_{topic}", "back_to_question", "ask"]
    assert reply.say("ask").context["field"] == "pay_score"
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "pay_score")
    assert reply.slots["_asked"] == ["overdue", "pay_score"]


@pytest.mark.parametrize(
    ("text", "identity"),
    [
        ("学生能开通吗", "student"),
        ("个体户能开通吗", "business_owner"),
        ("新用户怎么开通", "new_user"),
        ("哪些特殊人群可以开通", None),
    ],
)
async def test_special_groups_answer_for_the_users_group(chat, text, identity):
    reply = await chat.text(text)
    assert reply.names == ["faq_special_groups"]
    assert reply.say("faq_special_groups").context["identity"] == identity
    assert reply.slots.get("identity") == identity  # a group mentioned is remembered


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("能借钱炒股吗", "investment"),
        ("微粒贷能用来付首付吗", "house"),
        ("借钱买房子行吗", "house"),
        ("贷款用途有限制吗", None),
    ],
)
async def test_banned_purposes_name_the_users_purpose(chat, text, purpose):
    reply = await chat.text(text)
    assert reply.names == ["faq_banned_purpose"]
    assert reply.say("faq_banned_purpose").context["purpose"] == purpose


@pytest.mark.parametrize(
    ("text", "idle", "mid_flow"),
    [
        ("你好", ["greeting", "menu"], ["greeting", "back_to_question", "ask"]),
        ("谢谢", ["thanks"], ["thanks", "back_to_question", "ask"]),
        ("帮助", ["menu"], ["menu", "back_to_question", "ask"]),
    ],
)
async def test_small_talk(chat, text, idle, mid_flow):
    assert (await chat.text(text)).names == idle
    reply = await chat.text(text, MID_FLOW)
    assert reply.names == mid_flow
    assert reply.outcome.step == "pay_score"


async def test_goodbye_ends_the_flow_and_keeps_the_facts(chat):
    reply = await chat.text("再见", MID_FLOW)
    assert reply.names == ["goodbye"]
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    assert reply.slots == {"overdue": "none"}
