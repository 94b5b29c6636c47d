"""Confidence, not guessing: an unsure reading is asked about, with two numbered options."""

from __future__ import annotations

import dataclasses

import pytest

from wxloan.handlers import State, build_dialogue
from wxloan.handlers.clarify import PENDING
from wxloan.handlers.nlu import Understanding
from wxloan.handlers.states import Flow

from tests.test_handlers.conftest import Chat

UNSURE_TEXT = "额度那个事怎么弄"


class StandInUnderstander:
    """The real understander, except for one message the "model" is unsure about."""

    def __init__(self, real, confidence: float) -> None:
        self.real = real
        self.confidence = confidence
        self.threshold = real.threshold  # the model artifact's, chosen by cross-validation

    def understand(self, text: str, expecting: str | None = None) -> Understanding:
        u = self.real.understand(text, expecting)
        if text != UNSURE_TEXT:
            return u
        acted = self.confidence >= self.threshold
        return dataclasses.replace(
            u, intents=("limit_raise",) if acted else (), slots={}, source="model",
            confidence=self.confidence,
            alternatives=(("limit_raise", self.confidence), ("rates", self.confidence / 2), ("channels", 0.01)),
        )


@pytest.fixture(scope="module")
def threshold(dialogue) -> float:
    value = dialogue.services.understander.threshold
    assert 0 < value < 1  # the shipped model has one
    return value


def chat_with(dialogue, confidence: float) -> Chat:
    services = dialogue.services
    stand_in = StandInUnderstander(services.understander, confidence)
    return Chat(build_dialogue(services=dataclasses.replace(services, understander=stand_in)))


async def test_an_unsure_reading_offers_the_two_likeliest(dialogue, threshold):
    chat = chat_with(dialogue, threshold - 0.05)
    reply = await chat.text(UNSURE_TEXT)
    assert reply.names == ["clarify"]
    assert reply.say("clarify").context["options"] == ["limit_raise", "rates"]
    assert "1 怎么提额" in reply.text and "2 利率是多少" in reply.text
    assert reply.slots[PENDING] == {"text": UNSURE_TEXT, "options": ["limit_raise", "rates"]}


@pytest.mark.parametrize(("choice", "template"), [("1", "card_limits"), ("2", "faq_rates")])
async def test_the_number_reads_the_message_as_that_option(dialogue, threshold, choice, template):
    chat = chat_with(dialogue, threshold - 0.05)
    asked = await chat.text(UNSURE_TEXT)
    reply = await chat.text(choice, asked.state)
    assert template in reply.names
    assert PENDING not in reply.slots  # asked once, then it is over
    if choice == "1":
        assert reply.outcome.flow == Flow.LIMITS


async def test_anything_else_drops_the_question_and_is_answered_as_itself(dialogue, threshold):
    chat = chat_with(dialogue, threshold - 0.05)
    asked = await chat.text(UNSURE_TEXT)
    reply = await chat.text("微粒贷利率多少", asked.state)
    assert "clarify" not in reply.names and PENDING not in reply.slots
    menu = await chat.text("1", (await chat.text(UNSURE_TEXT)).state)
    assert menu.names[0] != "clarify"


async def test_a_confident_reading_is_not_asked_about(dialogue, threshold):
    chat = chat_with(dialogue, threshold + 0.1)
    reply = await chat.text(UNSURE_TEXT)
    assert "clarify" not in reply.names


async def test_mid_questionnaire_the_question_follows(dialogue, threshold):
    chat = chat_with(dialogue, threshold - 0.05)
    state = State(flow=Flow.ELIGIBILITY, step="overdue", slots={"pay_score": 700,
                                                               "_asked": ["overdue"]})
    reply = await chat.text(UNSURE_TEXT, state)
    assert reply.names[0] == "clarify" and reply.names[-1] == "ask"
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, "overdue")


def test_every_intent_that_can_be_offered_has_a_chinese_name(dialogue):
    from wxloan.handlers.nlu import INTENT_IDS

    for intent in INTENT_IDS:
        if intent == "menu_choice":
            continue
        text = dialogue.renderer.render_one("clarify", {"options": [intent, "rates"]})
        assert f"1 {intent}" not in text, intent  # a name, never the id
        assert len(text.encode()) < 300
