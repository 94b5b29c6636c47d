"""The dialogue's shared, read-only services, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from bot.context import Turn
from knowledge import KnowledgeBase, load_knowledge

from .menu import Menu, load_menu
from .nlu import Understander, Understanding

__all__ = ["DialogueServices", "load_services", "services_of", "understanding_of"]


_EXPECTING = {"rejected_on": "rejected_days_ago"}


@dataclass(frozen=True, slots=True)
class DialogueServices:
    """Knowledge base, language understanding and menu; shared by every handler."""

    kb: KnowledgeBase
    understander: Understander
    menu: Menu

    def interpret(self, text: str, expecting: str | None) -> Understanding:
        """Read one user message (the pipeline calls this once per text).

        :param expecting: the pending question; the profile's ``rejected_on`` is asked as
            "how long ago", which the language module reads as ``rejected_days_ago``.
        """
        asked = _EXPECTING.get(expecting, expecting) if expecting else None
        return self.understander.understand(text, asked)


def load_services() -> DialogueServices:
    """Load and validate everything the dialogue needs (about 0.1 s)."""
    return DialogueServices(kb=load_knowledge(), understander=Understander(), menu=load_menu())


def services_of(turn: Turn) -> DialogueServices:
    """The typed services of ``turn``."""
    return cast(DialogueServices, turn.services)


def understanding_of(turn: Turn) -> Understanding:
    """The typed understanding of ``turn`` (empty for non-text messages)."""
    understanding = turn.understanding
    return understanding if isinstance(understanding, Understanding) else Understanding()
