"""Scam warnings: checked before every other handler, whatever the state."""

from __future__ import annotations

from wxloan.bot.context import Outcome, Say, Turn
from wxloan.bot.inbound import Kind
from wxloan.bot.routing import Router

from .flows import resume_says
from .services import understanding_of

__all__ = ["router"]

router = Router("fraud")


def _scam(turn: Turn) -> bool:
    understanding = understanding_of(turn)
    return bool(understanding.scam_patterns) or understanding.intent == "scam"


@router.on(Kind.TEXT, when=_scam)
async def scam_warning(turn: Turn) -> Outcome:
    """Name the scam pattern firmly (or warn in general), then continue where the user was."""
    patterns = understanding_of(turn).scam_patterns
    return turn.stay(Say("scam_warning", {"patterns": patterns}), *resume_says(turn))
