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
from .nlu import Understanding
from .states import Flow

__all__ = ["router"]

router = Router("calculator")

#: The pricing entries behind every schedule (for "为什么"): the overview and the
#: product whose note explains the 360 / 365 day bases.
_SOURCES = ("pricing.overview", "product.weilidai")


def _only_some_inputs(turn: Turn) -> bool:
    """The message gives some inputs but not a whole calculation (a changed one)."""
    found = {name for name in turn.understanding.slots if name in CALC_SLOTS}
    return bool(found) and not ({"amount", "months"} <= found and found & {"apr", "daily_rate"})


def _last_inputs(turn: Turn) -> dict[str, str] | None:
    """The inputs of the schedule shown last, if the last answer was one."""
    known = turn.known or turn.memory()
    last = known.last or {}
    calc = last.get("calc") if last.get("topic") == "calculator" else None
    return dict(calc) if isinstance(calc, dict) else None


def _follow_up(turn: Turn) -> Understanding | None:
    """"换成36期呢", "那24个月呢" right after a schedule: the changed input, read as such."""
    if _last_inputs(turn) is None or turn.state.flow is not None:
        return None
    u = turn.understanding
    if any(name in CALC_SLOTS for name in u.slots):
        return u if u.intent in (None, "calculator", "rates", "rate_conversion", "correction") else None
    if u.intents or u.slots:
        return None
    for expecting in ("months", "amount"):  # a bare "24个月" / "3万" after a schedule
        reread = turn.services.interpret(turn.message.text, expecting)
        if any(name in CALC_SLOTS for name in reread.slots):
            return reread
    return None


def _wants_calculation(turn: Turn) -> bool:
    u = turn.understanding
    if u.intent == "calculator":
        return True
    rate_given = "apr" in u.slots or "daily_rate" in u.slots
    if "calculator" in u.intents and "amount" in u.slots and "months" in u.slots and rate_given:
        return True  # "借1万分12期年利率18%": a complete calculation, even if "rates" ranks first
    in_calculator = turn.state.flow == Flow.CALCULATOR
    if in_calculator and any(name in CALC_SLOTS for name in u.slots):
        return True
    return _follow_up(turn) is not None


@router.on(Kind.TEXT, when=_wants_calculation)
async def calculate(turn: Turn) -> Outcome:
    """Compute the schedules once amount, term and rate are known; otherwise ask."""
    memory = turn.memory()
    follow_up = _follow_up(turn) if turn.understanding.intent != "calculator" else None
    last = _last_inputs(turn)
    if not memory.calc and last is not None and (follow_up or _only_some_inputs(turn)):
        memory.calc = last  # "换成36期呢": the last schedule with this input changed
    memory.absorb_calculator(follow_up or turn.understanding)
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
    memory.last = {"topic": "calculator", "calc": dict(calc), "sources": list(_SOURCES)}
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
        return turn.stay(card, *resume_says(turn), slots=memory.to_slots(),
                         concluded=Flow.CALCULATOR)
    return Outcome(says=(card,), flow=None, step=None, slots=memory.to_slots(),
                   concluded=Flow.CALCULATOR)
