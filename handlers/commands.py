"""Commands that work in every state: restart, cancel, "更多", "为什么", human hand-off."""

from __future__ import annotations

from collections.abc import Callable

from .contract import Outcome, Say, Turn
from .contract import Kind
from .routing import Router

from .flows import resume_says
from .memory import Memory

__all__ = ["router"]

router = Router("commands")

#: Sources shown per "为什么" / "更多" bubble (each is a sentence of the article).
WHY_BATCH = 4


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
    if memory.last:
        memory.last.pop("flow", None)  # left: a new fact no longer updates that card
    return Outcome(says=(Say("cancelled"), Say("menu")), flow=None, step=None,
                   slots=memory.to_slots())


@router.on(Kind.TEXT, when=_intent("more"))
async def next_page(turn: Turn) -> Outcome:
    """"更多" continues exactly what was announced: a long reply's next page, or more sources."""
    pages = list(turn.state.pending_pages)
    if pages:
        return turn.stay(Say("more_page", {"text": pages[0]}), pending_pages=tuple(pages[1:]))
    memory = turn.memory()
    if memory.last and memory.last.get("why_at"):
        return _why_batch(turn, memory, first=False)
    return turn.stay(Say("no_more"), *resume_says(turn), pending_pages=())


@router.on(Kind.TEXT, when=_intent("why"))
async def why(turn: Turn) -> Outcome:
    """为什么: the knowledge entries behind the last conclusion."""
    memory = turn.memory()
    resume = resume_says(turn)
    if resume:
        return turn.stay(*resume)  # "why do you ask?": the question carries its reason
    if not memory.last or not memory.last.get("sources"):
        return turn.stay(Say("why_nothing"))
    memory.last["why_at"] = 0
    return _why_batch(turn, memory, first=True)


def _why_batch(turn: Turn, memory: Memory, first: bool) -> Outcome:
    """The next :data:`WHY_BATCH` sources; "更多" continues from where this one stops."""
    assert memory.last is not None
    kb = turn.services.kb
    sources = list(memory.last.get("sources", []))
    start = int(memory.last.get("why_at", 0))
    batch = kb.explain(tuple(sources[start:start + WHY_BATCH]))
    end = start + len(batch)
    remaining = len(sources) - end
    memory.last["why_at"] = end if remaining else 0
    context = {"entries": batch, "remaining": remaining, "first": first,
               "topic": memory.last.get("topic", ""), "kb": kb}
    return turn.stay(Say("card_why", context), slots=memory.to_slots())
