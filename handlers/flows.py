"""The three guided flows, answer first: eligibility, rejection diagnosis, limit plan.

The policy (issue 12): every reply first gives the verdict the known facts allow, per
product, then asks at most one question, the one the core ranks most informative.
After :data:`QUICK_QUESTIONS` questions the flow concludes with its card, even if some
fields are still open; the card says what is still unknown, and "详细评估" keeps asking
only what the core says can still change the answer. Facts are taken whenever they
come and acknowledged in a few words. Handlers decide nothing about credit themselves:
the verdicts, causes and plans are the core's (``assess``, ``diagnose_rejection``,
``limit_plan``, ``next_question``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from wxloan.knowledge import (
    ApplicantProfile,
    Evidence,
    KnowledgeBase,
    Lean,
    assess,
    diagnose_rejection,
    limit_plan,
    open_materials,
)

from .contract import Outcome, Say, Turn
from .memory import PROFILE_FIELDS, Memory
from .states import Flow

__all__ = [
    "DETAILED_BUDGET",
    "MAX_TRIES",
    "QUICK_QUESTIONS",
    "VERIFICATION",
    "VERIFICATION_FIELDS",
    "acknowledge",
    "advance",
    "ask_again",
    "card_for",
    "conclude",
    "has_answer",
    "has_facts",
    "in_question_flow",
    "last_flow",
    "resume_says",
    "start_flow",
    "verdict_about",
]

#: Unusable answers to one question before it is skipped.
MAX_TRIES = 3
#: Questions asked before the verdict card: a WeChat user answers two at most.
QUICK_QUESTIONS = 2
#: A ceiling for "详细评估" (the core stops earlier when nothing else can matter).
DETAILED_BUDGET = {Flow.ELIGIBILITY: 10, Flow.REJECTION: 8, Flow.LIMITS: 5}
_QUESTION_FLOWS = frozenset(DETAILED_BUDGET)
#: The three identity checks are asked as one question ("verification") while all are
#: unknown: nearly everyone answers "yes" to all three, and three questions would tire.
VERIFICATION_FIELDS = ("real_name_verified", "face_verified", "account_normal")
VERIFICATION = "verification"


def _ask(turn: Turn, field: str, attempt: int = 0, invalid_value: int | None = None,
         understood: bool = False, profile: ApplicantProfile | None = None) -> Say:
    """The question for ``field``; the materials question names only the open materials."""
    kb = turn.services.kb
    known = profile if profile is not None else turn.memory().profile
    return Say(
        "ask",
        {
            "field": field,
            "attempt": attempt,
            "invalid_value": invalid_value,
            "understood": understood,
            "materials": open_materials(known, kb) if field == "materials" else (),
            "flow": turn.state.flow.value if turn.state.flow else None,
            "kb": kb,
        },
    )


def _pending(turn: Turn, memory: Memory, flow: Flow) -> str | None:
    """The next field worth asking (the core decides), skipped ones excluded."""
    services = turn.services
    return services.next_question(memory.profile, flow.value, frozenset(memory.skipped))


def _may_ask(memory: Memory, flow: Flow, field: str) -> bool:
    if field in memory.asked:
        return True  # asking again what is pending is not a new question
    if field in VERIFICATION_FIELDS and VERIFICATION in memory.skipped:
        return True  # "不是" to the grouped check: which one fails decides every product
    budget = DETAILED_BUDGET[flow] if memory.detailed else QUICK_QUESTIONS
    return len(memory.asked) < budget


def acknowledge(turn: Turn, memory: Memory, changed: Iterable[str],
                corrected: bool = False) -> tuple[Say, ...]:
    """"记下了：支付分590" for the facts a message set (nothing when it set none)."""
    kb = turn.services.kb
    fields = [f for f in sorted(changed) if f in PROFILE_FIELDS]
    if not fields:
        return ()
    return (Say("ack", {"fields": fields, "profile": memory.profile, "corrected": corrected,
                        "kb": kb}),)


@dataclass(frozen=True, slots=True)
class _Result:
    """A flow's answer on the known facts: the template, its context and what to record."""

    template: str
    context: dict[str, Any]
    summary: dict[str, Any]
    sources: tuple[str, ...]
    useful: bool
    #: what the short verdict shows: when it is unchanged, it is not shown again
    shown: str


def _eligibility(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date,
                 products: list[str]) -> _Result:
    result = assess(profile, kb, today)
    summary = {
        "verdicts": {v.product: v.status.value for v in result.verdicts},
        "leans": {v.product: v.lean.value for v in result.verdicts},
        "risk_grade": result.risk.grade.value if result.risk.grade else None,
        "channel": result.channel.channel,
        "decided": result.decided,
    }
    order = {key: i for i, key in enumerate(products)}
    verdicts = sorted(result.verdicts, key=lambda v: order.get(v.product, len(order)))
    context = {"a": result, "verdicts": verdicts, "focus": products}
    shown = repr([(v.product, v.lean.value, v.limit, v.reasons[:1] if v.lean is Lean.NO else ())
                  for v in result.verdicts] + [result.banned_purpose])
    return _Result("assessment", context, summary, result.sources, result.useful, shown)


