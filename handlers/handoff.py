"""Hand-off to a human agent, and the quiet time while a person is talking to the user.

"人工"/"转人工" answers WeChat's ``transfer_customer_service`` and marks the session as
handed off. Until the human session ends (``kf_close_session``) or 30 minutes pass, the
bot keeps transferring the user's messages instead of answering them itself.
"""

from __future__ import annotations

import dataclasses

from .contract import Outcome, Say, Turn
from .contract import Kind
from .states import Flow
from .routing import ANY_FLOW, Router


__all__ = ["HANDOFF_SECONDS", "router_for", "start_handoff"]

HANDOFF_SECONDS = 30 * 60
_UNTIL = "_handoff_until"


def start_handoff(turn: Turn) -> Outcome:
    """Transfer to a human agent and stay quiet for the hand-off period."""
    slots = dict(turn.state.slots)
    slots[_UNTIL] = turn.now + HANDOFF_SECONDS
    handoff_says = (Say("human_handoff", {"minutes": HANDOFF_SECONDS // 60}),)
    return Outcome(says=handoff_says, flow=Flow.HANDOFF, step=None, slots=slots,
                   transfer=True)


def _in_handoff(turn: Turn) -> bool:
    return turn.state.flow == Flow.HANDOFF


def router_for(rest: Router) -> Router:
    """The hand-off router; once the hand-off is over it passes the turn to ``rest``."""
    router = Router("handoff")

    @router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent == "human")
    async def human(turn: Turn) -> Outcome:
        """人工 / 转人工."""
        return start_handoff(turn)

    @router.on(Kind.EVENT, flows=ANY_FLOW,
               when=lambda turn: turn.message.event in {"kf_close_session"})
    async def human_session_closed(turn: Turn) -> Outcome:
        """The agent closed the session: the bot answers again from the next message."""
        slots = {k: v for k, v in turn.state.slots.items() if k != _UNTIL}
        return Outcome(flow=None, step=None, slots=slots, silent=True)

    @router.on(list(Kind), when=_in_handoff)
    async def during_handoff(turn: Turn) -> Outcome:
        """Quiet while a person handles the user; afterwards, back to the bot."""
        until = float(turn.state.slots.get(_UNTIL, 0))
        if turn.now < until and turn.message.kind is not Kind.EVENT:
            return turn.stay(transfer=True)
        if turn.now < until:
            return turn.stay(silent=True)
        slots = {k: v for k, v in turn.state.slots.items() if k != _UNTIL}
        state = dataclasses.replace(turn.state, flow=None, step=None, slots=slots)
        outcome = await rest.dispatch(dataclasses.replace(turn, state=state))
        return Outcome(silent=True, slots=slots) if outcome is None else outcome

    return router
