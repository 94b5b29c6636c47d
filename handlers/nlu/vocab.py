"""Compile the lexicon into one trie whose payloads say what each word means.

A word can mean several things at once (被拒过 is a rejection keyword *and*
sets ``rejected_before``); merging them into one :class:`Term` lets a single
scan of the message feed intents, slots, negation and scam checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from .lexicon import Lexicon
from .model import SLOT_KINDS
from .numbers import numeral_chars
from .trie import TermIndex

__all__ = ["Term", "Vocabulary"]

# Intent keyword strengths: a decisive phrase, a plain keyword, a hint.
STRONG: Final = 2.0
NORMAL: Final = 1.0
WEAK: Final = 0.5


@dataclass(frozen=True, slots=True)
class Term:
    """Everything one lexicon word means."""

    text: str
    intents: tuple[tuple[str, float], ...] = ()
    values: tuple[tuple[str, str], ...] = ()
    negatable: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    phrases: tuple[tuple[str, int], ...] = ()
    negates_next: bool = False
    negates_previous: bool = False
    asks: bool = False  # 有没有 / 是不是: the next word is asked about, not stated
    spreads: bool = False
    skip: bool = False
    product: str | None = None
    period: str | None = None
    days_ago: int | None = None
    just: bool = False  # 刚 / 刚才: a days-ago word a named day overrides
    denies_number: bool = False  # 不是两次: the number after it is denied
    hypothetical: bool = False
    scams: tuple[str, ...] = ()
    rate: str | None = None
    blocks: tuple[str, ...] = ()
    masks_numbers: bool = False
    starts_negated: bool = False  # 不逾期 carries its own negation
    guarded_mask: bool = False  # do not mask when glued to a numeral (一万一)
    weighty: bool = False  # says something about a slot or an intent (not a bare hedge)
    measured: bool = False  # matters to the numbers: an anchor, period, rate, blocker, date


@dataclass
class _Draft:
    intents: dict[str, float] = field(default_factory=dict)
    values: list[tuple[str, str]] = field(default_factory=list)
    negatable: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    phrases: list[tuple[str, int]] = field(default_factory=list)
    negates_next: bool = False
    negates_previous: bool = False
    asks: bool = False
    skip: bool = False
    product: str | None = None
    period: str | None = None
    days_ago: int | None = None
    just: bool = False
    denies_number: bool = False
    hypothetical: bool = False
    scams: list[str] = field(default_factory=list)
    rate: str | None = None
    blocks: list[str] = field(default_factory=list)
    not_number: bool = False
    in_number: bool = False


def _inner_words(word: str, shortest: int = 2) -> set[str]:
    """Every substring of ``word`` shorter than it, of ``shortest`` characters or more."""
    n = len(word)
    return {word[i:j] for i in range(n) for j in range(i + shortest, n + 1) if j - i < n}


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


class Vocabulary:
    """The trie of all words plus the whole-message (exact) intent table."""

    def __init__(self, lex: Lexicon) -> None:
        drafts: defaultdict[str, _Draft] = defaultdict(_Draft)

        for spec in lex.intents:
            for words, strength in (
                (spec.weak, WEAK),
                (spec.keywords, NORMAL),
                (spec.strong, STRONG),
            ):
                for w in words:
                    d = drafts[w]
                    d.intents[spec.id] = max(d.intents.get(spec.id, 0.0), strength * spec.weight)

        shadows: list[str] = []  # words that state nothing (a slot's not_values)
        for slot in lex.slots.values():
            for value, words in slot.values.items():
                for w in words:
                    d = drafts[w]
                    if (slot.name, value) not in d.values:
                        d.values.append((slot.name, value))
                    _add(d.negatable, slot.name)
            for w in slot.anchors:
                _add(drafts[w].anchors, slot.name)
            for w in slot.negatable:
                _add(drafts[w].negatable, slot.name)
            for w, n in slot.phrases.items():
                drafts[w].phrases.append((slot.name, n))
            for w in slot.blockers:
                _add(drafts[w].blocks, slot.name)
            shadows.extend(slot.not_values)  # words of their own: the value inside is unsaid

        for w in shadows:
            # 一般被拒 states no rejection but still asks about one: it keeps the intents
            # of the longest word inside it
            asked = sorted(
                (x for x in _inner_words(w) if x in drafts and drafts[x].intents), key=len
            )
            d = drafts[w]
            if asked and not d.intents:
                d.intents = dict(drafts[asked[-1]].intents)
        for w in lex.negation_questions:
            drafts[w].asks = True  # 有没有社保 neither asserts nor denies 社保
        for w in lex.negation_exempt:
            drafts[w]  # a word of its own: the 不 in 不过 is no negator
        for w in lex.negation_before:
            drafts[w].negates_next = True
        for w in lex.negation_after:
            drafts[w].negates_previous = True
        for w in lex.skip:
            drafts[w].skip = True
        for w in lex.hypothetical:
            drafts[w].hypothetical = True
        for w in lex.not_numbers:
            drafts[w].not_number = True
        for w in lex.fractions:
            # 万分之一点五: a number's own words, matched so 之一 (one of) does not hide it
            drafts[w].in_number = True
        for product, words in lex.products.items():
            for w in words:
                drafts[w].product = product
        for period, words in lex.frequency.items():
            for w in words:
                drafts[w].period = period
        for w, days in lex.days_ago_words.items():
            drafts[w].days_ago = days
        for w in lex.days_ago_just:
            drafts[w].just = True
        for w in lex.denies_number:
            drafts[w].denies_number = True
        for kind, words in lex.rate_anchors.items():
            for w in words:
                drafts[w].rate = kind
        for scam in lex.scams:
            for w in scam.terms:
                _add(drafts[w].scams, scam.id)

        # A word that contains a blocker of two or more characters blocks too:
        # 交了保证金 and 被骗了 (scam words) hide 保证金 and 被骗 from the scan.
        # Likewise a word that contains rate words of one kind only is that rate's anchor
        # (年化是15%: 年化是 is an intent's word, and it hides 年化).
        blockers = {w: tuple(d.blocks) for w, d in drafts.items() if d.blocks and len(w) >= 2}
        rates = {w: d.rate for w, d in drafts.items() if d.rate is not None and len(w) >= 2}
        for w, d in drafts.items():
            inner = _inner_words(w)
            for b in inner & blockers.keys():
                for blocked in blockers[b]:
                    _add(d.blocks, blocked)
            if d.rate is None:
                kinds = {rates[r] for r in inner & rates.keys()}
                if len(kinds) == 1:
                    d.rate = kinds.pop()

        # A frequency phrase (每天用 = 7) keeps its period word's period, so a count
        # beside it is converted too (每天用三次 = 21 a week).
        periods = {w: d.period for w, d in drafts.items() if d.period is not None}
        frequency_slots = {n for n, k in SLOT_KINDS.items() if k == "frequency"}
        for w, d in drafts.items():
            if d.period is None and any(slot in frequency_slots for slot, _ in d.phrases):
                found = {periods[pw] for pw in _inner_words(w, 1) & periods.keys()}
                if len(found) == 1:
                    d.period = found.pop()

        spread = tuple(lex.negation_spread)
        negators = tuple(lex.negation_before)
        self.numeric_chars: frozenset[str] = numeral_chars(lex) | frozenset("0123456789")
        magnitudes = frozenset(lex.magnitudes)
        terms = {
            w: self._freeze(w, d, spread, negators, self.numeric_chars, magnitudes)
            for w, d in drafts.items()
        }
        self.terms: Mapping[str, Term] = terms
        self.index: TermIndex[Term] = TermIndex(terms.items())

        exact: dict[str, dict[str, float]] = defaultdict(dict)
        for spec in lex.intents:
            for w in spec.exact:
                exact[w][spec.id] = 3.0 * spec.weight
        self.exact: Mapping[str, tuple[tuple[str, float], ...]] = {
            w: tuple(v.items()) for w, v in exact.items()
        }

    @staticmethod
    def _freeze(
        word: str,
        d: _Draft,
        spread: tuple[str, ...],
        negators: tuple[str, ...],
        numeric_chars: frozenset[str],
        magnitudes: frozenset[str],
    ) -> Term:
        numeric = any(ch in numeric_chars for ch in word)
        return Term(
            text=word,
            intents=tuple(d.intents.items()),
            values=tuple(d.values),
            negatable=tuple(d.negatable),
            anchors=tuple(d.anchors),
            phrases=tuple(d.phrases),
            negates_next=d.negates_next,
            negates_previous=d.negates_previous,
            asks=d.asks,
            spreads=d.negates_previous and word.startswith(spread),
            skip=d.skip,
            product=d.product,
            period=d.period,
            days_ago=d.days_ago,
            just=d.just,
            denies_number=d.denies_number,
            hypothetical=d.hypothetical,
            scams=tuple(d.scams),
            rate=d.rate,
            blocks=tuple(d.blocks),
            # Words with numerals in them (we2000, 前几天, 万一) hide those numerals
            # from the number scanner; frequency words (一周) do not, so 一个月前 still parses.
            masks_numbers=((numeric and d.period is None) or d.not_number) and not d.in_number,
            starts_negated=word.startswith(negators) and not d.negates_next,
            guarded_mask=word[0] in magnitudes,
            weighty=bool(
                d.intents or d.values or d.negatable or d.anchors or d.phrases or d.period or d.rate
            ),
            measured=bool(
                d.anchors
                or d.period
                or d.rate
                or d.blocks
                or d.denies_number
                or d.days_ago is not None
            ),
        )
