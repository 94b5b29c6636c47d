"""The dialogue: one facade (:class:`Dialogue`) over feature routers in priority order.

``bot/`` calls :func:`build_dialogue` once and then :meth:`Dialogue.answer` once per
message; the contract it speaks is in :mod:`.contract`.
"""

from __future__ import annotations

from . import (
    calculator,
    clarify,
    commands,
    dialogue,
    events,
    fallback,
    faq,
    fraud,
    handoff,
    steering,
)
from .contract import Flow, Kind, Message, Outcome, Say, State, Turn
from .facade import CHINA_TZ, Answer, Dialogue
from .routing import Router
from .services import DialogueServices, load_services

__all__ = [
    "CHINA_TZ",
    "Answer",
    "Dialogue",
    "DialogueServices",
    "Flow",
    "Kind",
    "Message",
    "Outcome",
    "Router",
    "Say",
    "State",
    "Turn",
    "build_dialogue",
    "build_router",
    "load_services",
]


def build_dialogue(
    router: Router | None = None, services: DialogueServices | None = None
) -> Dialogue:
    """The production dialogue (tests pass their own router or services)."""
    return Dialogue(router or build_router(), services or load_services())


def build_router() -> Router:
    """All feature routers; earlier ones win.

    A hand-off to a human comes first (while a person talks to the user the bot stays
    quiet); then scam warnings, whatever the state; commands that work anywhere; events;
    a clarifying question when the reading is unsure; steering (corrections, impatience,
    详细评估, the last result, someone else); answers to a pending question and starting a
    flow; the calculator; topic answers and small talk; and finally the fallback.
    """
    rest = Router("bot").include(
        fraud.router,
        commands.router,
        events.router,
        clarify.router,
        steering.router,
        dialogue.router,
        calculator.router,
        faq.router,
        fallback.router,
    )
    return Router("root").include(handoff.router_for(rest), rest)
