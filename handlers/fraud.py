"""Scam warnings: checked before every other handler, whatever the state."""

from __future__ import annotations

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import resume_says

__all__ = ["router"]

router = Router("fraud")


def _scam(turn: Turn) -> bool:
    understanding = turn.understanding
    return bool(understanding.scam_patterns) or understanding.intent == "scam"


@router.on(Kind.TEXT, when=_scam)
async def scam_warning(turn: Turn) -> Outcome:
    """Name the scam pattern firmly (or warn in general), then continue where the user was."""
    patterns = turn.understanding.scam_patterns
    return turn.stay(Say("scam_warning", {"patterns": patterns}), *resume_says(turn))
