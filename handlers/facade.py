"""The one call the transport makes per message: :meth:`Dialogue.answer`.

Why a facade: the transport (``bot/``) should not know how the dialogue understands,
routes or words things. It hands over a :class:`~.contract.Message` and the user's
:class:`~.contract.State` and gets back an :class:`Answer`: the structured outcome (new
state, what to record) and the reply already rendered from the templates next to the
handlers. De-duplication, per-user order, persistence, paging and the deadline stay in
the transport.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import clarify
from .contract import Kind, Message, Outcome, Say, State, Turn
from .memory import Memory
from .nlu import Understanding
from .rendering import Renderer
from .routing import Router
from .services import DialogueServices

__all__ = ["CHINA_TZ", "Answer", "Dialogue"]

#: The dialogue's calendar (re-apply dates, "today") is China Standard Time.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")

_NOTHING_UNDERSTOOD = Understanding()


@dataclass(frozen=True, slots=True)
class Answer:
    """What the dialogue made of one message.

    :param outcome: the structured result: the new state, what to record, silence...
    :param text: the reply rendered in one piece (``""`` when silent); the transport pages it.
    :param templates: the names of the templates rendered into ``text``, in order (what
        the reply *means*, for tests and the log, independent of its wording).
    :param understanding: how the message was read (text messages only; None for events,
        media and an apology), so the transport can log what the dialogue made of it
        (intent, confidence, who decided) for ``wxloan nlu review``.
    """

    outcome: Outcome
    text: str
    templates: tuple[str, ...] = ()
    understanding: Understanding | None = None


class Dialogue:
    """Understands, routes, runs the feature and renders its reply; built once."""

    def __init__(
        self, router: Router, services: DialogueServices, renderer: Renderer | None = None
    ) -> None:
        self.router = router
        self.services = services
        self.renderer = renderer or Renderer()
        self.renderer.register_stable(services.kb)

    async def answer(
        self,
        message: Message,
        state: State,
        now: float,
        *,
        expired: bool = False,
        pii_kinds: frozenset[str] = frozenset(),
    ) -> Answer:
        """The answer to ``message`` given ``state``, at unix time ``now``.

        :param expired: the user's previous conversation timed out just now.
        :param pii_kinds: kinds of personal numbers already masked out of ``message.text``.
        """
        understanding = (
            self.services.interpret(message.text, state.step)
            if message.kind is Kind.TEXT
            else _NOTHING_UNDERSTOOD
        )
        if clarify.PENDING in state.slots:  # "1"/"2" after "你是想问：…"
            message, state, understanding = clarify.resolve(
                message, state, understanding, self.services.interpret
            )
        turn = Turn(
            message=message,
            state=state,
            now=now,
            today=dt.datetime.fromtimestamp(now, CHINA_TZ).date(),
            services=self.services,
            understanding=understanding,
            expired=expired,
            pii_kinds=pii_kinds,
            known=Memory.from_slots(dict(state.slots)),
        )
        outcome = await self.router.dispatch(turn)
        if outcome is None:
            outcome = Outcome(silent=True)
        read = understanding if message.kind is Kind.TEXT else None
        if outcome.silent:
            return Answer(outcome, "", understanding=read)
        notes: list[Say] = []
        if expired and message.kind is not Kind.EVENT:
            notes.append(Say("session_expired"))
        if pii_kinds:
            notes.append(Say("privacy_notice", {"kinds": sorted(pii_kinds)}))
        says = (*notes, *outcome.says)
        return Answer(
            outcome, self.renderer.render(says), tuple(s.template for s in says), read
        )

    def apology(self, state: State) -> Answer:
        """A feature crashed: apologise and keep the user's state."""
        outcome = Outcome(
            says=(Say("error"),), flow=state.flow, step=state.step, slots=dict(state.slots)
        )
        return Answer(outcome, self.renderer.render(outcome.says), ("error",))

    def page_footer(self, number: int, total: int) -> str:
        """The "page n of total" line under a long reply's pages."""
        return self.renderer.render_one("more_footer", {"page": number, "total": total})
