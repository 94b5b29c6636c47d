"""Routes into and through the three flows, answer first.

Inside a flow, a message that carries an answer (or nothing recognisable) goes to the
flow; a side question is answered elsewhere and the pending question asked again. From
idle, an intent, a menu number or a message full of facts starts the matching flow,
whose first reply already carries the verdict those facts allow.

Before that: a message about someone else is answered about them and stored nowhere;
a correction ("说错了，是710") re-reads its value for the fact given last; impatience
("直接说结果") gets the card now; "详细评估" keeps refining.
"""

from __future__ import annotations

import datetime as dt

from wxloan.knowledge import ApplicantProfile, ProfileError, Questionnaire
from wxloan.knowledge.questions import PRIORITY

from .contract import Kind, Outcome, Say, Turn
from .flows import (
    acknowledge,
    advance,
    answer_in_flow,
    card_for,
    conclude,
    has_answer,
    has_facts,
    in_question_flow,
    resume_says,
    start_flow,
    verdict_about,
)
from .facade import CHINA_TZ
from .memory import CALC_SLOTS, PROFILE_FIELDS, Memory
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
#: Questions about someone else that the eligibility verdict answers.
_ABOUT_OTHER_INTENTS = frozenset({"eligibility", "special_groups", "group_info", "requirements"})


def _last_flow(memory: Memory) -> Flow | None:
    stored = (memory.last or {}).get("flow")
    return Flow.decode(stored) if isinstance(stored, str) else None


def _about_someone_else(turn: Turn) -> bool:
    u = turn.understanding
    return u.third_party and (has_facts(turn) or bool(_ABOUT_OTHER_INTENTS & set(u.intents)))


@router.on(Kind.TEXT, when=_about_someone_else)
async def about_someone_else(turn: Turn) -> Outcome:
    """"我老婆是学生，她能办吗": that person's verdict; the user's own profile is untouched."""
    other = Memory(profile=ApplicantProfile())
    other.absorb(turn.understanding, turn.today, None)
    return turn.stay(*verdict_about(turn, other.profile), *resume_says(turn))


def _corrects_a_fact(turn: Turn) -> bool:
    return turn.understanding.intent == "correction" and bool(turn.memory().recent)


@router.on(Kind.TEXT, when=_corrects_a_fact)
async def correction(turn: Turn) -> Outcome:
    """"刚才说错了，是710": the value replaces the fact given last; later cards use it."""
    memory = turn.memory()
    changed = _corrected(turn, memory)
    lead = acknowledge(turn, memory, changed, corrected=True)
    if not changed:
        return turn.stay(Say("correction_unclear"), *resume_says(turn))
    flow = turn.state.flow
    if flow is not None and in_question_flow(turn):
        return advance(turn, memory, flow, lead)
    last = _last_flow(memory)
    if last is not None:
        return conclude(turn, memory, last, lead)  # the corrected value, in a new card
    return turn.stay(*lead, slots=memory.to_slots())


def _corrected(turn: Turn, memory: Memory) -> set[str]:
    """Apply a correction; the fields it changed.

    A stated fact ("说错了，支付分是710") is taken as it is. A bare value ("应该是720") is
    the value of a fact the user gave: the ones of their last message first, then the
    others they gave, the first one it reads as (720 is a pay score, not an identity).
    """
    plain = turn.services.interpret(turn.message.text, None)  # "不对" is no answer to the
    if any(name in PROFILE_FIELDS for name in plain.slots):  # pending question here
        return memory.absorb(plain, turn.today, None)
    known = [f for f in memory.profile.to_mapping() if f not in memory.recent]
    for field in [*memory.recent, *known]:
        reread = turn.services.interpret(turn.message.text, field)
        if field in reread.slots or (field == "rejected_on" and "rejected_days_ago" in reread.slots):
            trial = memory.copy()
            if trial.absorb(reread, turn.today, field):
                return memory.absorb(reread, turn.today, field)
    return set()


@router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent == "impatient")
async def impatient(turn: Turn) -> Outcome:
    """"直接说结果": the card now, with what is known, and what is still unknown."""
    memory = turn.memory()
    changed = memory.absorb(turn.understanding, turn.today, None)
    lead = acknowledge(turn, memory, changed)
    flow = turn.state.flow if in_question_flow(turn) else _last_flow(memory)
    if flow is None:
        flow = Flow.ELIGIBILITY
        if not memory.profile.to_mapping():
            return start_flow(turn, flow, memory, lead)  # nothing known: the one question
    return conclude(turn, memory, flow, lead)


def _wants_detail(turn: Turn) -> bool:
    return turn.understanding.intent == "detailed"


@router.on(Kind.TEXT, when=_wants_detail)
async def detailed(turn: Turn) -> Outcome:
    """"详细评估": keep asking what can still change the answer, one question a turn."""
    memory = turn.memory()
    flow = turn.state.flow if in_question_flow(turn) else _last_flow(memory)
    memory.absorb(turn.understanding, turn.today, None)
    if flow is None:
        return start_flow(turn, Flow.ELIGIBILITY, memory)
    memory.detailed = True
    return advance(turn, memory, flow, verdict=in_question_flow(turn))


@router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent == "last_result")
async def last_result(turn: Turn) -> Outcome:
    """"上次的评估结果": the stored verdict, recomputed from its facts as of its day.

    The facts come back into a session that has none, so follow-ups work at once.
    """
    memory = turn.memory()
    past = await turn.services.history.last(turn.message.openid)
    flow = Flow.decode(past.flow) if past is not None else None
    if past is None or flow is None:
        last = _last_flow(memory)
        if last is not None:
            return conclude(turn, memory, last)  # this session's verdict, on today's facts
        return turn.stay(Say("no_last_result"), *resume_says(turn))
    try:
        profile = ApplicantProfile.from_mapping(dict(past.inputs))
    except ProfileError:
        return turn.stay(Say("no_last_result"), *resume_says(turn))
    made_on = dt.datetime.fromtimestamp(past.made_at, CHINA_TZ).date()
    if not memory.profile.to_mapping():
        memory.profile = profile
    lead = Say("last_result", {"made_on": made_on, "flow": flow.value})
    card = card_for(turn, flow, profile, made_on)
    return turn.stay(lead, card, *resume_says(turn), slots=memory.to_slots())


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
    return has_answer(turn) or not understanding.intents


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
        return Flow.ELIGIBILITY  # "我是学生能开通吗": the user's own verdict, not the group's
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
    last = _last_flow(memory)
    if (turn.state.flow is None and not turn.understanding.intents and last is not None
            and changed & set(PRIORITY[Questionnaire(last.value)])):
        return conclude(turn, memory, last, lead)  # a fact after the card updates the card
    return start_flow(turn, flow, memory, lead)
