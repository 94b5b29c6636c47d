"""Commands that work in every state: "更多" (next page), restart and cancel."""

from __future__ import annotations

from bot.context import Outcome, Say, Turn
from bot.inbound import Kind
from bot.routing import Router

__all__ = ["router"]

router = Router("commands")

_MORE = frozenset({"更多", "下一页", "more", "继续看"})


def _is_more(turn: Turn) -> bool:
    return turn.text.lower() in _MORE


@router.on(Kind.TEXT, when=_is_more)
async def next_page(turn: Turn) -> Outcome:
    """Hand over the next waiting page of a long answer."""
    pages = list(turn.session.pending_pages)
    if not pages:
        return turn.stay(Say("no_more"), pending_pages=())
    return turn.stay(Say("more_page", {"text": pages[0]}), pending_pages=tuple(pages[1:]))
