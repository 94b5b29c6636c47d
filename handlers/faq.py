"""Answers about the article's topics, and small talk; mid-flow they lead back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import resume_says

__all__ = ["FAQ_TOPICS", "router"]

router = Router("faq")

#: intent → (template topic, article sections the answer rests on, for "为什么")
FAQ_TOPICS: Mapping[str, tuple[str, tuple[int, ...]]] = {
    "requirements": ("eligibility", (1, 2)),
    "limit_factors": ("limit_factors", (4,)),
    "rejection_reasons": ("rejection_reasons", (8,)),
    "rates": ("rates", (6, 2)),
    "channels": ("channels", (3,)),
    "special_groups": ("special_groups", (7,)),
    "risk_control": ("risk_control", (5,)),
    "after_opening": ("after_opening", (9,)),
    "banned_purpose": ("banned_purpose", (5,)),
}
_SMALL_TALK = {"greeting": "greeting", "help": "menu", "thanks": "thanks", "goodbye": "goodbye"}


def _topic_intent(turn: Turn) -> str | None:
    return next((i for i in turn.understanding.intents if i in FAQ_TOPICS), None)


@router.on(Kind.TEXT)
async def faq(turn: Turn) -> Outcome | None:
    """One article topic, from the knowledge base; remember its sources for "为什么"."""
    intent = _topic_intent(turn)
    if intent is None:
        return None  # no article topic asked: the next route's
    topic, sections = FAQ_TOPICS[intent]
    kb = turn.services.kb
    understanding = turn.understanding
    context: dict[str, Any] = {"kb": kb}
    if topic == "special_groups":
        context["identity"] = understanding.slots.get("identity")
    if topic == "banned_purpose":
        purpose = understanding.slots.get("purpose")
        context["purpose"] = purpose if purpose in ("house", "investment") else None
    memory = turn.memory()
    memory.absorb(understanding, turn.today, None)
    memory.last = {
        "topic": "faq",
        "sources": [entry.id for n in sections for entry in kb.section_entries(n)],
    }
    return turn.stay(Say(f"faq_{topic}", context), *resume_says(turn), slots=memory.to_slots())


@router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent in _SMALL_TALK)
async def small_talk(turn: Turn) -> Outcome:
    """Greeting, help, thanks, goodbye: short answer; menu when idle, the question mid-flow."""
    intent = turn.understanding.intent
    assert intent is not None
    says = [Say(_SMALL_TALK[intent])]
    resume = resume_says(turn)
    if intent == "goodbye":
        memory = turn.memory()
        memory.start_flow()
        memory.calc = {}
        return Outcome(says=tuple(says), flow=None, step=None, slots=memory.to_slots())
    if not resume and intent == "greeting":
        says.append(Say("menu"))
    return turn.stay(*says, *resume)
