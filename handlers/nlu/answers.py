"""Read bare answers: yes / no, "don't know", a menu number, or a lone value.

The bot asks one question at a time, so "六百八", "两次" or "没有" only make
sense against the field it just asked about (``expecting``).  This module
turns such replies into slot values, after the anchored readings have had
their say: an explicit "查了两次" always beats the bare-answer guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .lexicon import AnswerValue, Lexicon
from .measures import MeasureReader, MeasureResult
from .model import SLOT_KINDS
from .normalize import Clauses
from .numbers import Quantity

__all__ = ["AnswerReader", "BareAnswer"]

_PUNCT = "!?,.;:~、。，；：…'\"()[]<>-_*#@&^%$/\\|"

# Which units a bare reply may carry for each kind of slot.
_ACCEPTS: dict[str, frozenset[str | None]] = {
    "score": frozenset({None, "score"}),
    "count": frozenset({None, "count"}),
    "frequency": frozenset({None, "count"}),
    "duration": frozenset({None, "duration"}),
    "periods": frozenset({None, "period", "duration", "count"}),
    "money": frozenset({None, "money"}),
    "term": frozenset({None, "period", "duration"}),
    "rate": frozenset({None, "percent", "per10k", "points"}),
    "days_ago": frozenset({None, "duration"}),
}


class BareAnswer:
    """The conversational reading of a message: yes/no, skip, menu choice."""

    __slots__ = ("choice", "core", "first", "yes_no")

    def __init__(self, core: str, first: str, yes_no: bool | None, choice: int | None) -> None:
        self.core = core  # whole message without punctuation and trailing particles
        self.first = first  # the same for the first clause
        self.yes_no = yes_no
        self.choice = choice


class AnswerReader:
    """Interpret short replies, optionally against the field being asked."""

    def __init__(self, lex: Lexicon, measures: MeasureReader) -> None:
        # 嗯嗯嗯, 对对对, 好的好的: a yes/no word said several times counts too.
        self._yes = _with_repeats(lex.yes)
        self._no = _with_repeats(lex.no)
        self._strip = _PUNCT + " " + lex.particles
        self._particles = lex.particles
        self._specs = lex.slots
        self._measures = measures
        self._digit_values = {k: v for k, v in lex.digits.items() if v > 0}
        digits = "".join(re.escape(k) for k in self._digit_values)
        prefix = "|".join(re.escape(p) for p in sorted(lex.menu_prefixes, key=len, reverse=True))
        suffix = "|".join(re.escape(p) for p in sorted(lex.menu_suffixes, key=len, reverse=True))
        self._menu = re.compile(
            rf"^(?:{prefix or '(?!)'})?([1-9]|[{digits}])(?:{suffix or '(?!)'})?$"
        )
        self._max_choice = lex.menu_max_choice
        #: the longest text the menu pattern can match (a prefix, one digit, a suffix)
        self._menu_max = (
            max(map(len, lex.menu_prefixes), default=0)
            + 1
            + max(map(len, lex.menu_suffixes), default=0)
        )

    def read(self, text: str, clauses: Clauses) -> BareAnswer:
        """Yes/no and menu choice of a normalised message."""
        core = self._core(text)
        s, e = clauses.first_segment()
        first = core if s == 0 and e == len(text) else self._core(text[s:e])
        yes_no = self._polarity(core)
        if yes_no is None and first != core:
            yes_no = self._polarity(first)
        choice = None
        m = self._menu.match(core) if len(core) <= self._menu_max else None
        if m:
            n = m.group(1)
            value = int(n) if n.isdigit() else self._digit_values[n]
            choice = value if value <= self._max_choice else None
        return BareAnswer(core, first, yes_no, choice)

    def _core(self, text: str) -> str:
        core = text.strip(self._strip)
        # Drop trailing particles (有的啊 -> 有的) but keep a reply made only of them (嗯).
        while len(core) > 1 and core[-1] in self._particles:
            core = core[:-1].rstrip(self._strip)
        return core

    def _polarity(self, core: str) -> bool | None:
        if not core:
            return None
        if core in self._yes:
            return True
        if core in self._no:
            return False
        return None

    # --- expecting --------------------------------------------------------

    def expected_value(
        self,
        expecting: str,
        answer: BareAnswer,
        free: Sequence[Quantity],
        out: MeasureResult,
    ) -> AnswerValue | None:
        """A value for ``expecting`` from a bare reply, or None.

        Numbers go straight into ``out`` (they need range and limit handling);
        other values are returned for the caller to store.
        """
        kind = SLOT_KINDS.get(expecting)
        spec = self._specs.get(expecting)
        if kind is None:
            return None
        if spec is not None:
            for value, words in spec.expect_values.items():
                if any(answer.first.startswith(w) or answer.core == w for w in words):
                    return _typed(kind, value)
        accepts = _ACCEPTS.get(kind)
        if accepts is not None:
            for q in free:
                if q.unit in accepts and self._measures.take_bare(out, expecting, kind, q):
                    return None
        if answer.yes_no is None:
            return None
        preset = None if spec is None else (spec.expect_yes if answer.yes_no else spec.expect_no)
        if preset is not None:
            return _typed(kind, preset)
        if kind == "bool":
            return answer.yes_no
        return None


def _typed(kind: str, value: AnswerValue) -> AnswerValue:
    if kind == "bool" and isinstance(value, str):
        return value == "true"
    return value


def _with_repeats(words: Sequence[str], longest: int = 8) -> frozenset[str]:
    return frozenset(w * k for w in words for k in range(1, max(2, longest // len(w) + 1)))
