"""The repayment calculator: every figure is the knowledge core's calculator's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wxloan.handlers import State
from wxloan.handlers.states import Flow
from wxloan.knowledge import daily_rate_to_apr, equal_instalment, equal_principal


@pytest.mark.parametrize(
    ("text", "amount", "months", "apr_pct"),
    [
        ("借1万分12期年利率18%", 10000, 12, 18),
        ("借5000元分6期，年化12%", 5000, 6, 12),
        ("贷款3万，24期，年利率7.2%", 30000, 24, Decimal("7.2")),
        ("借1万12个月年利率18%每月还多少", 10000, 12, 18),
        ("借1万分1期年利率18%", 10000, 1, 18),
    ],
)
async def test_one_sentence_gives_the_cores_schedules(chat, text, amount, months, apr_pct):
    reply = await chat.text(text)
    assert reply.names == ["card_calculator"]
    card = reply.say("card_calculator").context
    assert (card["amount"], card["months"], card["apr_pct"]) == (amount, months, apr_pct)
    assert card["daily_pct"] is None
    core = equal_instalment(amount, apr_pct, months)
    assert card["instalment"] == core
    assert card["instalment"].first_payment == core.first_payment  # the monthly payment
    assert card["principal"] == equal_principal(amount, apr_pct, months)
    assert (reply.outcome.flow, reply.outcome.step) == (None, None)
    assert "_calc" not in reply.slots


@pytest.mark.parametrize(
    ("text", "daily_pct"),
    [("日利率万五借1万分12期", Decimal("0.05")), ("借1万分12期日利率0.05%", Decimal("0.05")),
     ("借1万分12期日息万三", Decimal("0.03"))],
)
async def test_a_daily_rate_is_converted_by_the_core(chat, text, daily_pct):
    reply = await chat.text(text)
    card = reply.say("card_calculator").context
    assert card["daily_pct"] == daily_pct
    apr_pct = daily_rate_to_apr(daily_pct)
    assert card["apr_pct"] == apr_pct
    assert card["instalment"] == equal_instalment(10000, apr_pct, 12)


async def test_step_by_step_the_calculator_asks_for_what_is_missing(chat):
    replies = await chat.talk("帮我算下月供", "1万", "12期", "年利率18%")
    missing = [r.say("ask_calculator").context["missing"] for r in replies[:3]]
    assert missing == [["amount", "months", "apr"], ["months", "apr"], ["apr"]]
    for reply in replies[:3]:
        assert (reply.outcome.flow, reply.outcome.step) == (Flow.CALCULATOR, "calc")
    assert replies[1].slots["_calc"] == {"amount": "10000"}
    done = replies[3]
    assert done.names == ["card_calculator"]
    assert done.say("card_calculator").context["instalment"] == equal_instalment(10000, 18, 12)
    assert done.outcome.flow is None and "_calc" not in done.slots


async def test_in_the_calculator_a_new_rate_replaces_the_old_kind_of_rate(chat):
    state = State(flow=Flow.CALCULATOR, step="calc",
                  slots={"_calc": {"amount": "10000", "daily_rate": "0.0005"}})
    reply = await chat.text("年利率12%", state)
    assert reply.names == ["ask_calculator"]
    assert reply.slots["_calc"] == {"amount": "10000", "apr": "0.12"}


async def test_an_impossible_rate_is_refused(chat):
    reply = await chat.text("借1万分12期年利率50%")
    assert reply.names == ["calc_invalid"]
    assert reply.outcome.flow is None
    assert "_calc" not in reply.slots


async def test_a_calculation_mid_questionnaire_leads_back_to_the_question(chat):
    started = await chat.text("1")
    reply = await chat.text("借1万分12期年利率18%", started.state)
    assert reply.names == ["card_calculator", "back_to_question", "ask"]
    assert reply.say("card_calculator").context["instalment"] == equal_instalment(10000, 18, 12)
    assert (reply.outcome.flow, reply.outcome.step) == (Flow.ELIGIBILITY, started.outcome.step)
    unchanged = {k: v for k, v in reply.slots.items() if k != "_last"}
    assert unchanged == {k: v for k, v in started.slots.items() if k != "_last"}
    assert reply.slots["_last"]["topic"] == "calculator"  # "换成36期呢" would follow it up


@pytest.mark.parametrize(
    ("follow_up", "amount", "months", "apr"),
    [
        ("换成36期呢", 10000, 36, 18),
        ("那24个月呢", 10000, 24, 18),
        ("借5万呢", 50000, 12, 18),
        ("年化12%呢", 10000, 12, 12),
        ("如果分6期呢", 10000, 6, 18),
    ],
)
async def test_a_follow_up_changes_one_input_of_the_last_schedule(chat, follow_up, amount, months, apr):
    first = await chat.text("借1万分12期年利率18%")
    reply = await chat.text(follow_up, first.state)
    assert reply.names == ["card_calculator"], follow_up
    context = reply.say("card_calculator").context
    assert (context["amount"], context["months"]) == (amount, months)
    assert context["instalment"] == equal_instalment(amount, apr, months)


async def test_a_follow_up_needs_a_schedule_before_it(chat):
    reply = await chat.text("那24个月呢")
    assert "card_calculator" not in reply.names


async def test_the_card_gets_the_loaded_knowledge_base(chat, kb):
    """The reference line (微粒贷's range) is read from the kb the card is given."""
    reply = await chat.text("借1万分12期年利率18%")
    assert reply.say("card_calculator").context["kb"] is kb
