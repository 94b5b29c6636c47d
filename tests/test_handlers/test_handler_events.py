"""Events: subscribe/scan welcome, CLICK menu keys from knowledge/data/menu.toml, unsubscribe."""

from __future__ import annotations

import pytest

from wxloan.handlers import State
from wxloan.handlers.flows import VERIFICATION, VERIFICATION_FIELDS
from wxloan.handlers.menu import load_menu
from wxloan.handlers.states import Flow

MENU = load_menu()  # the one definition: knowledge/data/menu.toml
MID_FLOW = State(
    flow=Flow.REJECTION,
    step="rejected_on",
    slots={"rejected_before": True, "_asked": ["overdue", "rejected_on"]},
)


def test_the_menu_file_has_buttons_to_click():
    assert MENU.buttons, "menu.toml has no buttons: the click tests below test nothing"


@pytest.mark.parametrize("event", ["subscribe", "scan", "user_enter_tempsession"])
async def test_a_new_or_returning_follower_is_welcomed(chat, event):
    reply = await chat.event(event)
    assert reply.names == ["welcome"]
    assert not reply.outcome.silent
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)


async def test_welcome_mid_flow_goes_idle_and_keeps_the_facts(chat):
    reply = await chat.event("subscribe", state=MID_FLOW)
    assert reply.names == ["welcome"]
    assert reply.outcome.flow is None
    assert reply.slots == dict(MID_FLOW.slots)


@pytest.mark.parametrize("button", MENU.buttons, ids=lambda b: b.key)
async def test_a_menu_click_starts_the_buttons_flow(chat, kb, button):
    from wxloan.knowledge import ApplicantProfile, next_question

    reply = await chat.event("click", button.key)
    assert reply.outcome.flow == button.flow
    first_reply = {"eligibility": "brief_eligibility", "rejection": "brief_rejection",
                   "limits": "card_limits"}[button.flow]
    assert reply.names == [first_reply, "ask"]  # the answer first, then one question
    first = next_question(ApplicantProfile(), kb, button.flow)
    assert first is not None
    expected = VERIFICATION if first.field in VERIFICATION_FIELDS else first.field
    assert reply.outcome.step == expected == reply.say("ask").context["field"]
    assert reply.slots["_asked"] == [reply.outcome.step]


@pytest.mark.parametrize("button", MENU.buttons, ids=lambda b: b.key)
async def test_typing_the_buttons_number_does_the_same(chat, button):
    clicked = await chat.event("click", button.key)
    typed = await chat.text(str(button.choice))
    assert typed.names == clicked.names
    assert (typed.outcome.flow, typed.outcome.step) == (clicked.outcome.flow, clicked.outcome.step)


async def test_a_click_mid_flow_switches_flow_and_keeps_the_facts(chat):
    button = next(b for b in MENU.buttons if b.flow != MID_FLOW.flow)
    reply = await chat.event("click", button.key, state=MID_FLOW)
    assert reply.outcome.flow == button.flow
    assert reply.slots["rejected_before"] is True
    assert reply.slots["_asked"] == [reply.outcome.step]  # a new questionnaire's bookkeeping


async def test_an_unknown_menu_key_shows_the_menu_and_changes_nothing(chat):
    reply = await chat.event("click", "NO_SUCH_KEY", state=MID_FLOW)
    assert reply.names == ["menu"]
    assert (reply.outcome.flow, reply.outcome.step) == (MID_FLOW.flow, MID_FLOW.step)
    assert reply.slots == dict(MID_FLOW.slots)


async def test_unsubscribe_clears_the_session_silently(chat):
    reply = await chat.event("unsubscribe", state=MID_FLOW)
    assert reply.outcome.clear_session is True
    assert reply.outcome.silent is True
    assert reply.text == "" and reply.names == []
    assert reply.state == State()


@pytest.mark.parametrize("event", ["location", "view", "templatesendjobfinish", "masssendjobfinish"])
async def test_other_events_are_answered_with_success(chat, event):
    reply = await chat.event(event, state=MID_FLOW)
    assert reply.outcome.silent is True and reply.text == ""
    assert reply.state.flow == MID_FLOW.flow and reply.state.step == MID_FLOW.step
