""""上次的评估结果": the stored verdict through the history port, never invented."""

from __future__ import annotations

import dataclasses

import pytest

from wxloan.handlers import build_dialogue
from wxloan.handlers.services import PastAssessment
from wxloan.knowledge import ApplicantProfile, Lean, diagnose_rejection

from tests.test_handlers.conftest import NOW, Chat


class StandInHistory:
    """A controllable history: what it holds, and who asked."""

    def __init__(self, past: PastAssessment | None) -> None:
        self.past = past
        self.asked: list[str] = []

    async def last(self, openid: str) -> PastAssessment | None:
        self.asked.append(openid)
        return self.past


def chat_with(services, past: PastAssessment | None) -> tuple[Chat, StandInHistory]:
    history = StandInHistory(past)
    dialogue = build_dialogue(services=dataclasses.replace(services, history=history))
    return Chat(dialogue), history


DAY = 86400.0


@pytest.fixture(scope="module")
def services(dialogue):
    return dialogue.services


async def test_the_stored_verdict_is_recomputed_as_of_its_day(services, kb):
    past = PastAssessment("eligibility", {"pay_score": 590, "overdue": "none"}, NOW - 3 * DAY)
    chat, history = chat_with(services, past)
    reply = await chat.text("上次的评估结果")
    assert history.asked == [chat.openid]
    assert reply.names == ["last_result", "card_assessment"]
    lead = reply.say("last_result").context
    assert (chat.today - lead["made_on"]).days == 3 and lead["flow"] == "eligibility"
    a = reply.say("card_assessment").context["a"]
    assert a.verdict("weilidai").lean is Lean.NO and a.verdict("we2000").lean is Lean.LIKELY
    assert reply.slots["pay_score"] == 590  # the facts come back into an empty session


async def test_a_stored_diagnosis_keeps_its_reapply_date(services, kb):
    made = NOW - 10 * DAY
    past = PastAssessment("rejection", {"rejection_hint": "score_insufficient",
                                        "rejected_before": True}, made)
    chat, _ = chat_with(services, past)
    reply = await chat.text("上次的结果呢")
    d = reply.say("card_diagnosis").context["d"]
    made_on = reply.say("last_result").context["made_on"]
    profile = ApplicantProfile.from_mapping(past.inputs)
    assert d == diagnose_rejection(profile, kb, made_on)  # as of that day, not today


async def test_the_session_facts_are_not_overwritten_by_old_ones(services):
    past = PastAssessment("eligibility", {"pay_score": 590}, NOW - DAY)
    chat, _ = chat_with(services, past)
    first = await chat.text("支付分720")
    reply = await chat.text("上次的评估结果", first.state)
    assert reply.slots["pay_score"] == 720
    assert reply.say("card_assessment").context["profile"].pay_score == 590


@pytest.mark.parametrize("inputs", [{"pay_score": 9999}, {"overdue": "sometimes"}])
async def test_an_unreadable_stored_profile_is_not_shown(services, inputs):
    chat, _ = chat_with(services, PastAssessment("eligibility", inputs, NOW - DAY))
    reply = await chat.text("上次的评估结果")
    assert reply.names == ["no_last_result"]


async def test_nothing_stored_says_so_and_offers_to_start(services):
    chat, _ = chat_with(services, None)
    reply = await chat.text("上次的评估结果")
    assert reply.names == ["no_last_result"]
    assert reply.outcome.flow is None


async def test_nothing_stored_but_a_verdict_this_session_shows_that(services):
    chat, _ = chat_with(services, None)
    first = await chat.text("支付分680")
    reply = await chat.text("上次的评估结果", first.state)
    assert "card_assessment" in reply.names
