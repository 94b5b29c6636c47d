"""Rank intents by the weighted keywords a message contains.

Each distinct keyword adds its weight once (strong 2, normal 1, weak 0.5,
times the intent's own weight, which is lower for small talk so that
"thanks, and what if I was rejected?" ranks ``rejection`` before ``thanks``).  A whole-message
match (``在吗``, ``?``) adds 3; a combo such as 学生 followed by 能/可以
marks a question *about* a group; some intents are implied by slots
(an amount and a term imply ``calculator``).  Ties go to the intent listed
first in the lexicon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from .lexicon import Lexicon
from .mentions import Mention
from .vocab import Vocabulary

__all__ = ["SOCIAL_INTENTS", "IntentScorer"]

SOCIAL_INTENTS: Final = frozenset(
    {
        "greeting",
        "help",
        "restart",
        "cancel",
        "thanks",
        "goodbye",
        "out_of_scope",
        "why",
        "more",
        "human",
        "menu_choice",
        "end_handoff",
        "bot_identity",
        "correction",
        "impatient",
        "detailed",
    }
)
"""Intents about the conversation itself rather than about loans."""


class IntentScorer:
    """Score and rank intents for one message."""

    def __init__(self, lex: Lexicon, vocab: Vocabulary) -> None:
        self._order = {spec.id: i for i, spec in enumerate(lex.intents)}
        self._negatable = frozenset(spec.id for spec in lex.intents if spec.negatable)
        self._combos = [
            (spec.id, frozenset(c.first), c.then, c.max_gap, c.weight)
            for spec in lex.intents
            for c in spec.combos
        ]
        self._implied = [
            (spec.id, spec.implied_by_slots, spec.weight)
            for spec in lex.intents
            if spec.implied_by_slots
        ]
        self._exact = vocab.exact
        #: every combo's first words: a message with none of them needs no combo check
        self._combo_firsts = frozenset(w for c in self._combos for w in c[1])

    def rank(
        self,
        text: str,
        core: str,
        mentions: Sequence[Mention],
        slots: Mapping[str, object],
    ) -> tuple[str, ...]:
        """Intent ids with a positive score, best first.

        :param text: the normalised message.
        :param core: the message without punctuation or particles, for exact matches.
        """
        scores: dict[str, float] = {}
        counted: set[tuple[str, str]] = set()
        negatable = self._negatable
        for m in mentions:
            for intent, weight in m.term.intents:
                if m.negated and intent in negatable:
                    continue
                key = (intent, m.term.text)
                if key in counted:
                    continue
                counted.add(key)
                scores[intent] = scores.get(intent, 0.0) + weight
        for intent, weight in self._exact.get(core, ()) or self._exact.get(text, ()):
            scores[intent] = scores.get(intent, 0.0) + weight
        if mentions and not self._combo_firsts.isdisjoint([m.term.text for m in mentions]):
            for intent, first, then, max_gap, weight in self._combos:
                if _combo_found(text, mentions, first, then, max_gap):
                    scores[intent] = scores.get(intent, 0.0) + weight
        if slots:
            for intent, needed, weight in self._implied:
                if any(slot in slots for slot in needed):
                    scores[intent] = scores.get(intent, 0.0) + weight
        if not scores:
            return ()
        if len(scores) == 1:
            ((intent, score),) = scores.items()
            return (intent,) if score > 0 else ()
        order = self._order
        last = len(order)
        ranked = sorted(
            (i for i, s in scores.items() if s > 0),
            key=lambda i: (-scores[i], order.get(i, last)),
        )
        return tuple(ranked)


def _combo_found(
    text: str,
    mentions: Sequence[Mention],
    first: frozenset[str],
    then: Sequence[str],
    max_gap: int,
) -> bool:
    """A non-negated ``first`` word followed within ``max_gap`` by a ``then`` word."""
    for m in mentions:
        if m.negated or m.term.text not in first:
            continue
        for w in then:
            k = text.find(w, m.end, m.end + max_gap + len(w))
            if k != -1:
                return True
    return False
