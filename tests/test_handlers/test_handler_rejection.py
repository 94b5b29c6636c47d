"""Rejection diagnosis, answer first: causes and the re-apply date from diagnose_rejection."""

from __future__ import annotations

import datetime as dt

import pytest

from wxloan.handlers import State
from wxloan.handlers.flows import QUICK_QUESTIONS
from wxloan.handlers.states import Flow
from wxloan.knowledge import ApplicantProfile, Evidence, diagnose_rejection, next_question

ANSWERS = {
    "overdue": "没有",
    "rejection_hint": "综合评分不足",
    "rejected_on": "上周",
    "rejected_before": "是",
    "inquiries_3m": "两次",
    "pay_score": "720",
    "payments_per_week": "每周四五次",
    "pay_history_months": "用了两年",
    "materials": "没有",
    "identity": "上班族",
}


def profile_of(slots) -> ApplicantProfile:
    return ApplicantProfile.from_mapping(dict(slots))


@pytest.mark.parametrize("text", ["我被拒了", "申请失败了", "为什么被拒"])
async def test_a_rejection_starts_the_diagnosis(chat, kb, text):
    reply = await chat.text(text)
    assert reply.outcome.flow == Flow.REJECTION
    assert reply.names[-2:] == ["brief_rejection", "ask"]  # the article's common causes first
    profile = profile_of(reply.slots)
    assert reply.outcome.step == next_question(profile, kb, "rejection").field


async def test_the_rejection_message_said_is_remembered(chat):
    reply = await chat.text("我被拒了，综合评分不足")
    assert reply.slots["rejected_before"] is True
    assert reply.slots["rejection_hint"] == "score_insufficient"
    assert reply.outcome.step != "rejection_hint"  # already known: not asked
    assert reply.names == ["ack", "verdict_rejection", "ask"]  # the cause and remedy at once
    d = reply.say("verdict_rejection").context["d"]
    assert d.causes[0].evidence is Evidence.STATED


@pytest.mark.parametrize(("number", "hint"), [("1", "score_insufficient"),
                                             ("2", "too_many_inquiries"), ("3", "other")])
async def test_the_numbered_options_answer_what_the_message_said(chat, number, hint):
    first = await chat.text("为什么被拒")
    assert first.outcome.step == "rejection_hint"
    reply = await chat.text(number, first.state)
    assert reply.slots["rejection_hint"] == hint


async def test_how_long_ago_becomes_a_rejection_date(chat):
    state = State(flow=Flow.REJECTION, step="rejected_on",
                  slots={"rejected_before": True, "_asked": ["rejected_on"]})
    reply = await chat.text("上周", state)
    days = chat.services.interpret("上周", "rejected_on").slots["rejected_days_ago"]
    assert reply.slots["rejected_on"] == (chat.today - dt.timedelta(days=int(days))).isoformat()
    assert reply.outcome.step != "rejected_on"


async def test_a_current_overdue_concludes_at_once_without_a_reapply_date(chat, kb):
    reply = await chat.text("开不通，现在有逾期")
    assert reply.names == ["ack", "card_diagnosis"]
    assert reply.outcome.flow is None
    profile = profile_of(reply.slots)
    core = diagnose_rejection(profile, kb, chat.today)
    assert reply.say("card_diagnosis").context["d"] == core
    inputs, summary = reply.outcome.assessment
    assert summary == {"flow": "rejection", "final": True,
                       "causes": [c.code for c in core.causes], "reapply_on": None}
    assert inputs["overdue"] == "current"


async def test_the_diagnosis_ends_with_the_cores_causes_and_date(chat, kb):
    reply = await chat.text("我被拒了")
    turns = 0
    while reply.outcome.step is not None:
        turns += 1
        assert turns <= QUICK_QUESTIONS, reply.slots
        reply = await chat.text(ANSWERS[reply.outcome.step], reply.state)
    assert "card_diagnosis" in reply.names
    core = diagnose_rejection(profile_of(reply.slots), kb, chat.today)
    assert reply.say("card_diagnosis").context["d"] == core
    _, summary = reply.outcome.assessment
    assert summary["causes"] == [c.code for c in core.causes]
    assert core.reapply_on is not None
    assert summary["reapply_on"] == core.reapply_on.isoformat()
    assert core.reapply_on > chat.today


async def test_yes_i_was_rejected_answers_the_eligibility_question(chat):
    """Mid-eligibility, "是的，上周被拒的" answers rejected_before; it is no change of subject."""
    state = State(flow=Flow.ELIGIBILITY, step="rejected_before",
                  slots={"overdue": "none", "_asked": ["rejected_before"]})
    reply = await chat.text("是的，上周被拒的", state)
    assert reply.slots["rejected_before"] is True
    assert reply.outcome.flow in (Flow.ELIGIBILITY, None)  # asked on, or concluded
    assert "brief_rejection" not in reply.names and "verdict_rejection" not in reply.names


async def test_a_rejection_mid_eligibility_switches_to_the_diagnosis(chat):
    state = State(flow=Flow.ELIGIBILITY, step="pay_score",
                  slots={"overdue": "none", "_asked": ["overdue", "pay_score"]})
    reply = await chat.text("我之前被拒了", state)
    assert reply.outcome.flow == Flow.REJECTION
    assert {"brief_rejection", "verdict_rejection"} & set(reply.names)
    assert reply.slots["overdue"] == "none"
