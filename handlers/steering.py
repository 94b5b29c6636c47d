"""How a user steers a consultation, whatever its state: corrections, impatience,
"详细评估", the last result, and questions about someone else.

A message about someone else is answered about them and stored nowhere; a correction
("说错了，是710") re-reads its value for the fact given last; impatience ("直接说结果")
gets the card now; a request for detail keeps refining; a request for the last result comes from the stored
assessment. These run before the flows take a message as an answer.
"""

from __future__ import annotations

import datetime as dt

from wxloan.knowledge import ApplicantProfile, ProfileError

from .contract import Kind, Outcome, Say, Turn
from .facade import CHINA_TZ
from .flows import (
    acknowledge,
    advance,
    card_for,
    conclude,
    has_facts,
    in_question_flow,
    last_flow,
    resume_says,
    start_flow,
    verdict_about,
)
from .memory import PROFILE_FIELDS, Memory
from .routing import Router
from .states import Flow

__all__ = ["router"]

router = Router("steering")

#: Questions about someone else that the eligibility verdict answers.
_ABOUT_OTHER_INTENTS = frozenset({"eligibility", "special_groups", "group_info", "requirements"})


def _about_someone_else(turn: Turn) -> bool:
    u = turn.understanding
    return u.third_party and (has_facts(turn) or bool(_ABOUT_OTHER_INTENTS & set(u.intents)))


@router.on(Kind.TEXT, when=_about_someone_else)
async def about_someone_else(turn: Turn) -> Outcome:
    """A question about someone else: that person's verdict; the user's own profile is untouched."""
    other = Memory(profile=ApplicantProfile())
    other.absorb(turn.understanding, turn.today, None)
    return turn.stay(*verdict_about(turn, other.profile), *resume_says(turn))


def _corrects_a_fact(turn: Turn) -> bool:
    return turn.understanding.intent == "correction" and bool(turn.memory().recent)


@router.on(Kind.TEXT, when=_corrects_a_fact)
async def correction(turn: Turn) -> Outcome:
    """A correction: the value replaces the fact given last; later cards use it."""
    memory = turn.memory()
    changed = _corrected(turn, memory)
    lead = acknowledge(turn, memory, changed, corrected=True)
    if not changed:
        return turn.stay(Say("correction_unclear"), *resume_says(turn))
    flow = turn.state.flow
    if flow is not None and in_question_flow(turn):
        return advance(turn, memory, flow, lead)
    last = last_flow(memory)
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
    """Impatience: the card now, with what is known, and what is still unknown."""
    memory = turn.memory()
    changed = memory.absorb(turn.understanding, turn.today, None)
    lead = acknowledge(turn, memory, changed)
    flow = turn.state.flow if in_question_flow(turn) else last_flow(memory)
    if flow is None:
        flow = Flow.ELIGIBILITY
        if not memory.profile.to_mapping():
            return start_flow(turn, flow, memory, lead)  # nothing known: the one question
    return conclude(turn, memory, flow, lead)


def _wants_detail(turn: Turn) -> bool:
    return turn.understanding.intent == "detailed"


@router.on(Kind.TEXT, when=_wants_detail)
async def detailed(turn: Turn) -> Outcome:
    """A request for detail: keep asking what can still change the answer, one a turn."""
    memory = turn.memory()
    flow = turn.state.flow if in_question_flow(turn) else last_flow(memory)
    memory.absorb(turn.understanding, turn.today, None)
    if flow is None:
        return start_flow(turn, Flow.ELIGIBILITY, memory)
    memory.detailed = True
    return advance(turn, memory, flow, verdict=in_question_flow(turn))


@router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent == "last_result")
async def last_result(turn: Turn) -> Outcome:
    """The last result asked for: the stored verdict, recomputed from its facts as of its day.

    The facts come back into a session that has none, so follow-ups work at once.
    """
    memory = turn.memory()
    past = await turn.services.history.last(turn.message.openid)
    flow = Flow.decode(past.flow) if past is not None else None
    if past is None or flow is None:
        last = last_flow(memory)
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


