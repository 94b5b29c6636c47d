"""Commands that work in every state: 重新开始, 退出, 更多, 为什么."""

from __future__ import annotations

import pytest

from wxloan.handlers import State
from wxloan.handlers.commands import WHY_BATCH
from wxloan.handlers.faq import FAQ_TOPICS
from wxloan.handlers.states import Flow

#: Mid-questionnaire, with one fact known and the bookkeeping of two questions.
MID_FLOW = State(
    flow=Flow.ELIGIBILITY,
    step="pay_score",
    slots={"overdue": "none", "_asked": ["overdue", "pay_score"]},
)


@pytest.mark.parametrize("state", [State(), MID_FLOW], ids=["idle", "mid-flow"])
async def test_restart_forgets_everything_and_shows_the_menu(chat, state):
    reply = await chat.text("重新开始", state)
    assert reply.names == ["restarted", "menu"]
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    assert reply.slots == {}


async def test_cancel_leaves_the_flow_but_keeps_the_facts(chat):
    reply = await chat.text("退出", MID_FLOW)
    assert reply.names == ["cancelled", "menu"]
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    assert reply.slots == {"overdue": "none"}  # the questionnaire's bookkeeping is gone


async def test_cancel_drops_a_half_entered_calculation(chat):
    started = await chat.text("借1万")
    assert started.outcome.flow == Flow.CALCULATOR and started.slots.get("_calc")
    reply = await chat.text("退出", started.state)
    assert reply.names == ["cancelled", "menu"]
    assert "_calc" not in reply.slots and reply.outcome.flow is None


async def test_more_hands_over_the_next_waiting_page(chat):
    state = State(pending_pages=("page two", "page three"))
    reply = await chat.text("更多", state)
    assert reply.names == ["more_page"]
    assert reply.say("more_page").context == {"text": "page two"}
    assert reply.outcome.pending_pages == ("page three",)
    last = await chat.text("更多", reply.state)
    assert last.say("more_page").context == {"text": "page three"}
    assert last.outcome.pending_pages == ()


async def test_more_with_nothing_waiting(chat):
    reply = await chat.text("更多")
    assert reply.names == ["no_more"]
    assert reply.outcome.pending_pages == ()


async def test_more_with_nothing_waiting_mid_flow_asks_the_question_again(chat):
    reply = await chat.text("更多", MID_FLOW)
    assert reply.names == ["no_more", "back_to_question", "ask"]
    assert reply.say("ask").context["field"] == "pay_score"
    assert reply.outcome.step == "pay_score"


async def test_why_with_nothing_to_explain(chat):
    reply = await chat.text("为什么")
    assert reply.names == ["why_nothing"]


async def test_why_after_a_conclusion_cites_its_sources(chat, kb):
    concluded = await chat.last("1", "现在有逾期")
    assert concluded.names == ["ack", "card_assessment"]
    sources = concluded.slots["_last"]["sources"]
    reply = await chat.text("为什么", concluded.state)
    assert reply.names == ["card_why"]
    context = reply.say("card_why").context
    assert context["entries"] == kb.explain(tuple(sources[:WHY_BATCH]))
    assert context["remaining"] == max(0, len(sources) - WHY_BATCH)
    assert context["topic"] == "assessment"
    assert reply.outcome.flow is None and reply.outcome.step is None


async def test_more_after_why_continues_the_sources_it_announced(chat, kb):
    """"（还有N条，回复“更多”继续看）" → "更多" shows exactly those, then it is over."""
    concluded = await chat.last("支付分680，没有逾期", "上班族", "直接说结果")
    sources = list(concluded.slots["_last"]["sources"])
    assert len(sources) > 2 * WHY_BATCH
    shown: list = []
    reply = await chat.text("为什么", concluded.state)
    while True:
        context = reply.say("card_why").context
        shown.extend(context["entries"])
        if not context["remaining"]:
            break
        assert "更多" in reply.text
        reply = await chat.text("更多", reply.state)
        assert reply.names == ["card_why"] and reply.say("card_why").context["first"] is False
    assert tuple(shown) == kb.explain(tuple(sources))
    assert (await chat.text("更多", reply.state)).names == ["no_more"]


async def test_why_after_a_faq_answer_cites_its_article_sections(chat, kb):
    answered = await chat.text("利率多少")
    reply = await chat.text("为什么", answered.state)
    context = reply.say("card_why").context
    assert context["topic"] == "faq"
    _, sections = FAQ_TOPICS["rates"]
    sources = answered.slots["_last"]["sources"]
    assert {kb.entry(s).section for s in sources} == set(sections)
    assert context["entries"] == kb.explain(tuple(sources[:WHY_BATCH]))  # the rest on "更多"


async def test_why_mid_question_explains_by_asking_again(chat):
    reply = await chat.text("为什么", MID_FLOW)
    assert reply.names == ["back_to_question", "ask"]
    assert reply.outcome.step == "pay_score"
