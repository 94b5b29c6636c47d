"""The dialogue: feature routers, joined in priority order by :func:`build_router`."""

from __future__ import annotations

from bot.routing import Router

from . import commands, events, fallback

__all__ = ["build_router"]


def build_router() -> Router:
    """All feature routers; earlier ones win (commands before flows before fallback)."""
    return Router("root").include(commands.router, events.router, fallback.router)
