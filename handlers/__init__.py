"""The dialogue: feature routers, joined in priority order by :func:`build_router`."""

from __future__ import annotations

from wxloan.bot.routing import Router

from . import calculator, commands, dialogue, events, fallback, faq, fraud, handoff
from .services import DialogueServices, load_services

__all__ = ["DialogueServices", "build_router", "load_services"]


def build_router() -> Router:
    """All feature routers; earlier ones win.

    A hand-off to a human comes first (while a person talks to the user the bot stays
    quiet); then scam warnings, whatever the state; commands that work anywhere; events;
    answers to a pending question; the calculator; starting a flow; topic answers and
    small talk; and finally the fallback.
    """
    rest = Router("bot").include(
        fraud.router,
        commands.router,
        events.router,
        dialogue.router,
        calculator.router,
        faq.router,
        fallback.router,
    )
    return Router("root").include(handoff.router_for(rest), rest)
