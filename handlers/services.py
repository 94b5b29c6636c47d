"""The dialogue's shared, read-only services, built once at start-up."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from wxloan.knowledge import ApplicantProfile, KnowledgeBase, load_knowledge, next_question
from wxloan.knowledge.loader import data_fingerprint

from .menu import Menu, load_menu
from .nlu import Understander, Understanding

__all__ = [
    "AgentDirectory",
    "AssessmentHistory",
    "DialogueServices",
    "NoHistory",
    "PastAssessment",
    "UnknownAgents",
    "load_services",
]


_EXPECTING = {"rejected_on": "rejected_days_ago"}


#: Distinct (profile, flow, skipped) states whose next question is remembered. Answers
#: cluster (the same pay-score bands, the same yes/no), so a small bounded cache serves
#: most turns; its size bounds the memory it can take.
QUESTION_CACHE_SIZE = 4096


class QuestionCache:
    """Memoises the core's ``next_question``: pure, so a cached answer is always right."""

    def __init__(self, kb: KnowledgeBase, size: int = QUESTION_CACHE_SIZE) -> None:
        self._kb = kb
        self.lookup = functools.lru_cache(maxsize=size)(self._compute)

    def _compute(
        self, profile: ApplicantProfile, flow: str, exclude: frozenset[str]
    ) -> str | None:
        question = next_question(profile, self._kb, flow, exclude)
        return None if question is None else question.field


# -- hand-off port: is a human agent online? ---------------------------------------------


class AgentDirectory(Protocol):
    """Whether a human customer-service agent could take a transfer right now.

    Why a port: the hand-off must ask WeChat before it sends a user to an empty queue,
    but handlers do no I/O and never import ``bot/``; the bot passes an implementation
    over ``customservice/getonlinekflist`` (``bot.wechat_api.OnlineAgents``).
    """

    async def online_count(self, channel: str) -> int | None:
        """Agents online for ``channel`` (a ``Message.channel``); None: cannot tell."""
        ...


class UnknownAgents:
    """The default directory: it cannot tell (no AppSecret, tests, a bare dialogue)."""

    async def online_count(self, channel: str) -> int | None:
        """Always None: the hand-off then warns that a person may not be available."""
        return None


# -- history port: the user's last stored verdict ----------------------------------------


@dataclass(frozen=True, slots=True)
class PastAssessment:
    """A verdict the user was given earlier: the facts it rested on and when.

    :param flow: ``eligibility``, ``rejection`` or ``limits``.
    :param inputs: the profile (``ApplicantProfile.to_mapping()``) it was computed from.
    :param made_at: unix seconds.
    """

    flow: str
    inputs: Mapping[str, object]
    made_at: float


class AssessmentHistory(Protocol):
    """The user's last stored assessment (the ``last_result`` intent).

    Why a port: the verdicts are recorded by the transport in ``assessments`` and a
    returning user's session may be long gone; handlers never import ``storage/``, so the
    bot passes an implementation over its store.
    """

    async def last(self, openid: str) -> PastAssessment | None:
        """The newest assessment of ``openid``, or None."""
        ...


class NoHistory:
    """The default history: nothing stored (tests, a bare dialogue)."""

    async def last(self, openid: str) -> PastAssessment | None:
        """Always None."""
        return None


# -- the services ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DialogueServices:
    """Knowledge base, language understanding and menu; shared by every handler."""

    kb: KnowledgeBase
    understander: Understander
    menu: Menu
    questions: QuestionCache
    #: who can take a hand-off (the bot replaces it with one over WeChat's API)
    agents: AgentDirectory = field(default_factory=UnknownAgents)
    #: the user's stored verdicts (the bot replaces it with one over its store)
    history: AssessmentHistory = field(default_factory=NoHistory)
    #: where the data came from ("shipped" or the operator's folder) and its fingerprint
    source: str = "shipped"
    data_hash: str = ""

    def next_question(
        self, profile: ApplicantProfile, flow: str, exclude: frozenset[str]
    ) -> str | None:
        """The most important field still worth asking in ``flow`` (None: conclude)."""
        return self.questions.lookup(profile, flow, exclude)

    def interpret(self, text: str, expecting: str | None) -> Understanding:
        """Read one user message (the pipeline calls this once per text).

        :param expecting: the pending question; the profile's ``rejected_on`` is asked as
            "how long ago", which the language module reads as ``rejected_days_ago``.
        """
        asked = _EXPECTING.get(expecting, expecting) if expecting else None
        return self.understander.understand(text, asked)


def load_services(data_dir: Path | None = None) -> DialogueServices:
    """Load and validate everything the dialogue needs (about 0.1 s).

    :param data_dir: a folder laid out as ``knowledge/data`` (the knowledge TOML files,
        ``lexicon.toml``, ``menu.toml`` and ``nlu/model.json``); None: the shipped data.
    """
    if data_dir is None:
        kb = load_knowledge()
        return DialogueServices(
            kb=kb, understander=Understander(), menu=load_menu(), questions=QuestionCache(kb),
            data_hash=data_fingerprint(),
        )
    kb = load_knowledge(data_dir)
    understander = Understander(data_dir / "lexicon.toml", model=data_dir / "nlu" / "model.json")
    return DialogueServices(
        kb=kb,
        understander=understander,
        menu=load_menu(data_dir / "menu.toml"),
        questions=QuestionCache(kb),
        source=str(data_dir),
        data_hash=data_fingerprint(data_dir),
    )
