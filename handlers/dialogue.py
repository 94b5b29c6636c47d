"""Routes into and through the three flows, answer first.

Inside a flow, a message that carries an answer (or nothing recognisable) goes to the
flow; a side question is answered elsewhere and the pending question asked again. From
idle, an intent, a menu number or a message full of facts starts the matching flow,
whose first reply already carries the verdict those facts allow.

Before these routes, :mod:`.steering` takes corrections, impatience, "详细评估", the last
result and questions about someone else.
"""

from __future__ import annotations

from wxloan.knowledge import Questionnaire
from wxloan.knowledge.questions import PRIORITY

from .contract import Kind, Outcome, Say, Turn
from .flows import (
    acknowledge,
    advance,
    answer_in_flow,
    conclude,
    has_answer,
    has_facts,
    in_question_flow,
    last_flow,
    start_flow,
)
from .memory import CALC_SLOTS
from .routing import Router
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
    if "calculator" in understanding.intents and CALC_SLOTS & set(understanding.slots):
        return False  # "借1万分12期年利率18%": a calculation, not a pay score of 10,000
    requested = _FLOW_INTENTS.get(understanding.intent or "")
    if requested is not None and requested != turn.state.flow:
        if requested is Flow.REJECTION and turn.state.step in _REJECTION_FACTS:
            return True  # "是的，上周被拒的" answers the question, it does not change subject
        return False  # a change of subject to another flow
    return has_answer(turn) or understanding.intent in (None, "out_of_scope")  # gibberish: a failed answer


@router.on(Kind.TEXT, when=_answers_pending_question)
async def flow_answer(turn: Turn) -> Outcome:
    """An answer (or a failed one) to the question the flow asked."""
    return answer_in_flow(turn)


#: A group question that, in the first person, asks for the user's own check.
_GROUP_INTENTS = frozenset({"group_info", "special_groups"})


def _flow_requested(turn: Turn) -> Flow | None:
    understanding = turn.understanding
    if understanding.intent in _FLOW_INTENTS:
        return _FLOW_INTENTS[understanding.intent]
    if (understanding.first_person and understanding.intent in _GROUP_INTENTS
            and "eligibility" in understanding.intents):
        return Flow.ELIGIBILITY  # a group question in the first person: the user's own verdict
    if turn.state.flow is None and understanding.choice is not None:
        button = turn.services.menu.by_choice(understanding.choice)
        return Flow(button.flow) if button else None
    if turn.state.flow is None and not understanding.intents and has_facts(turn):
        return Flow.ELIGIBILITY  # facts volunteered out of the blue: assess them
    return None


@router.on(Kind.TEXT)
async def flow_start(turn: Turn) -> Outcome | None:
    """Start (or switch to) a flow; its first reply answers from the facts already given."""
    flow = _flow_requested(turn)
    if flow is None:
        return None  # not a request for a flow: the next route's
    memory = turn.memory()
    changed = memory.absorb(turn.understanding, turn.today, None)
    lead = acknowledge(turn, memory, changed)
    if flow == turn.state.flow and turn.state.step and not changed:
        return advance(turn, memory, flow, verdict=True)  # "能贷多少" mid-way: the answer so far
    last = last_flow(memory)
    if (turn.state.flow is None and not turn.understanding.intents and last is not None
            and changed & set(PRIORITY[Questionnaire(last.value)])):
        return conclude(turn, memory, last, lead)  # a fact after the card updates the card
    return start_flow(turn, flow, memory, lead)
