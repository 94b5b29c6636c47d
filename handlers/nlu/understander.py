"""The pipeline: normalise, match words, read numbers, then facts, intents, scams.

Everything expensive (lexicon parsing, trie, regexes, cn2an import) happens
once in :class:`Understander`'s constructor; :meth:`Understander.understand`
is pure CPU on one short string and keeps no state between calls apart
from a bounded numeral cache, so one instance can serve every request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final

from .answers import AnswerReader
from .facts import read_facts
from .fuzzy import FuzzyCorrector
from .intents import SOCIAL_INTENTS, IntentScorer
from .lexicon import Lexicon, load_lexicon
from .measures import MeasureReader
from .mentions import resolve_mentions
from .model import SLOT_KINDS, Understanding
from .normalize import Clauses, Normalizer
from .numbers import QuantityScanner
from .scam import ScamDetector
from .trie import Hit, select_longest
from .vocab import Term, Vocabulary

__all__ = ["Understander", "default_understander", "understand"]

_NUMBER_KINDS: Final = frozenset(
    {"score", "count", "frequency", "duration", "periods", "money", "term", "rate", "days_ago"}
)
_NOTHING: Final = Understanding()


class Understander:
    """Reusable message reader; build once at start-up.

    :param lexicon_path: a lexicon TOML file; None uses ``knowledge/data/lexicon.toml``.
    :param lexicon: an already loaded lexicon (overrides ``lexicon_path``).
    :raises LexiconError: if the lexicon is missing or malformed.
    """

    def __init__(
        self, lexicon_path: Path | str | None = None, *, lexicon: Lexicon | None = None
    ) -> None:
        lex = lexicon if lexicon is not None else load_lexicon(lexicon_path)
        self.lexicon: Final = lex
        self._normalize = Normalizer(lex.char_map, lex.typos)
        self._vocab = Vocabulary(lex)
        self._fuzzy: FuzzyCorrector[Term] = FuzzyCorrector(
            lex.fuzzy_terms, lex.fuzzy_keep, lex.fuzzy_max_text
        )
        self._breaks = Clauses.pattern(lex.clause_breaks)
        self._scanner = QuantityScanner(lex)
        self._measures = MeasureReader(lex)
        self._answers = AnswerReader(lex, self._measures)
        self._intents = IntentScorer(lex, self._vocab)
        self._scam = ScamDetector(lex)
        self._max_gap = lex.negation_max_gap

    def _as_score(self, slots: dict[str, object], out_of_range: dict[str, int]) -> None:
        amount = slots.pop("amount")
        if not isinstance(amount, int):
            return
        low, high = _score_limits(self.lexicon)
        if low <= amount <= high:
            slots["pay_score"] = amount
        else:
            out_of_range["pay_score"] = amount

    def understand(self, text: str, expecting: str | None = None) -> Understanding:
        """Read one user message.

        :param text: the raw message text.
        :param expecting: the profile field the bot just asked about, so a
            bare reply ("六百八", "两次", "没有", "是的") can be read as its value.
            Unknown field names are ignored.
        """
        s = self._normalize(text)
        if not s.strip():
            return _NOTHING
        every = self._vocab.index.scan(s)
        repaired = self._fuzzy(s, every)
        if repaired is not s:
            s, every = repaired, self._vocab.index.scan(repaired)
        clauses = Clauses(s, self._breaks)
        selected = select_longest(every)
        mentions = resolve_mentions(
            selected, every, s, clauses, self._max_gap, self.lexicon.negation_tail
        )
        quantities = self._scanner.scan(s, _mask(s, selected, self._vocab.numeric_chars))

        facts = read_facts(mentions, self.lexicon.slots)
        mentioned = {intent for m in mentions for intent, _ in m.term.intents}
        measured = self._measures.read(
            clauses,
            mentions,
            quantities,
            rejection_context=facts.slots.get("rejected_before") is True
            or "rejection" in mentioned
            or expecting in ("rejected_before", "rejected_days_ago"),
            calc_context="calculator" in mentioned
            or expecting in ("amount", "months")
            or any("amount" in m.term.anchors for m in mentions),
            expecting=expecting,
        )
        slots: dict[str, object] = dict(facts.slots)
        slots.update(measured.slots)
        negated = set(facts.negated)

        answer = self._answers.read(s, clauses)
        kind = SLOT_KINDS.get(expecting) if expecting is not None else None
        if expecting is not None and kind is not None and expecting not in slots:
            value = self._answers.expected_value(expecting, answer, measured.free, measured)
            slots.update(measured.slots)
            if value is not None:
                slots[expecting] = value
            elif expecting not in slots and answer.yes_no is False:
                negated.add(expecting)

        out_of_range = dict(measured.out_of_range)
        calculation = bool({"months", "apr", "daily_rate"} & set(slots))
        if expecting == "pay_score" and "pay_score" not in slots and "amount" in slots \
                and not calculation:
            # 一千 / 一千分 read as money, but a score was asked for: it is the answer.
            self._as_score(slots, out_of_range)

        choice = answer.choice if kind not in _NUMBER_KINDS else None
        if expecting is not None and choice is not None and expecting not in slots:
            options = spec.options if (spec := self.lexicon.slots.get(expecting)) else ()
            if 0 < choice <= len(options):
                picked = options[choice - 1]
                slots[expecting] = picked == "true" if kind == "bool" else picked
                choice = None  # "2" answered the question; it is not a menu choice
        scams = self._scam.detect(s, mentions)
        intents = self._intents.rank(s, answer.core, mentions, slots)
        if choice is not None:
            intents = ("menu_choice", *(i for i in intents if i != "menu_choice"))
        if scams or "scam" in intents:
            intents = ("scam", *(i for i in intents if i != "scam"))

        content = bool(slots or scams) or any(i not in SOCIAL_INTENTS for i in intents)
        skip = not content and any(m.term.skip for m in mentions)
        products = tuple(dict.fromkeys(m.term.product for m in mentions if m.term.product))

        return Understanding(
            intents=intents,
            slots=MappingProxyType(slots),
            negated=frozenset(negated),
            negated_values=MappingProxyType(
                {k: frozenset(v) for k, v in facts.negated_values.items() if v}
            ),
            yes_no=answer.yes_no,
            skip=skip,
            choice=choice,
            ranges=MappingProxyType({k: v for k, v in measured.ranges.items() if k in slots}),
            approximate=frozenset(a for a in measured.approximate if a in slots),
            scam_patterns=scams,
            out_of_range=MappingProxyType(
                {k: v for k, v in out_of_range.items() if k not in slots}
            ),
            products=products,
            third_party=any(w in s for w in self.lexicon.third_party),
            first_person=any(w in s for w in self.lexicon.first_person),
        )


def _score_limits(lexicon: Lexicon) -> tuple[int, int]:
    spec = lexicon.slots["pay_score"]
    low = int(spec.minimum) if spec.minimum is not None else 0
    high = int(spec.maximum) if spec.maximum is not None else 10**9
    return low, high


def _mask(text: str, selected: Sequence[Hit[Term]], numeric: frozenset[str]) -> str:
    """Blank words whose numerals are not quantities (we2000, 前几天, 一下)."""
    chars: list[str] | None = None
    for h in selected:
        t = h.payload
        if not t.masks_numbers:
            continue
        if t.guarded_mask and h.start > 0 and text[h.start - 1] in numeric:
            continue  # 一万一: the 万一 here is part of a number
        if chars is None:
            chars = list(text)
        chars[h.start : h.end] = "\x00" * (h.end - h.start)
    return text if chars is None else "".join(chars)


_default: Understander | None = None
_default_lock = threading.Lock()


def default_understander() -> Understander:
    """The shared instance behind :func:`understand`, built on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Understander()
    return _default


def understand(text: str, expecting: str | None = None) -> Understanding:
    """Read one user message with the default lexicon; see :class:`Understander`."""
    return default_understander().understand(text, expecting)
