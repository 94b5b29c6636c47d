"""The router: (message kind, dialogue flow, optional filter) → handler, first match wins.

Why a hand-written router instead of aiogram's: we need exactly three criteria and one typed
signature, ``async def handler(turn: Turn) -> Outcome``. Feature modules each own a
``Router``; :func:`handlers.build_router` includes them in priority order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from .contract import Kind, Outcome, Turn

__all__ = ["ANY_FLOW", "Handler", "Route", "Router"]

#: A handler answers, or returns ``None`` to pass the turn to the next matching route
#: (so a handler that must work something out to know whether the turn is its own
#: works it out once, instead of in a filter and again in the handler).
Handler = Callable[[Turn], Awaitable[Outcome | None]]
Filter = Callable[[Turn], bool]

#: Matches every flow, idle included.
ANY_FLOW = "*"


@dataclass(frozen=True, slots=True)
class Route:
    """One registration: which messages it takes, and the handler."""

    kinds: frozenset[Kind]
    flows: frozenset[str | None]
    when: Filter | None
    handler: Handler

    def matches(self, turn: Turn) -> bool:
        """True when this route takes ``turn``."""
        if turn.message.kind not in self.kinds:
            return False
        if ANY_FLOW not in self.flows and turn.state.flow not in self.flows:
            return False
        return self.when is None or self.when(turn)


class Router:
    """An ordered list of routes; ``include`` appends another router's routes after ours."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []

    def on(
        self,
        kinds: Kind | Iterable[Kind],
        *,
        flows: str | None | Iterable[str | None] = ANY_FLOW,
        when: Filter | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler for ``kinds`` in ``flows`` where ``when`` holds."""
        kind_set = frozenset([kinds] if isinstance(kinds, Kind) else kinds)
        flow_set: frozenset[str | None] = frozenset(
            [flows] if flows is None or isinstance(flows, str) else flows
        )

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(kind_set, flow_set, when, handler))
            return handler

        return register

    def include(self, *routers: Router) -> Router:
        """Append the routes of ``routers`` (in the given order) after this one's."""
        for router in routers:
            self.routes.extend(router.routes)
        return self

    async def dispatch(self, turn: Turn) -> Outcome | None:
        """The outcome of the first matching handler that answers (None: nobody did)."""
        for route in self.routes:
            if route.matches(turn):
                outcome = await route.handler(turn)
                if outcome is not None:
                    return outcome
        return None

    def resolve(self, turn: Turn) -> Handler | None:
        """The first handler whose route matches ``turn``, or ``None``."""
        for route in self.routes:
            if route.matches(turn):
                return route.handler
        return None
