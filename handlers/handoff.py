"""Hand-off to a human agent that cannot trap the user.

Only an explicit request (转人工, 人工客服, 找真人, 投诉: intent ``human``) hands over, and
the user is always told what happens. First the dialogue asks its
:class:`~.services.AgentDirectory` whether an agent is online:

* some are: WeChat's ``transfer_customer_service`` at once, with a note (pushed through
  the customer-service API, which exists since the directory could ask WeChat);
* none: say so and stay with the bot (the pending question, or the menu, follows);
* it cannot tell (no AppSecret, API failure): say so in a plain reply and transfer from
  the user's next message. Why not transfer at once: a transfer reply carries no text,
  and without an AppSecret nothing else can reach the user, so the warning would be
  lost; and the next message is the user's question, what an agent needs to see.

While handed off (:attr:`Flow.HANDOFF`) the user's messages go to the person, except:

* 结束人工 / 回到机器人 (``end_handoff``), 重新开始, 退出 and menu clicks bring the bot
  back at once (they are never swallowed);
* if no agent picks up (no ``kf_create_session``) within :data:`PICKUP_SECONDS` of the
  first transfer, the next message gets a short note and the bot's normal answer;
* once an agent has the conversation, transfers go on until ``kf_close_session`` or
  :data:`HANDOFF_SECONDS` after the request.

Back without having talked to a person, the user resumes the flow and question they
left; after a conversation with an agent, the bot starts from idle. "Are you a robot?"
(``bot_identity``) is answered honestly and never transfers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .contract import Kind, Outcome, Say, State, Turn
from .flows import resume_says
from .routing import ANY_FLOW, Router
from .states import Flow

__all__ = ["HANDOFF_SECONDS", "PICKUP_SECONDS", "router_for", "start_handoff"]

#: The longest a hand-off lasts: after it the bot answers again, agent or not.
HANDOFF_SECONDS = 30 * 60
#: How long the bot waits for an agent to pick up (``kf_create_session``) before it
#: comes back: long enough for an agent on duty, short enough that nobody waits alone.
PICKUP_SECONDS = 5 * 60

_UNTIL = "_handoff_until"  #: end of the hand-off window
_WAIT = "_handoff_wait_until"  #: pick-up deadline; absent until a message is transferred
_AGENT = "_handoff_agent"  #: an agent picked up (kf_create_session)
_FROM = "_handoff_from"  #: [flow, step] the user left, resumed when no person talked
_KEYS = frozenset({_UNTIL, _WAIT, _AGENT, _FROM})

#: Events the user makes with the bot's own interface: the bot takes these back.
_BOT_EVENTS = frozenset({"click", "subscribe", "scan", "unsubscribe", "user_enter_tempsession"})
#: Commands that must reach the bot even during a hand-off.
_BOT_COMMANDS = frozenset({"restart", "cancel"})


def _minutes() -> dict[str, int]:
    return {"minutes": PICKUP_SECONDS // 60}


def _without_handoff(slots: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in slots.items() if k not in _KEYS}


def start_handoff(turn: Turn, online: int | None) -> Outcome:
    """The answer to an explicit request for a person, given how many agents are online.

    :param online: what the agent directory said (None: it cannot tell).
    """
    if online is not None and online <= 0:
        return turn.stay(Say("handoff_nobody"), *(resume_says(turn) or (Say("menu"),)))
    slots = dict(turn.state.slots)
    slots[_UNTIL] = turn.now + HANDOFF_SECONDS
    flow = turn.state.flow
    slots[_FROM] = [None if flow is None else flow.value, turn.state.step]
    if online is None:
        return Outcome(says=(Say("handoff_unsure", _minutes()),), flow=Flow.HANDOFF,
                       step=None, slots=slots, handoff=True)
    slots[_WAIT] = turn.now + PICKUP_SECONDS
    return Outcome(says=(Say("human_handoff", _minutes()),), flow=Flow.HANDOFF, step=None,
                   slots=slots, transfer=True, handoff=True)


def _resumed(turn: Turn) -> State:
    """The state the user left for the hand-off (no person talked to them)."""
    left = turn.state.slots.get(_FROM)
    flow, step = (left[0], left[1]) if isinstance(left, list) and len(left) == 2 else (None, None)
    resumed = Flow.decode(flow if isinstance(flow, str) else None)
    return State(
        flow=resumed,
        step=step if resumed is not None and isinstance(step, str) else None,
        slots=_without_handoff(turn.state.slots),
    )


def _idle(turn: Turn) -> State:
    """After a conversation with an agent: idle, the known facts kept."""
    return State(slots=_without_handoff(turn.state.slots))


def _in_handoff(turn: Turn) -> bool:
    return turn.state.flow == Flow.HANDOFF


def _intent(name: str) -> Callable[[Turn], bool]:
    def check(turn: Turn) -> bool:
        return turn.understanding.intent == name

    return check


def router_for(rest: Router) -> Router:
    """The hand-off router; whatever the bot answers instead goes to ``rest``."""
    router = Router("handoff")

    async def back_to_bot(turn: Turn, state: State, note: Say | None) -> Outcome:
        """``rest``'s answer to this very message in ``state``, ``note`` first."""
        understanding = turn.understanding
        if turn.message.kind is Kind.TEXT and state.step != turn.state.step:
            # the message was read with no pending question; read it as the answer it is
            understanding = turn.services.interpret(turn.message.text, state.step)
        back = dataclasses.replace(turn, state=state, understanding=understanding)
        outcome = await rest.dispatch(back)
        if outcome is None:
            return back.stay(note) if note else back.stay(silent=True)
        if note is None or outcome.silent:
            return outcome
        return dataclasses.replace(outcome, says=(note, *outcome.says))

    @router.on(Kind.EVENT, when=lambda turn: turn.message.event == "kf_create_session")
    async def agent_picked_up(turn: Turn) -> Outcome:
        """An agent took the conversation: it is theirs until they close it (or time runs out).

        Even after the bot came back (nobody picked up in time), a late agent has opened
        a conversation with the user, so their next messages go to that person.
        """
        slots = dict(turn.state.slots)
        if not _in_handoff(turn):
            slots = _without_handoff(slots)
            slots[_UNTIL] = turn.now + HANDOFF_SECONDS
        slots.pop(_WAIT, None)
        slots[_AGENT] = True
        return Outcome(flow=Flow.HANDOFF, step=None, slots=slots, silent=True)

    @router.on(Kind.EVENT, when=lambda turn: turn.message.event == "kf_close_session")
    async def agent_closed(turn: Turn) -> Outcome:
        """The agent closed the session: the bot answers again from the next message."""
        if not _in_handoff(turn):
            return turn.stay(silent=True)  # already back with the bot: nothing to undo
        state = _idle(turn) if turn.state.slots.get(_AGENT) else _resumed(turn)
        return Outcome(flow=state.flow, step=state.step, slots=dict(state.slots), silent=True)

    @router.on(list(Kind), flows=Flow.HANDOFF)
    async def during_handoff(turn: Turn) -> Outcome:
        """A person has (or is about to have) the user: transfer, unless the bot is wanted."""
        slots = turn.state.slots
        if turn.message.kind is Kind.EVENT:
            if turn.message.event in _BOT_EVENTS:
                return await back_to_bot(turn, _resumed(turn), Say("handoff_left"))
            return turn.stay(silent=True)  # location reports, kf_switch_session...
        intent = turn.understanding.intent if turn.message.kind is Kind.TEXT else None
        if intent == "end_handoff":
            back = dataclasses.replace(turn, state=_resumed(turn))
            return back.stay(Say("handoff_ended"), *resume_says(back))
        if intent in _BOT_COMMANDS:
            return await back_to_bot(turn, _resumed(turn), Say("handoff_left"))
        agent = bool(slots.get(_AGENT))
        wait = slots.get(_WAIT)
        if not agent and wait is not None and turn.now >= float(wait):
            return await back_to_bot(turn, _resumed(turn), Say("handoff_timeout", _minutes()))
        if turn.now >= float(slots.get(_UNTIL, 0)):
            return await back_to_bot(turn, _idle(turn) if agent else _resumed(turn), None)
        if not agent and wait is None:
            # the first message after "cannot tell": the pick-up clock starts now
            return turn.stay(transfer=True, slots={**slots, _WAIT: turn.now + PICKUP_SECONDS})
        return turn.stay(transfer=True)

    @router.on(Kind.TEXT, when=_intent("human"))
    async def human(turn: Turn) -> Outcome:
        """转人工 / 人工客服 / 找真人: ask who is online, then tell the user what happens."""
        online = await turn.services.agents.online_count(turn.message.channel)
        return start_handoff(turn, online)

    @router.on(Kind.TEXT, when=_intent("bot_identity"))
    async def bot_identity(turn: Turn) -> Outcome:
        """"Are you a robot?": yes, an automatic assistant; a person is one request away."""
        return turn.stay(Say("bot_identity"), *resume_says(turn))

    @router.on(Kind.TEXT, when=_intent("end_handoff"))
    async def no_handoff_to_end(turn: Turn) -> Outcome:
        """不要人工了 with no hand-off on (e.g. after "nobody is online"): confirm, carry on."""
        return turn.stay(Say("handoff_ended"), *resume_says(turn))

    return router
