"""Scam warnings: checked before every other feature, whatever the state; the flow goes on."""

from __future__ import annotations

import pytest

from wxloan.handlers import State
from wxloan.handlers.states import Flow


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("放款前要先交保证金", "upfront_fee"),
        ("对方说我的账户被冻结了，要交解冻费才能放款", "upfront_fee"),
        ("审核通过了但要交手续费才能提现", "upfront_fee"),
        ("有人说有内部渠道可以代开通", "internal_channel"),
        ("可以帮我刷流水提额吗", "fake_flow"),
        ("他让我把验证码发给他", "verification_code"),
        ("让我把钱转到安全账户", "safe_account"),
        ("他说他是微粒贷的工作人员，要加我好友", "impersonation"),
    ],
)
async def test_a_scam_pattern_is_named(chat, text, pattern):
    reply = await chat.text(text)
    assert reply.names == ["scam_warning"]
    assert pattern in reply.say("scam_warning").context["patterns"]
    assert reply.outcome.flow is None and not reply.outcome.transfer


async def test_a_scam_question_without_a_pattern_warns_in_general(chat):
    reply = await chat.text("这是骗子吗")
    assert reply.names == ["scam_warning"]
    assert reply.say("scam_warning").context["patterns"] == ()


async def test_ordinary_text_is_no_scam(chat):
    reply = await chat.text("你好")
    assert "scam_warning" not in reply.names


async def test_mid_questionnaire_the_warning_leads_back_to_the_same_question(chat):
    started = await chat.text("1")
    step = started.outcome.step
    reply = await chat.text("交500元保证金就能放款", started.state)
    assert reply.names == ["scam_warning", "back_to_question", "ask"]
    assert reply.say("ask").context["field"] == step
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, step)
    assert reply.slots == started.slots  # nothing learnt, nothing forgotten


async def test_mid_rejection_flow_the_warning_keeps_the_flow(chat):
    started = await chat.text("我被拒了")
    assert started.outcome.flow == Flow.REJECTION
    reply = await chat.text("对方要我的验证码", started.state)
    assert reply.names[0] == "scam_warning"
    assert reply.outcome.flow == Flow.REJECTION
    assert reply.outcome.step == started.outcome.step


async def test_a_scam_beats_a_pending_answer_and_a_command(chat):
    """Even a message that would answer the question (or restart) gets the warning first."""
    state = State(flow=Flow.ELIGIBILITY, step="pay_score", slots={"_asked": ["pay_score"]})
    reply = await chat.text("支付分700，对方说交保证金就能放款", state)
    assert reply.names[0] == "scam_warning"
    assert "pay_score" not in reply.slots


@pytest.mark.parametrize(
    "state",
    [State(), State(flow=Flow.LIMITS, step="materials"), State(flow=Flow.CALCULATOR, step="calc")],
    ids=["idle", "limits", "calculator"],
)
async def test_the_fraud_handler_on_a_hand_built_turn(chat, state):
    from wxloan.handlers import Kind, build_router, fraud

    text_routes = [r for r in build_router().routes
                   if Kind.TEXT in r.kinds and r.handler.__module__ != "wxloan.handlers.handoff"]
    assert text_routes[0].handler is fraud.scam_warning  # only the hand-off comes before
    outcome = await fraud.scam_warning(chat.turn("让我把钱转到安全账户", state))
    assert outcome.says[0].template == "scam_warning"
    assert outcome.says[0].context["patterns"] == ("safe_account",)
    assert (outcome.flow, outcome.step) == (state.flow, state.step)
