"""The three guided flows: eligibility questionnaire, rejection diagnosis, limit tips.

Each turn a flow asks the assessment core what still matters (``next_questions``), asks
the most important unknown field, one at a time, and concludes with a card as soon as
nothing left could change the answer. Handlers decide nothing about credit themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .contract import Outcome, Say, Turn
from wxloan.knowledge import ApplicantProfile, KnowledgeBase, assess, diagnose_rejection, limit_plan

from .memory import PROFILE_FIELDS, Memory
from .states import Flow

__all__ = [
    "MAX_TRIES",
    "QUESTION_BUDGET",
    "advance",
    "ask_again",
    "resume_says",
    "start_flow",
]

#: Unusable answers to one question before it is skipped.
MAX_TRIES = 3
#: Most questions a flow asks before concluding with what it has (limits: "at most two").
QUESTION_BUDGET = {Flow.ELIGIBILITY: 8, Flow.REJECTION: 6, Flow.LIMITS: 2}
_QUESTION_FLOWS = frozenset(QUESTION_BUDGET)
#: The three identity checks are asked as one question ("verification") while all are
#: unknown: nearly everyone answers "yes" to all three, and three questions would tire.
VERIFICATION_FIELDS = ("real_name_verified", "face_verified", "account_normal")
VERIFICATION = "verification"


def _ask(turn: Turn, memory: Memory, field: str, attempt: int = 0,
         invalid_value: int | None = None) -> Say:
    position = memory.asked.index(field) + 1 if field in memory.asked else len(memory.asked) + 1
    return Say(
        "ask",
        {
            "field": field,
            "attempt": attempt,
            "invalid_value": invalid_value,
            "position": position,
            "kb": turn.services.kb,
        },
    )


def _pending(turn: Turn, memory: Memory, flow: Flow) -> str | None:
    """The next field worth asking (the core decides), skipped ones excluded."""
    services = turn.services
    return services.next_question(memory.profile, flow.value, frozenset(memory.skipped))


def advance(turn: Turn, memory: Memory, flow: Flow, lead: tuple[Say, ...] = ()) -> Outcome:
    """Ask the next question that matters, or conclude the flow with its card."""
    field = _pending(turn, memory, flow)
    budget_left = QUESTION_BUDGET[flow] - len(memory.asked)
    if field is not None and (budget_left > 0 or field in memory.asked):
        if field in VERIFICATION_FIELDS and VERIFICATION not in memory.skipped and all(
            getattr(memory.profile, name) is None for name in VERIFICATION_FIELDS
        ):
            field = VERIFICATION
        say = _ask(turn, memory, field)
        if field not in memory.asked:
            memory.asked.append(field)
        return Outcome(says=lead + (say,), flow=flow, step=field, slots=memory.to_slots())
    return _conclude(turn, memory, flow, lead)


@dataclass(frozen=True, slots=True)
class _Card:
    """A flow's conclusion: the template, its context key, the result and its summary."""

    template: str
    key: str
    result: Any
    summary: dict[str, Any]


def _eligibility_card(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date) -> _Card:
    result = assess(profile, kb, today)
    summary = {
        "verdicts": {v.product: v.status.value for v in result.verdicts},
        "risk_grade": result.risk.grade.value if result.risk.grade else None,
        "channel": result.channel.channel,
        "decided": result.decided,
    }
    return _Card("card_assessment", "a", result, summary)


def _rejection_card(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date) -> _Card:
    result = diagnose_rejection(profile, kb, today)
    summary = {
        "causes": [c.code for c in result.causes],
        "reapply_on": result.reapply_on.isoformat() if result.reapply_on else None,
    }
    return _Card("card_diagnosis", "d", result, summary)


def _limits_card(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date) -> _Card:
    result = limit_plan(profile, kb)
    return _Card("card_limits", "plan", result, {"actions": [a.code for a in result.actions]})


_CARDS: dict[Flow, Callable[[ApplicantProfile, KnowledgeBase, dt.date], _Card]] = {
    Flow.ELIGIBILITY: _eligibility_card,
    Flow.REJECTION: _rejection_card,
    Flow.LIMITS: _limits_card,
}


