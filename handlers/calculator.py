"""The repayment calculator: equal instalment and equal principal, from the core."""

from __future__ import annotations

from decimal import Decimal

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router
from wxloan.knowledge import (
    CalculatorError,
    daily_rate_to_apr,
    equal_instalment,
    equal_principal,
)

from .flows import resume_says
from .memory import CALC_SLOTS
from .states import Flow

__all__ = ["router"]

router = Router("calculator")


def _wants_calculation(turn: Turn) -> bool:
    u = turn.understanding
    if u.intent == "calculator":
        return True
    rate_given = "apr" in u.slots or "daily_rate" in u.slots
    if "calculator" in u.intents and "amount" in u.slots and "months" in u.slots and rate_given:
        return True  # "借1万分12期年利率18%": a complete calculation, even if "rates" ranks first
    in_calculator = turn.state.flow == Flow.CALCULATOR
    return in_calculator and any(name in CALC_SLOTS for name in u.slots)


@router.on(Kind.TEXT, when=_wants_calculation)
async def calculate(turn: Turn) -> Outcome:
    """Compute the schedules once amount, term and rate are known; otherwise ask."""
    memory = turn.memory()
    memory.absorb_calculator(turn.understanding)
    calc = memory.calc
    missing = [name for name in ("amount", "months") if name not in calc]
    if "apr" not in calc and "daily_rate" not in calc:
        missing.append("apr")
    kb = turn.services.kb
    if missing:
        return Outcome(says=(Say("ask_calculator", {"missing": missing, "kb": kb}),),
                       flow=Flow.CALCULATOR, step="calc", slots=memory.to_slots())
    daily_pct = Decimal(calc["daily_rate"]) * 100 if "daily_rate" in calc else None
    apr_pct = daily_rate_to_apr(daily_pct) if daily_pct is not None else Decimal(calc["apr"]) * 100
    amount, months = int(calc["amount"]), int(calc["months"])
    memory.calc = {}
    try:
        instalment = equal_instalment(amount, apr_pct, months)
        principal = equal_principal(amount, apr_pct, months)
    except CalculatorError:
        return Outcome(says=(Say("calc_invalid", {"kb": kb}),), flow=None, step=None,
                       slots=memory.to_slots())
    card = Say(
        "card_calculator",
        {
            "amount": amount,
            "months": months,
            "apr_pct": apr_pct,
            "daily_pct": daily_pct,
            "instalment": instalment,
            "principal": principal,
            "kb": kb,
        },
    )
    came_from_flow = turn.state.flow not in (None, Flow.CALCULATOR)
    if came_from_flow:
        return turn.stay(card, *resume_says(turn), slots=memory.to_slots())
    return Outcome(says=(card,), flow=None, step=None, slots=memory.to_slots())
