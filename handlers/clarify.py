"""Confidence, not guessing: an unsure reading gets a short question, not "没看懂".

When the intent model chose the reading (``Understanding.source == "model"``) with less
confidence than the model's threshold (``Understander.threshold``: chosen by
cross-validation on the training split and stored in the model artifact, the one number
``wxloan nlu test`` uses too) and the message states no fact, the bot asks
which of the two likeliest readings was meant ("你是想问：1 怎么提额 2 利率是多少？").
The options and the message are kept in the session (``_clarify``); the next message
"1"/"2" is then read as that message with that intent (:func:`resolve`, called by the
facade before routing). Anything else simply goes on: the question never traps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .contract import Kind, Message, Outcome, Say, State, Turn
from .flows import has_answer, resume_says
from .nlu import Understanding
from .routing import Router

__all__ = ["PENDING", "resolve", "router"]

#: The session key holding ``{"text": …, "options": [intent, intent]}``.
PENDING = "_clarify"
#: Readings never offered as an option: they are no topic a user could pick.
_NOT_OFFERED = frozenset({"none", "menu_choice", "out_of_scope"})

router = Router("clarify")


def _options(understanding: Understanding) -> list[str]:
    return [intent for intent, _ in understanding.alternatives if intent not in _NOT_OFFERED][:2]


def _unsure(turn: Turn) -> bool:
    """The model read no intent it is sure of: ask which of its two best topics was meant.

    Unsure: the model decided, below its cross-validated threshold, and its best reading
    is a topic (not "only facts" or off-topic: gibberish and chit-chat have their own
    class, ``out_of_scope``, and get the plain not-understood answer).
    """
    u = turn.understanding
    return (
        u.source == "model"
        and not u.intents
        and u.confidence < turn.services.understander.threshold
        and bool(u.alternatives) and u.alternatives[0][0] not in _NOT_OFFERED
        and not u.scam_patterns
        and not has_answer(turn)
        and len(_options(u)) == 2
    )


@router.on(Kind.TEXT, when=_unsure)
async def clarify(turn: Turn) -> Outcome:
    """Offer the two likeliest readings as numbered options; remember the message."""
    options = _options(turn.understanding)
    slots: dict[str, Any] = dict(turn.state.slots)
    slots[PENDING] = {"text": turn.message.text, "options": options}
    return turn.stay(Say("clarify", {"options": options}), *resume_says(turn), slots=slots)


def resolve(message: Message, state: State, understanding: Understanding,
            interpret: Callable[[str, str | None], Understanding]
            ) -> tuple[Message, State, Understanding]:
    """After a clarifying question: "1"/"2" becomes the original message, read as that option.

    Any other message drops the pending question (it is asked once, never again).

    :param interpret: ``DialogueServices.interpret`` (the original text is read afresh).
    """
    pending = state.slots.get(PENDING)
    if not isinstance(pending, dict):
        return message, state, understanding
    slots = {k: v for k, v in state.slots.items() if k != PENDING}
    state = dataclasses.replace(state, slots=slots)
    options = [str(o) for o in pending.get("options", [])]
    choice = understanding.choice
    if message.kind is not Kind.TEXT or choice is None or not 1 <= choice <= len(options):
        return message, state, understanding
    chosen = options[choice - 1]
    original = dataclasses.replace(message, text=str(pending.get("text", "")))
    reread = interpret(original.text, state.step)
    intents = (chosen, *(i for i in reread.intents if i != chosen))
    picked = dataclasses.replace(reread, intents=intents, confidence=1.0, source="rules")
    return original, state, picked
