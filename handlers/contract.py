"""The dialogue's own vocabulary: the message it is given, the state it reads and returns.

Why the contract lives here and not in ``bot/``: the dialogue is the application's core
and the WeChat transport is one adapter of it (ports and adapters). ``bot/`` imports these
types; ``handlers/`` imports neither ``bot/`` nor ``storage/``, so a handler can be tested
with a hand-built :class:`Turn`, with no aiohttp, no wechatpy and no database.

Why one typed object instead of aiogram-style injection by parameter name: mypy can see
every field. Handlers never send, store or render; they describe the answer and the next
state, and the pipeline does the rest.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .states import Flow

if TYPE_CHECKING:  # the services are built from the contract's types, not the reverse
    from .memory import Memory
    from .nlu import Understanding
    from .services import DialogueServices

__all__ = ["Flow", "Kind", "Message", "Outcome", "Say", "State", "Turn"]


class Kind(enum.StrEnum):
    """What the dialogue does with a message, whatever its wire type."""

    TEXT = "text"  #: typed text, or voice with a recognition result
    EMPTY_VOICE = "empty_voice"  #: voice WeChat could not transcribe
    MEDIA = "media"  #: image, video, location, link, file, mini-program card
    EVENT = "event"  #: subscribe, SCAN, CLICK, unsubscribe, ...
    UNKNOWN = "unknown"  #: a type the transport does not know


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One message from a user, as the dialogue sees it.

    :param text: the user's text (voice recognition included); ``""`` otherwise.
    :param event: lower-case event name (``subscribe``, ``scan``, ``click``...).
    :param msg_type: the wire type (``image``, ``location``...), for wording only.
    """

    openid: str
    kind: Kind
    msg_type: str
    text: str = ""
    event: str = ""
    event_key: str = ""
    channel: str = "official_account"


@dataclass(frozen=True, slots=True)
class State:
    """One user's dialogue state: which flow, which step, what is known so far.

    :param pending_pages: later pages of a long answer, handed out on "更多".
    """

    flow: Flow | None = None
    step: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    pending_pages: tuple[str, ...] = ()

@dataclass(frozen=True, slots=True)
class Say:
    """One piece of the reply: a template name (without ``.txt.j2``) and its variables."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A handler's answer.

    :param says: rendered in order and joined into one chat bubble (paged if too long).
    :param flow: the dialogue flow after this turn (``None`` = idle).
    :param step: the pending question inside the flow, if any.
    :param slots: everything known about the user after this turn.
    :param clear_session: delete the session (unsubscribe); ``flow``/``slots`` are ignored.
    :param silent: answer WeChat with ``success`` and send nothing.
    :param assessment: ``(inputs, result)`` to record in the ``assessments`` table.
    :param transfer: hand the user to a human agent (``transfer_customer_service``);
        ``says`` then go out through the customer-service API where it is configured.
    :param scam: this turn gave a scam answer: the pattern ids it named, ``("general",)``
        for a warning naming none, ``("aftermath",)`` for what to do after a loss
        (the operator's metrics count these; empty for every other answer).
    :param handoff: this turn started a hand-off to a person (for the metrics).
    :param fallback: no feature understood this text (``not_understood``, for the metrics).
    :param concluded: the flow this turn brought to its conclusion without an ``assessment``
        to record (the calculator's repayment plan), for the operator's funnel; a turn with
        an ``assessment`` concludes the flow its result names.
    """

    says: tuple[Say, ...] = ()
    flow: Flow | None = None
    step: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    pending_pages: tuple[str, ...] | None = None
    clear_session: bool = False
    silent: bool = False
    assessment: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
    transfer: bool = False
    scam: tuple[str, ...] = ()
    handoff: bool = False
    fallback: bool = False
    concluded: Flow | None = None

    @property
    def verdict_flow(self) -> str | None:
        """The flow this turn gave its verdict in (``None``: no verdict this turn)."""
        if self.concluded is not None:
            return str(self.concluded)
        if self.assessment is not None:
            flow = self.assessment[1].get("flow")
            return str(flow) if flow else None
        return None


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything a handler may look at for one inbound message.

    :param state: the user's state before this message (a fresh one if none/expired).
    :param expired: the previous session timed out just now (say so briefly).
    :param pii_kinds: kinds of personal numbers masked out of ``message.text``.
    :param services: read-only shared services (knowledge base, understanding...).
    :param understanding: what ``services.interpret`` made of the text (empty otherwise).
    """

    message: Message
    state: State
    now: float
    today: dt.date
    services: DialogueServices
    understanding: Understanding
    expired: bool = False
    pii_kinds: frozenset[str] = frozenset()
    #: the state's slots decoded once per turn (by the facade); see :meth:`memory`
    known: Memory | None = None

    def memory(self) -> Memory:
        """A private, mutable copy of what is known about the user (decoded once a turn)."""
        from .memory import Memory

        if self.known is None:
            return Memory.from_slots(dict(self.state.slots))
        return self.known.copy()

    @property
    def text(self) -> str:
        """The user's (masked) text, stripped."""
        return self.message.text.strip()

    def stay(self, *says: Say, **changes: Any) -> Outcome:
        """Answer without leaving the current flow/step (``changes`` override fields)."""
        base: dict[str, Any] = {
            "says": says,
            "flow": self.state.flow,
            "step": self.state.step,
            "slots": dict(self.state.slots),
        }
        base.update(changes)
        return Outcome(**base)

    def goto(self, flow: Flow | None, step: str | None, *says: Say, **changes: Any) -> Outcome:
        """Answer and move to ``flow``/``step``, keeping the known slots by default."""
        base: dict[str, Any] = {
            "says": says,
            "flow": flow,
            "step": step,
            "slots": dict(self.state.slots),
        }
        base.update(changes)
        return Outcome(**base)
