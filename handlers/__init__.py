"""The dialogue: feature routers, joined in priority order by :func:`build_router`."""

from __future__ import annotations

from bot.routing import Router

from . import calculator, commands, dialogue, events, fallback, faq, fraud
from .services import DialogueServices, load_services

__all__ = ["DialogueServices", "build_router", "load_services"]


def build_router() -> Router:
    """All feature routers; earlier ones win.

    Scam warnings come first, whatever the state; then commands that work anywhere;
    events; answers to a pending question; the calculator; starting a flow; topic
    answers and small talk; and finally the fallback.
    """
    return Router("root").include(
        fraud.router,
        commands.router,
        events.router,
        dialogue.router,
        calculator.router,
        faq.router,
        fallback.router,
    )
