"""Scam warnings: checked before every other handler, whatever the state.

Two answers, both followed by the pending question (``resume_says``) so a
questionnaire is never lost:

* ``scam_aftermath`` — the user already paid, transferred or shared a code or
  the screen.  What to do *now* matters more than naming the trick, so it wins
  over the plain warning whenever both match, and over every other intent.
* ``scam_warning`` — a scam pattern (or a "is this a scam?" question): name it
  firmly and say what to do.
"""

from __future__ import annotations

from .contract import Kind, Outcome, Say, Turn
from .flows import resume_says
from .routing import Router

__all__ = ["router"]

router = Router("fraud")


def _aftermath(turn: Turn) -> bool:
    """The user says the money or the code is already gone.

    A transfer into the user's own 零钱通 (a ``lingqiantong_balance`` was read) is a
    deposit the limit rules reward, not a loss: 已经转了两万到零钱通 goes on to the
    other handlers (and to the plain warning if a scam pattern came with it).
    """
    u = turn.understanding
    return "scam_aftermath" in u.intents and "lingqiantong_balance" not in u.slots


def _scam(turn: Turn) -> bool:
    understanding = turn.understanding
    return bool(understanding.scam_patterns) or understanding.intent == "scam"


@router.on(Kind.TEXT, when=_aftermath)
async def scam_aftermath(turn: Turn) -> Outcome:
    """Act at once (police or the anti-fraud line, the bank, the records), then continue."""
    return turn.stay(Say("scam_aftermath", {"kb": turn.services.kb}), *resume_says(turn),
                     scam=("aftermath",))


@router.on(Kind.TEXT, when=_scam)
async def scam_warning(turn: Turn) -> Outcome:
    """Name the scam pattern firmly (or warn in general), then continue where the user was."""
    context = {"kb": turn.services.kb, "patterns": turn.understanding.scam_patterns}
    return turn.stay(Say("scam_warning", context), *resume_says(turn),
                     scam=turn.understanding.scam_patterns or ("general",))
