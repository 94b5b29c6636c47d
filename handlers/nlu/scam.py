"""Spot the scripts of loan scams, even inside an otherwise ordinary message.

Some words give a scam away on their own (解冻费, 安全账户, 刷流水).
Others are innocent alone and damning together: 手续费 is a fair question,
先交手续费才能放款 is the advance-fee scam.  Those are lexicon *pairs*: a
word from ``a`` and one from ``b`` within ``window`` characters.  Negation
is ignored on purpose: "didn't he ask for a deposit?" still deserves the warning.

The pair words (hundreds of them, in over a dozen pairs) are found in one
Aho-Corasick pass over the message (``pyahocorasick``, in C), not one search per
word or per pair, which keeps the check to a microsecond or two as the lists grow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import ahocorasick  # type: ignore[import-not-found]  # no type stubs (a C extension)

from .lexicon import Lexicon
from .mentions import Mention

__all__ = ["ScamDetector"]

_Span = tuple[int, int]


class ScamDetector:
    """Return the ids of scam patterns present in a normalised message."""

    def __init__(self, lex: Lexicon) -> None:
        self._order = [s.id for s in lex.scams]
        #: (scam id, window) of every pair, by pair number
        self._pairs = [(s.id, p.window) for s in lex.scams for p in s.pairs]
        owners: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        number = 0
        for scam in lex.scams:
            for pair in scam.pairs:
                for side, words in enumerate((pair.a, pair.b)):
                    for w in dict.fromkeys(words):
                        owners[w].append((number, side))
                number += 1
        #: every pair word -> (its length - 1, the (pair number, side)s it belongs to)
        self._words: Any = ahocorasick.Automaton()
        for w, owned in owners.items():
            if w:
                self._words.add_word(w, (len(w) - 1, tuple(owned)))
        self._any_words = len(self._words) > 0
        if self._any_words:
            self._words.make_automaton()

    def detect(self, text: str, mentions: Iterable[Mention]) -> tuple[str, ...]:
        """Pattern ids, in lexicon order."""
        found: set[str] = set()
        for m in mentions:
            if m.term.scams:
                found.update(m.term.scams)
        spans = self._spans(text)
        for number, side in spans:
            if side:
                continue  # each pair once, from its first side
            scam_id, window = self._pairs[number]
            if scam_id in found:
                continue
            b = spans.get((number, 1))
            if b and _near(spans[(number, 0)], b, window):
                found.add(scam_id)
        return tuple(i for i in self._order if i in found) if found else ()

    def _spans(self, text: str) -> dict[tuple[int, int], list[_Span]]:
        """Every occurrence of every pair word in ``text``, by (pair number, side)."""
        out: defaultdict[tuple[int, int], list[_Span]] = defaultdict(list)
        if not self._any_words:
            return out
        for last, (back, owned) in self._words.iter(text):
            span = (last - back, last + 1)
            for owner in owned:
                out[owner].append(span)
        return out


def _near(a: list[_Span], b: list[_Span], window: int) -> bool:
    """Some span of ``a`` and some span of ``b`` at most ``window`` characters apart."""
    for sa, ea in a:
        for sb, eb in b:
            gap = sb - ea if sb >= ea else sa - eb if sa >= eb else 0
            if gap <= window:
                return True
    return False
