"""Limit tips: at most two questions, then the core's ranked limit plan."""

from __future__ import annotations

import pytest

from wxloan.handlers.flows import QUESTION_BUDGET
from wxloan.handlers.states import Flow
from wxloan.knowledge import ApplicantProfile, limit_plan, next_question

ANSWERS = {
    "overdue": "没有",
    "materials": "没有",
    "ontime_periods": "六期",
    "lingqiantong_balance": "五千",
    "pay_score": "720",
}


def profile_of(slots) -> ApplicantProfile:
    return ApplicantProfile.from_mapping(dict(slots))


async def finish(chat, reply):
    """Answer every question until the plan; returns the last reply and the questions asked."""
    asked = 0
    while reply.outcome.step is not None:
        asked += 1
        assert asked <= QUESTION_BUDGET[Flow.LIMITS], reply.slots
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
    return reply, asked


@pytest.mark.parametrize("text", ["怎么提额", "额度太低了怎么提高额度"])
async def test_asking_how_to_raise_the_limit_starts_the_tips(chat, kb, text):
    reply = await chat.text(text)
    assert reply.outcome.flow == Flow.LIMITS
    assert reply.names == ["flow_intro_limits", "ask"]
    assert reply.outcome.step == next_question(ApplicantProfile(), kb, "limits").field


async def test_at_most_two_questions_then_the_cores_plan(chat, kb):
    reply, asked = await finish(chat, await chat.text("怎么提额"))
    assert 1 <= asked <= QUESTION_BUDGET[Flow.LIMITS]
    assert reply.names == ["card_limits"]
    assert reply.outcome.flow is None
    core = limit_plan(profile_of(reply.slots), kb)
    assert reply.say("card_limits").context["plan"] == core
    inputs, summary = reply.outcome.assessment
    assert summary == {"flow": "limits", "actions": [a.code for a in core.actions]}
    assert inputs == profile_of(reply.slots).to_mapping()


async def test_a_current_overdue_concludes_the_tips_at_once(chat, kb):
    started = await chat.text("3")
    assert started.outcome.flow == Flow.LIMITS and started.outcome.step == "overdue"
    reply = await chat.text("现在有", started.state)
    assert reply.names == ["card_limits"]
    assert reply.slots["overdue"] == "current"
    assert reply.say("card_limits").context["plan"] == limit_plan(profile_of(reply.slots), kb)


async def test_volunteered_balances_shape_the_plan(chat, kb):
    started = await chat.text("额度太低了想体额，零钱通有5000，已经按时还了3期")
    assert started.outcome.flow == Flow.LIMITS
    assert started.slots["lingqiantong_balance"] == 5000
    assert started.slots["ontime_periods"] == 3
    reply, _ = await finish(chat, started)
    plan = reply.say("card_limits").context["plan"]
    grow = next(a for a in plan.actions if a.code == "grow_lingqiantong")
    threshold = kb.rules.lingqiantong_threshold_yuan.value
    assert grow.params["threshold_yuan"] == threshold
    assert grow.params["shortfall_yuan"] == threshold - 5000
    ontime = next(a for a in plan.actions if a.code == "keep_ontime")
    assert ontime.params["remaining_periods"] == kb.rules.ontime_periods.value - 3


async def test_a_material_held_is_no_longer_advised(chat, kb):
    reply = await chat.last("怎么提额", "没有", "有社保")
    assert reply.names == ["card_limits"]
    assert reply.slots["materials"] == ["social_security"]
    plan = reply.say("card_limits").context["plan"]
    advised = [a.params.get("material") for a in plan.actions if a.code == "add_material"]
    assert advised and "social_security" not in advised
    assert any(a.code == "material_held" for a in plan.achieved)
    assert plan == limit_plan(profile_of(reply.slots), kb)
