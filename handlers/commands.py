"""Commands that work in every state: restart, cancel, "更多", "为什么", human hand-off."""

from __future__ import annotations

from collections.abc import Callable

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import resume_says

__all__ = ["router"]

router = Router("commands")


def _intent(name: str) -> Callable[[Turn], bool]:
    def check(turn: Turn) -> bool:
        return turn.understanding.intent == name

    return check


@router.on(Kind.TEXT, when=_intent("restart"))
async def restart(turn: Turn) -> Outcome:
    """重新开始: forget everything said so far and show the menu."""
    return Outcome(says=(Say("restarted"), Say("menu")), flow=None, step=None, slots={})


@router.on(Kind.TEXT, when=_intent("cancel"))
async def cancel(turn: Turn) -> Outcome:
    """退出: leave the current flow; known facts stay for the rest of the session."""
    memory = turn.memory()
    memory.start_flow()
    memory.calc = {}
    return Outcome(says=(Say("cancelled"), Say("menu")), flow=None, step=None,
                   slots=memory.to_slots())


@router.on(Kind.TEXT, when=_intent("more"))
async def next_page(turn: Turn) -> Outcome:
    """Hand over the next waiting page of a long answer."""
    pages = list(turn.state.pending_pages)
    if not pages:
        return turn.stay(Say("no_more"), *resume_says(turn), pending_pages=())
    return turn.stay(Say("more_page", {"text": pages[0]}), pending_pages=tuple(pages[1:]))


@router.on(Kind.TEXT, when=_intent("why"))
async def why(turn: Turn) -> Outcome:
    """为什么: the knowledge entries behind the last conclusion."""
    memory = turn.memory()
    resume = resume_says(turn)
    if resume:
        return turn.stay(*resume)  # "why do you ask?": the question carries its reason
    if not memory.last or not memory.last.get("sources"):
        return turn.stay(Say("why_nothing"))
    kb = turn.services.kb
    entries = kb.explain(tuple(memory.last["sources"]))
    return turn.stay(
        Say("card_why", {"entries": entries, "topic": memory.last.get("topic", ""), "kb": kb})
    )
