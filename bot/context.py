"""What a handler receives (:class:`Turn`) and what it returns (:class:`Outcome`).

Why one typed object instead of aiogram-style injection by parameter name: mypy can see
every field, and a handler is trivially testable with a hand-built ``Turn``. Handlers never
send, store or render; they describe the answer and the next state, and the pipeline does
the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from wxloan.storage import Session

from .inbound import Inbound

__all__ = ["Outcome", "Say", "Services", "Turn"]


class Services(Protocol):
    """What the dialogue shares across turns, built once at start-up.

    The pipeline only needs ``interpret``: it reads each text once, before routing, so
    route filters and handlers all see the same :attr:`Turn.understanding`.
    """

    def interpret(self, text: str, expecting: str | None) -> Any:
        """Understand ``text``; ``expecting`` is the question just asked (or None)."""
        ...


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
    """

    says: tuple[Say, ...] = ()
    flow: str | None = None
    step: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    pending_pages: tuple[str, ...] | None = None
    clear_session: bool = False
    silent: bool = False
    assessment: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None
    transfer: bool = False


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything a handler may look at for one inbound message.

    :param session: the user's state before this message (a fresh one if none/expired).
    :param expired: the previous session timed out just now (say so briefly).
    :param pii_kinds: kinds of personal numbers masked out of ``inbound.text``.
    :param services: read-only shared services (knowledge base, understanding...).
    :param understanding: what ``services.interpret`` made of the text (None otherwise).
    """

    inbound: Inbound
    session: Session
    now: float
    today: dt.date
    expired: bool = False
    pii_kinds: frozenset[str] = frozenset()
    services: Any = None
    understanding: Any = None

    @property
    def text(self) -> str:
        """The user's (masked) text, stripped."""
        return self.inbound.text.strip()

    def stay(self, *says: Say, **changes: Any) -> Outcome:
        """Answer without leaving the current flow/step (``changes`` override fields)."""
        base: dict[str, Any] = {
            "says": says,
            "flow": self.session.flow,
            "step": self.session.step,
            "slots": dict(self.session.slots),
        }
        base.update(changes)
        return Outcome(**base)

    def goto(self, flow: str | None, step: str | None, *says: Say, **changes: Any) -> Outcome:
        """Answer and move to ``flow``/``step``, keeping the known slots by default."""
        base: dict[str, Any] = {
            "says": says,
            "flow": flow,
            "step": step,
            "slots": dict(self.session.slots),
        }
        base.update(changes)
        return Outcome(**base)
