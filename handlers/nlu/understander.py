"""The pipeline: normalise, match words, read numbers, then facts, intents, scams.

Everything expensive (lexicon parsing, trie, regexes, cn2an import, the
intent model's artifact) happens once in :class:`Understander`'s constructor;
:meth:`Understander.understand` is pure CPU on one short string and keeps no
state between calls apart from a bounded numeral cache, so one instance can
serve every request.

How the rules and the intent model combine (one way, documented here and in
the README's understanding section):

* The rule layer always reads the facts: numbers, amounts, terms, ranges,
  negation, slots, scam patterns, menu numbers, yes/no.
* The rules' reading *stands* (``source="rules"``, confidence 1.0, the model
  not consulted) where rules are right by construction: a scam pattern or
  scam word, a menu number, a bare answer to the question just asked (or a
  bare yes or no with nothing else read), a whole-message exact phrase
  (a greeting, the human or the menu command).
* Otherwise the intent model's reading *leads* (``source="model"``,
  confidence = its probability, ``alternatives`` = its top three).  It reads
  the character n-grams of the normalised text *and* what the rules found
  (:func:`.classifier.rule_tags`), so it learns where the lexicon's hints are
  right and where they are not.  The rules' other intents follow its choice in
  ``intents``, deduplicated, so secondary checks such as ``"calculator" in
  u.intents`` keep working.  Its ``none`` class means the message only states
  facts (``intents`` empty); ``out_of_scope`` is chit-chat or gibberish.
* Below the model's confidence threshold (:attr:`Understander.threshold`,
  chosen by cross-validation on the training split with exactly this
  combination simulated) nothing is acted on: ``intents`` is empty and the
  dialogue asks which of ``alternatives[:2]`` was meant (handlers/clarify.py).
* A scam reading of the model's counts only from :data:`SCAM_FROM` (0.5);
  where the rules saw a scam, the model still tells a warning (``scam``) from
  what to do now that the money or the code is gone (``scam_aftermath``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from .answers import AnswerReader
from .classifier import Classifier, model_text, number_pattern, rule_tags
from .facts import read_facts
from .fuzzy import FuzzyCorrector
from .intents import SOCIAL_INTENTS, IntentScorer
from .lexicon import Lexicon, load_lexicon
from .measures import MeasureReader
from .mentions import Mention, resolve_mentions
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
#: shared empty values for the Understanding's fields (read-only, so one serves all)
_NO_MAP: Final[Mapping[str, Any]] = MappingProxyType({})
_NO_NAMES: Final[frozenset[str]] = frozenset()

#: Scam readings: the rules' (patterns and words), or the model's from :data:`SCAM_FROM`
#: only, since a guess that a plain "the money arrived" is a scam would alarm an honest
#: user. Where the rules saw a scam, the model tells the warning from the aftermath.
RULES_ONLY: Final = frozenset({"scam", "scam_aftermath"})
_ALTERNATIVES: Final = 3
#: What the privacy masking leaves of a number: digits around a run of asterisks.
_MASKED: Final = re.compile(r"[0-9a-z]*\*{2,}[0-9a-z]*")
#: Cross-validated on the training split: from 0.5 the model's scam readings add a point
#: of accuracy and no false alarm (rules only 88.5 %, from 0.9 88.7 %, from 0.5 89.5 %).
SCAM_FROM: Final = 0.5


class Understander:
    """Reusable message reader; build once at start-up.

    :param lexicon_path: a lexicon TOML file; None uses ``knowledge/data/lexicon.toml``.
    :param lexicon: an already loaded lexicon (overrides ``lexicon_path``).
    :param model: the intent model: True loads ``knowledge/data/nlu/model.json``,
        a path loads that artifact, a :class:`Classifier` is used as is, False
        reads with the rules alone (the benchmark's and the training's baseline).
    :raises LexiconError: if the lexicon is missing or malformed.
    :raises ModelError: if the model artifact is missing or malformed.
    """

    def __init__(
        self,
        lexicon_path: Path | str | None = None,
        *,
        lexicon: Lexicon | None = None,
        model: Classifier | Path | str | bool = True,
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
        self._exact = self._vocab.exact
        self._weights = {spec.id: spec.weight for spec in lex.intents}
        self._numbers = number_pattern(self._vocab.numeric_chars)
        self._third_party = _any_of(lex.third_party)
        self._first_person = _any_of(lex.first_person)
        loaded: Classifier | None
        if model is True:
            loaded = Classifier.load()
        elif isinstance(model, (str, Path)):
            loaded = Classifier.load(model)
        else:
            loaded = model or None
        self.model: Final[Classifier | None] = loaded

    @property
    def threshold(self) -> float:
        """Below this confidence a model reading deserves a clarifying question."""
        return self.model.threshold if self.model is not None else 0.0

    def _prepared(self, text: str) -> str:
        """Normalised, and what the privacy masking left of a number (138****5678) blanked:
        it is no quantity."""
        s = self._normalize(text)
        return _MASKED.sub("*", s) if "**" in s else s

    def normalized(self, text: str) -> str:
        """The text as the rules and the model read it: normalised, typos repaired."""
        s = self._prepared(text)
        every = self._vocab.index.scan(s)
        return self._fuzzy(s, every)

    def model_input(self, text: str) -> str:
        """What the intent model reads of a raw message (training uses the same)."""
        return model_text(self.normalized(text), self._numbers)

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
        s = self._prepared(text)
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
        quantities = (
            self._scanner.scan(s, _mask(s, selected, self._vocab.numeric_chars))
            if self._scanner.possible(s)
            else []  # no character a number starts with: nothing to mask or scan
        )

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
            if "scam_aftermath" in intents:  # what to do now wins, as in the dialogue
                intents = ("scam_aftermath", *(i for i in intents if i != "scam_aftermath"))

        confidence, source = 1.0, "rules"
        alternatives: tuple[tuple[str, float], ...] = ()
        answered = expecting is not None and (
            expecting in slots
            or expecting in negated
            or answer.yes_no is not None
            or any(m.term.skip for m in mentions)
        )
        bare_yes_no = answer.yes_no is not None and not intents and not slots  # 是的 alone
        bare_answer = answered or bare_yes_no
        consult = self.model is not None and not bare_answer
        decided = self._rules_decide(intents, answer.core, s, mentions, bool(scams))
        if consult and (not decided or intents[0] in RULES_ONLY):
            assert self.model is not None
            tags = rule_tags(
                intents,
                slots,
                scam=bool(scams),
                yes_no=answer.yes_no is not None,
                choice=choice is not None,
                negated=bool(negated),
            )
            prediction = self.model.predict(
                model_text(s, self._numbers), tags, top=_ALTERNATIVES + 2
            )
            if not decided:
                intents, confidence, alternatives, source = self._combine(
                    intents, prediction.ranked, self.model.threshold
                )
            elif prediction.probability("scam_aftermath") > prediction.probability("scam"):
                # a scam for sure (the rules saw it); the model tells whether it is done
                intents = ("scam_aftermath", *(i for i in intents if i != "scam_aftermath"))

        content = bool(slots or scams) or any(i not in SOCIAL_INTENTS for i in intents)
        skip = not content and any(m.term.skip for m in mentions)
        products = tuple(dict.fromkeys(m.term.product for m in mentions if m.term.product))

        return Understanding(
            intents=intents,
            slots=MappingProxyType(slots),
            negated=frozenset(negated) if negated else _NO_NAMES,
            negated_values=MappingProxyType(
                {k: frozenset(v) for k, v in facts.negated_values.items() if v}
            )
            if facts.negated_values
            else _NO_MAP,
            yes_no=answer.yes_no,
            skip=skip,
            choice=choice,
            ranges=MappingProxyType({k: v for k, v in measured.ranges.items() if k in slots})
            if measured.ranges
            else _NO_MAP,
            approximate=frozenset(a for a in measured.approximate if a in slots)
            if measured.approximate
            else _NO_NAMES,
            scam_patterns=scams,
            out_of_range=MappingProxyType(
                {k: v for k, v in out_of_range.items() if k not in slots}
            )
            if out_of_range
            else _NO_MAP,
            products=products,
            third_party=_found(self._third_party, s),
            first_person=_found(self._first_person, s),
            confidence=confidence,
            alternatives=alternatives,
            source=source,
        )

    def _combine(
        self,
        intents: tuple[str, ...],
        ranked: Sequence[tuple[str, float]],
        threshold: float,
    ) -> tuple[tuple[str, ...], float, tuple[tuple[str, float], ...], str]:
        """The model's reading leads; the rules' intents follow it (see the module doc).

        :returns: (intents, confidence, alternatives, source).
        """
        offered = tuple((i, p) for i, p in ranked if i not in RULES_ONLY or p >= SCAM_FROM)
        alternatives = offered[:_ALTERNATIVES]
        top, p = offered[0]
        if p < threshold:
            return (), p, alternatives, "model"  # unsure: a clarifying question, not a guess
        if top == "none":
            return (), p, alternatives, "model"  # the message only states facts
        return (top, *(i for i in intents if i != top)), p, alternatives, "model"

    def _rules_decide(
        self,
        intents: tuple[str, ...],
        core: str,
        text: str,
        mentions: Sequence[Mention],
        scam: bool,
    ) -> bool:
        """Whether the rules' reading stands without the model (see the module doc)."""
        if not intents:
            return False
        top = intents[0]
        if scam or top in RULES_ONLY or top == "menu_choice":
            return True
        exact = self._exact.get(core, ()) or self._exact.get(text, ())
        return any(i == top for i, _ in exact)


def _any_of(words: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for "any of these words occurs" (one C-level scan, not one per word)."""
    return re.compile("|".join(map(re.escape, words))) if words else None


def _found(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


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
