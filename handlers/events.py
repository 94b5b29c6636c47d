"""Subscribe, scan, unsubscribe and menu clicks."""

from __future__ import annotations

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import start_flow
from .states import Flow

__all__ = ["router"]

router = Router("events")


_WELCOME_EVENTS = frozenset({"subscribe", "scan", "user_enter_tempsession"})


@router.on(Kind.EVENT, when=lambda turn: turn.message.event in _WELCOME_EVENTS)
async def welcome(turn: Turn) -> Outcome:
    """New or returning follower, a QR scan, or entering the mini-program's chat."""
    return turn.goto(None, None, Say("welcome"))


@router.on(Kind.EVENT, when=lambda turn: turn.message.event == "unsubscribe")
async def unsubscribe(turn: Turn) -> Outcome:
    """The user left: forget the dialogue, answer nothing."""
    return Outcome(clear_session=True, silent=True)


@router.on(Kind.EVENT, when=lambda turn: turn.message.event == "click")
async def menu_click(turn: Turn) -> Outcome:
    """A menu button: start its flow; an unknown key shows the menu again."""
    button = turn.services.menu.by_key(turn.message.event_key)
    if button is None:
        return turn.stay(Say("menu"))
    return start_flow(turn, Flow(button.flow))


@router.on(Kind.EVENT)
async def other_event(turn: Turn) -> Outcome:
    """Every other event (location report, view, template-send results…): ``success``."""
    return turn.stay(silent=True)
