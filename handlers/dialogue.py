"""Routes into and through the three flows.

Inside a flow, a message that carries an answer (or nothing recognisable) goes to the
flow; a side question is answered elsewhere and the pending question asked again. From
idle, an intent, a menu number or a message full of facts starts the matching flow.
"""

from __future__ import annotations

from .contract import Outcome, Turn
from .contract import Kind
from .routing import Router

from .flows import (
    answer_in_flow,
    has_answer,
    has_facts,
    in_question_flow,
    resume_says,
    start_flow,
)
from .states import Flow

__all__ = ["router"]

router = Router("dialogue")

#: Questions of other flows whose honest answer mentions a rejection.
_REJECTION_FACTS = frozenset({"rejected_before", "rejected_on", "rejection_hint"})

_FLOW_INTENTS = {
    "eligibility": Flow.ELIGIBILITY,
    "rejection": Flow.REJECTION,
    "limit_raise": Flow.LIMITS,
}


def _answers_pending_question(turn: Turn) -> bool:
    if not in_question_flow(turn):
        return False
    understanding = turn.understanding
    requested = _FLOW_INTENTS.get(understanding.intent or "")
    if requested is not None and requested != turn.state.flow:
        if requested is Flow.REJECTION and turn.state.step in _REJECTION_FACTS:
            return True  # "是的，上周被拒的" answers the question, it does not change subject
        return False  # a change of subject to another flow
    return has_answer(turn) or not understanding.intents


@router.on(Kind.TEXT, when=_answers_pending_question)
async def flow_answer(turn: Turn) -> Outcome:
    """An answer (or a failed one) to the question the flow asked."""
    return answer_in_flow(turn)


def _flow_requested(turn: Turn) -> Flow | None:
    understanding = turn.understanding
    if understanding.intent in _FLOW_INTENTS:
        return _FLOW_INTENTS[understanding.intent]
    if turn.state.flow is None and understanding.choice is not None:
        button = turn.services.menu.by_choice(understanding.choice)
        return Flow(button.flow) if button else None
    if turn.state.flow is None and not understanding.intents and has_facts(turn):
        return Flow.ELIGIBILITY  # facts volunteered out of the blue: assess them
    return None


@router.on(Kind.TEXT)
async def flow_start(turn: Turn) -> Outcome | None:
    """Start (or switch to) a flow, taking any facts the message already carries."""
    flow = _flow_requested(turn)
    if flow is None:
        return None  # not a request for a flow: the next route's
    if flow == turn.state.flow and turn.state.step:
        return turn.stay(*resume_says(turn))  # already there: just ask the pending question
    memory = turn.memory()
    memory.absorb(turn.understanding, turn.today, None)
    return start_flow(turn, flow, memory)