def _rejection(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date,
               products: list[str]) -> _Result:
    result = diagnose_rejection(profile, kb, today)
    summary = {
        "causes": [c.code for c in result.causes],
        "reapply_on": result.reapply_on.isoformat() if result.reapply_on else None,
    }
    useful = any(c.evidence is not Evidence.ASSUMED for c in result.causes)
    top = next((c for c in result.causes if c.evidence is not Evidence.ASSUMED), None)
    shown = repr((top, result.reapply_on))  # what verdict_rejection shows
    return _Result("diagnosis", {"d": result}, summary, result.sources, useful, shown)


def _limits(profile: ApplicantProfile, kb: KnowledgeBase, today: dt.date,
            products: list[str]) -> _Result:
    result = limit_plan(profile, kb)
    summary = {"actions": [a.code for a in result.actions]}
    return _Result("limits", {"plan": result}, summary, result.sources, True, repr(result))


_RESULTS: dict[Flow, Callable[[ApplicantProfile, KnowledgeBase, dt.date, list[str]], _Result]] = {
    Flow.ELIGIBILITY: _eligibility,
    Flow.REJECTION: _rejection,
    Flow.LIMITS: _limits,
}
#: The short verdict shown while a question is still coming (the card concludes).
_VERDICTS = {Flow.ELIGIBILITY: "verdict_eligibility", Flow.REJECTION: "verdict_rejection",
             Flow.LIMITS: "card_limits"}
#: Shown instead when nothing the user said decides anything yet ("depends on X").
_BRIEFS = {Flow.ELIGIBILITY: "brief_eligibility", Flow.REJECTION: "brief_rejection",
           Flow.LIMITS: "card_limits"}


def _result(turn: Turn, memory: Memory, flow: Flow) -> _Result:
    return _RESULTS[flow](memory.profile, turn.services.kb, turn.today, memory.products)


def _record(memory: Memory, flow: Flow, result: _Result, final: bool) -> tuple[Any, Any]:
    return (dict(memory.profile.to_mapping()),
            {"flow": flow.value, "final": final, **result.summary})


def _remember(memory: Memory, flow: Flow, result: _Result) -> None:
    """What "为什么", "详细评估" and "上次的结果" continue from."""
    memory.last = {"topic": result.template, "flow": flow.value, "sources": list(result.sources)}


def advance(turn: Turn, memory: Memory, flow: Flow, lead: tuple[Say, ...] = (),
            *, verdict: bool | None = None) -> Outcome:
    """The verdict so far and the one question that matters most, or the concluding card.

    :param verdict: None shows the verdict when it changed; False never (right after a
        card that showed it: "详细评估" goes straight to the question); True always (the
        user asked for it again: "能贷多少" mid-questionnaire).
    """
    field = _pending(turn, memory, flow)
    if field is None or not _may_ask(memory, flow, field):
        return conclude(turn, memory, flow, lead, still_open=field is not None)
    if field in VERIFICATION_FIELDS and VERIFICATION not in memory.skipped and all(
        getattr(memory.profile, name) is None for name in VERIFICATION_FIELDS
    ):
        field = VERIFICATION
    result = _result(turn, memory, flow)
    digest = f"{flow.value}:{result.shown}"
    says = list(lead)
    assessment = None
    if verdict is False:
        memory.shown = digest
    if verdict is True or digest != memory.shown:  # an unchanged verdict is not repeated after every answer
        template = _VERDICTS[flow] if result.useful else _BRIEFS[flow]
        context = {"kb": turn.services.kb, "profile": memory.profile, **result.context}
        says.append(Say(template, context))
        memory.shown = digest
        _remember(memory, flow, result)
        assessment = _record(memory, flow, result, final=False) if result.useful else None
    says.append(_ask(turn, field, profile=memory.profile))
    if field not in memory.asked:
        memory.asked.append(field)
    return Outcome(says=tuple(says), flow=flow, step=field, slots=memory.to_slots(),
                   assessment=assessment)


