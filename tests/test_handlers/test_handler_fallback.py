"""What no feature claimed: text not understood, media, untranscribed voice, unknown types."""

from __future__ import annotations

import pytest

from wxloan.handlers import Kind, State, build_router, fallback
from wxloan.handlers.states import Flow

MID_FLOW = State(
    flow=Flow.LIMITS, step="materials", slots={"overdue": "none", "_asked": ["overdue", "materials"]}
)


@pytest.mark.parametrize("text", ["啊啊啊啊", "今天天气不错", "asdfgh", "讲个笑话"])
async def test_text_nobody_understood_gets_a_polite_answer_and_the_menu(chat, text):
    reply = await chat.text(text)
    assert reply.names == ["not_understood", "menu"]
    assert reply.outcome.flow is None and not reply.outcome.silent


async def test_an_out_of_scope_reading_is_answered_by_the_fallback_not_a_topic(chat):
    reply = await chat.text("讲个笑话")
    assert chat.services.understander.understand("讲个笑话").intents[0] == "out_of_scope"
    assert reply.names == ["not_understood", "menu"]


async def test_the_not_understood_handler_on_a_hand_built_turn(chat):
    assert build_router().routes[-1].handler is fallback.not_understood  # the last resort
    outcome = await fallback.not_understood(chat.turn("今天天气不错", MID_FLOW))
    assert [say.template for say in outcome.says] == ["not_understood", "back_to_question", "ask"]
    assert (outcome.flow, outcome.step) == (Flow.LIMITS, "materials")


@pytest.mark.parametrize("msg_type", ["image", "video", "shortvideo", "location", "link", "file"])
async def test_media_is_declined_politely(chat, msg_type):
    reply = await chat.send(chat.message(Kind.MEDIA, msg_type))
    assert reply.names == ["media_not_supported"]
    assert reply.say("media_not_supported").context == {"msg_type": msg_type}


async def test_media_mid_flow_asks_the_question_again(chat):
    reply = await chat.send(chat.message(Kind.MEDIA, "image"), MID_FLOW)
    assert reply.names == ["media_not_supported", "back_to_question", "ask"]
    assert reply.say("ask").context["field"] == "materials"
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.LIMITS, "materials")
    assert reply.slots == dict(MID_FLOW.slots)


async def test_voice_wechat_could_not_transcribe_asks_for_text(chat):
    reply = await chat.send(chat.message(Kind.EMPTY_VOICE, "voice"))
    assert reply.names == ["empty_voice"]
    mid = await chat.send(chat.message(Kind.EMPTY_VOICE, "voice"), MID_FLOW)
    assert mid.names == ["empty_voice", "back_to_question", "ask"]
    assert mid.outcome.step == "materials"


async def test_transcribed_voice_is_read_like_text(chat):
    voice = chat.message(Kind.TEXT, "voice", text="有社保")
    reply = await chat.send(voice, MID_FLOW)
    assert reply.slots["materials"] == ["social_security"]


@pytest.mark.parametrize("state", [State(), MID_FLOW], ids=["idle", "mid-flow"])
async def test_an_unknown_message_type_is_answered_with_success(chat, state):
    reply = await chat.send(chat.message(Kind.UNKNOWN, "device_text"), state)
    assert reply.outcome.silent is True and reply.text == ""
    assert (reply.state.flow, reply.state.step) == (state.flow, state.step)
