"""Spot the scripts of loan scams, even inside an otherwise ordinary message.

Some words give a scam away on their own (解冻费, 安全账户, 刷流水).
Others are innocent alone and damning together: 手续费 is a fair question,
先交手续费才能放款 is the advance-fee scam.  Those are lexicon *pairs*: a
word from ``a`` and one from ``b`` within ``window`` characters.  Negation
is ignored on purpose: "他没说要交保证金吗" still deserves the warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .lexicon import Lexicon, ScamPair
from .mentions import Mention

__all__ = ["ScamDetector"]


class ScamDetector:
    """Return the ids of scam patterns present in a normalised message."""

    def __init__(self, lex: Lexicon) -> None:
        self._order = [s.id for s in lex.scams]
        self._pairs = [(s.id, p) for s in lex.scams for p in s.pairs]

    def detect(self, text: str, mentions: Iterable[Mention]) -> tuple[str, ...]:
        """Pattern ids, in lexicon order."""
        found: set[str] = set()
        for m in mentions:
            found.update(m.term.scams)
        for scam_id, pair in self._pairs:
            if scam_id not in found and _pair_found(text, pair):
                found.add(scam_id)
        return tuple(i for i in self._order if i in found)


def _spans(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for w in words:
        pos = text.find(w)
        while pos != -1:
            out.append((pos, pos + len(w)))
            pos = text.find(w, pos + 1)
    return out


def _pair_found(text: str, pair: ScamPair) -> bool:
    a = _spans(text, pair.a)
    if not a:
        return False
    b = _spans(text, pair.b)
    for sa, ea in a:
        for sb, eb in b:
            gap = sb - ea if sb >= ea else sa - eb if sa >= eb else 0
            if gap <= pair.window:
                return True
    return False