def conclude(turn: Turn, memory: Memory, flow: Flow, lead: tuple[Say, ...] = (),
             still_open: bool | None = None) -> Outcome:
    """The flow's card from the core, now; recorded in ``assessments``.

    :param still_open: whether the core still has a question that could change the
        answer (asked when None); the card then offers "详细评估".
    """
    kb = turn.services.kb
    if still_open is None:
        still_open = _pending(turn, memory, flow) is not None
    result = _result(turn, memory, flow)
    _remember(memory, flow, result)
    assessment = _record(memory, flow, result, final=True)
    memory.start_flow()
    context = {"kb": kb, "profile": memory.profile, **result.context}
    says = [*lead, Say(f"card_{result.template}", context)]
    if still_open:
        says.append(Say("refine_hint", {"flow": flow.value}))
    return Outcome(says=tuple(says), flow=None, step=None, slots=memory.to_slots(),
                   assessment=assessment)


def card_for(turn: Turn, flow: Flow, profile: ApplicantProfile, today: dt.date) -> Say:
    """The card of ``flow`` for ``profile`` as of ``today`` (a stored verdict, re-shown)."""
    kb = turn.services.kb
    result = _RESULTS[flow](profile, kb, today, [])
    return Say(f"card_{result.template}", {"kb": kb, "profile": profile, **result.context})


def verdict_about(turn: Turn, profile: ApplicantProfile) -> tuple[Say, ...]:
    """The eligibility verdict for someone else's facts (stored nowhere)."""
    kb = turn.services.kb
    result = _eligibility(profile, kb, turn.today, list(turn.understanding.products))
    template = "verdict_eligibility" if result.useful else "brief_eligibility"
    context = {"kb": kb, "profile": profile, "about_other": True, **result.context}
    return (Say(template, context),)


def start_flow(turn: Turn, flow: Flow, memory: Memory | None = None,
               lead: tuple[Say, ...] = ()) -> Outcome:
    """Begin ``flow`` (menu click, 1/2/3, an intent or volunteered facts), keeping facts."""
    memory = memory or turn.memory()
    memory.start_flow()
    if turn.understanding.products:
        memory.products = list(turn.understanding.products)
    return advance(turn, memory, flow, lead)


def ask_again(turn: Turn, memory: Memory, field: str, attempt: int,
              invalid_value: int | None, lead: tuple[Say, ...] = (),
              understood: bool = False) -> Outcome:
    """Re-ask ``field`` after an unusable answer (with a hint), or skip it after three."""
    flow = turn.state.flow or Flow.ELIGIBILITY
    memory.tries[field] = attempt
    if attempt >= MAX_TRIES:
        memory.skipped.append(field)
        return advance(turn, memory, flow, (*lead, Say("ask_skipped", {"field": field})))
    say = _ask(turn, field, attempt=attempt, invalid_value=invalid_value, understood=understood,
               profile=memory.profile)
    return Outcome(says=(*lead, say), flow=flow, step=field, slots=memory.to_slots())


def resume_says(turn: Turn) -> tuple[Say, ...]:
    """After answering a side question mid-flow: lead back to the pending question."""
    step = turn.state.step
    if turn.state.flow not in _QUESTION_FLOWS or not step:
        return ()
    return (Say("back_to_question"), _ask(turn, step))


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
            changed |= memory.confirm(VERIFICATION_FIELDS)  # "是的，用来装修": both facts
        else:
            memory.skipped.append(VERIFICATION)  # ask the three one by one instead
            return advance(turn, memory, flow)
    lead = acknowledge(turn, memory, changed)
    if step is not None and step not in changed:
        if step in understanding.out_of_range:
            attempt = memory.tries.get(step, 0) + 1
            return ask_again(turn, memory, step, attempt, understanding.out_of_range[step], lead)
        if understanding.skip:
            memory.skipped.append(step)
        elif step == VERIFICATION and changed & set(VERIFICATION_FIELDS):
            pass  # one of the three answered: the others are asked one by one
        elif not changed:
            attempt = memory.tries.get(step, 0) + 1
            understood = has_facts(turn) or bool(understanding.negated)  # "不是学生"
            return ask_again(turn, memory, step, attempt, None, lead, understood=understood)
    return advance(turn, memory, flow, lead)


def has_facts(turn: Turn) -> bool:
    """True when the message states profile facts (not just yes/no or "skip")."""
    u = turn.understanding
    return any(name in PROFILE_FIELDS or name == "rejected_days_ago" for name in u.slots)


def has_answer(turn: Turn) -> bool:
    """True when the message carries profile facts, a yes/no, a skip or a bad number."""
    u = turn.understanding
    return bool(has_facts(turn) or u.negated or u.skip or u.out_of_range or u.yes_no is not None)


def last_flow(memory: Memory) -> Flow | None:
    """The flow of the last verdict shown (what "详细评估" and a correction continue)."""
    stored = (memory.last or {}).get("flow")
    return Flow.decode(stored) if isinstance(stored, str) else None


def in_question_flow(turn: Turn) -> bool:
    """True while one of the three questionnaires is waiting for an answer."""
    return turn.state.flow in _QUESTION_FLOWS
