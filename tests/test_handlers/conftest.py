"""Handler unit tests: one dialogue per module, hand-built messages and states, no transport.

The tests here call :meth:`Dialogue.answer` (or a resolved handler with a hand-built
:class:`Turn`) and assert on the structured :class:`Outcome`: template names, context
values, the next state. Nothing here needs aiohttp, wechatpy or a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from wxloan.handlers import (
    CHINA_TZ,
    Answer,
    Dialogue,
    DialogueServices,
    Kind,
    Message,
    Outcome,
    Say,
    State,
    Turn,
    build_dialogue,
)
from wxloan.knowledge import KnowledgeBase

#: A fixed moment: 2025-03-01 10:00 China time (the dialogue's calendar).
NOW = dt.datetime(2025, 3, 1, 10, 0, tzinfo=CHINA_TZ).timestamp()
OPENID = "unit-test-user"


def state_after(outcome: Outcome) -> State:
    """The state the transport stores after ``outcome`` (as bot/pipeline does)."""
    if outcome.clear_session:
        return State()
    return State(
        flow=outcome.flow,
        step=outcome.step,
        slots=dict(outcome.slots),
        pending_pages=tuple(outcome.pending_pages or ()),
    )


@dataclass(frozen=True)
class Reply:
    """One answer of the dialogue, with shortcuts for the assertions."""

    answer: Answer

    @property
    def outcome(self) -> Outcome:
        return self.answer.outcome

    @property
    def text(self) -> str:
        return self.answer.text

    @property
    def names(self) -> list[str]:
        """The template names of the outcome's says, in order."""
        return [say.template for say in self.outcome.says]

    @property
    def state(self) -> State:
        """The state the next message starts from."""
        return state_after(self.outcome)

    @property
    def slots(self) -> dict[str, Any]:
        return dict(self.outcome.slots)

    def say(self, name: str) -> Say:
        """The (first) say rendered with template ``name``."""
        for say in self.outcome.says:
            if say.template == name:
                return say
        raise AssertionError(f"no Say({name!r}) in {self.names}")


class Chat:
    """Sends hand-built messages to one dialogue and hands back :class:`Reply` objects."""

    now = NOW
    openid = OPENID

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue

    @staticmethod
    def text_message(text: str) -> Message:
        return Message(openid=OPENID, kind=Kind.TEXT, msg_type="text", text=text)

    @staticmethod
    def event_message(event: str, key: str = "") -> Message:
        return Message(
            openid=OPENID, kind=Kind.EVENT, msg_type="event", event=event, event_key=key
        )

    @staticmethod
    def message(kind: Kind, msg_type: str, text: str = "") -> Message:
        """Any other message (media, empty voice, an unknown type)."""
        return Message(openid=OPENID, kind=kind, msg_type=msg_type, text=text)

    @property
    def services(self) -> DialogueServices:
        return self.dialogue.services

    @property
    def kb(self) -> KnowledgeBase:
        return self.dialogue.services.kb

    @property
    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(NOW, CHINA_TZ).date()

    async def send(
        self, message: Message, state: State | None = None, *, now: float = NOW, **kw: Any
    ) -> Reply:
        answer = await self.dialogue.answer(message, state or State(), now, **kw)
        return Reply(answer)

    async def text(self, text: str, state: State | None = None, **kw: Any) -> Reply:
        return await self.send(self.text_message(text), state, **kw)

    async def event(
        self, event: str, key: str = "", state: State | None = None, **kw: Any
    ) -> Reply:
        return await self.send(self.event_message(event, key), state, **kw)

    async def talk(self, *texts: str, state: State | None = None, **kw: Any) -> list[Reply]:
        """Several texts in a row, each from the state the previous one left."""
        replies: list[Reply] = []
        current = state or State()
        for text in texts:
            reply = await self.text(text, current, **kw)
            replies.append(reply)
            current = reply.state
        return replies

    async def last(self, *texts: str, state: State | None = None, **kw: Any) -> Reply:
        """The reply to the last of ``texts``."""
        return (await self.talk(*texts, state=state, **kw))[-1]

    def turn(self, message: Message | str, state: State | None = None, **kw: Any) -> Turn:
        """A hand-built turn, understood as the facade would understand it."""
        if isinstance(message, str):
            message = self.text_message(message)
        state = state or State()
        understanding = self.services.interpret(
            message.text if message.kind is Kind.TEXT else "", state.step
        )
        return Turn(
            message=message,
            state=state,
            now=kw.pop("now", NOW),
            today=self.today,
            services=self.services,
            understanding=understanding,
            **kw,
        )


@pytest.fixture(scope="module")
def dialogue() -> Dialogue:
    """The production dialogue, built once per module (about 0.1 s)."""
    return build_dialogue()


@pytest.fixture(scope="module")
def chat(dialogue: Dialogue) -> Chat:
    return Chat(dialogue)


@pytest.fixture(scope="module")
def kb(dialogue: Dialogue) -> KnowledgeBase:
    return dialogue.services.kb