def _conclude(turn: Turn, memory: Memory, flow: Flow, lead: tuple[Say, ...]) -> Outcome:
    """The flow's card from the core; recorded in ``assessments``; remembered for "为什么"."""
    kb = turn.services.kb
    profile = memory.profile
    card = _CARDS[flow](profile, kb, turn.today)
    memory.last = {"topic": card.template.removeprefix("card_"),
                   "sources": list(card.result.sources)}
    memory.start_flow()
    context = {"kb": kb, "profile": profile, card.key: card.result}
    return Outcome(
        says=lead + (Say(card.template, context),),
        flow=None,
        step=None,
        slots=memory.to_slots(),
        assessment=(dict(profile.to_mapping()), {"flow": flow.value, **card.summary}),
    )


def start_flow(turn: Turn, flow: Flow, memory: Memory | None = None) -> Outcome:
    """Begin ``flow`` (menu click, 1/2/3, or an intent), keeping known facts.

    The intro ("I will ask a few questions") is shown only when there is something to ask.
    """
    memory = memory or turn.memory()
    memory.start_flow()
    intro = (Say(f"flow_intro_{flow.value}"),) if _pending(turn, memory, flow) else ()
    return advance(turn, memory, flow, intro)


def ask_again(turn: Turn, memory: Memory, field: str, attempt: int,
              invalid_value: int | None) -> Outcome:
    """Re-ask ``field`` after an unusable answer (with a hint), or skip it after three."""
    flow = turn.state.flow or Flow.ELIGIBILITY
    memory.tries[field] = attempt
    if attempt >= MAX_TRIES:
        memory.skipped.append(field)
        return advance(turn, memory, flow, (Say("ask_skipped", {"field": field}),))
    say = _ask(turn, memory, field, attempt=attempt, invalid_value=invalid_value)
    return Outcome(says=(say,), flow=flow, step=field, slots=memory.to_slots())


def resume_says(turn: Turn) -> tuple[Say, ...]:
    """After answering a side question mid-flow: lead back to the pending question."""
    step = turn.state.step
    if turn.state.flow not in _QUESTION_FLOWS or not step:
        return ()
    memory = turn.memory()
    return (Say("back_to_question"), _ask(turn, memory, step))


def answer_in_flow(turn: Turn) -> Outcome:
    """The user answered (or failed to answer) the pending question of a flow."""
    understanding = turn.understanding
    flow = turn.state.flow or Flow.ELIGIBILITY
    step = turn.state.step
    memory = turn.memory()
    changed = memory.absorb(understanding, turn.today, step)
    if step == VERIFICATION and understanding.yes_no is not None and not (
        changed & set(VERIFICATION_FIELDS)
    ):
        if understanding.yes_no:
            changed = memory.confirm(VERIFICATION_FIELDS)
        else:
            memory.skipped.append(VERIFICATION)  # ask the three one by one instead
            return advance(turn, memory, flow)
    if step is not None:
        if step in understanding.out_of_range:
            attempt = memory.tries.get(step, 0) + 1
            return ask_again(turn, memory, step, attempt, understanding.out_of_range[step])
        if understanding.skip and step not in changed:
            memory.skipped.append(step)
        elif not changed:
            return ask_again(turn, memory, step, memory.tries.get(step, 0) + 1, None)
    return advance(turn, memory, flow)


def has_facts(turn: Turn) -> bool:
    """True when the message states profile facts (not just yes/no or "skip")."""
    u = turn.understanding
    return any(name in PROFILE_FIELDS or name == "rejected_days_ago" for name in u.slots)


def has_answer(turn: Turn) -> bool:
    """True when the message carries profile facts, a yes/no, a skip or a bad number."""
    u = turn.understanding
    facts = any(name in PROFILE_FIELDS or name == "rejected_days_ago" for name in u.slots)
    return bool(facts or u.negated or u.skip or u.out_of_range or u.yes_no is not None)


def in_question_flow(turn: Turn) -> bool:
    """True while one of the three questionnaires is waiting for an answer."""
    return turn.state.flow in _QUESTION_FLOWS
