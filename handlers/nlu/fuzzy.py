"""Repair one-character typos of key words (徽粒贷 -> 微粒贷, 综合平分不足).

Only words of three or more characters listed in the lexicon's ``[fuzzy]
terms`` are eligible: for two-character words a single edit is usually
another real word (提额 / 体额 is a typo, 逾期 / 预期 is not), so those
typos are listed explicitly in ``[normalize] typos`` instead.

A character index first keeps only the words whose characters nearly all
occur in the message, and only the windows where those characters line up;
for those few, ``rapidfuzz`` computes the edit distance in one C call
(``process.extractOne`` with ``Levenshtein.distance`` and a cutoff of 1),
which also catches a dropped or doubled character in words of four or more.
Screening every message with ``process.extract(partial_ratio)`` instead
measured ~17 µs, a sixth of the whole budget, so it is not used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Generic, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .trie import Hit

__all__ = ["FuzzyCorrector"]

T = TypeVar("T")


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


class FuzzyCorrector(Generic[T]):
    """Replace near-misses of the given words in a normalised string.

    A window is not repaired when exact lexicon matches already explain it
    (我是学生 is not a typo of 大学生; 微信支付用了 is not 微信支付分 + 了): when
    a two-character-or-longer match crosses its edge, or covers all of it
    but one character.

    :param terms: words to repair towards (three characters or more).
    :param keep: real words that must never be "corrected" (微信贷).
    :param max_text: longer messages are left alone to bound the cost.
    """

    def __init__(self, terms: Sequence[str], keep: Collection[str], max_text: int) -> None:
        self._terms = [t for t in dict.fromkeys(terms) if len(t) >= 3]
        self._keep = frozenset(keep)
        self._max_text = max_text
        index: dict[str, list[int]] = {}
        for i, term in enumerate(self._terms):
            for ch in set(term):
                index.setdefault(ch, []).append(i)
        self._index = {ch: tuple(ids) for ch, ids in index.items()}
        self._need = [len(set(t)) - 1 for t in self._terms]

    def __call__(self, text: str, hits: Sequence[Hit[T]]) -> str:
        """``text`` with at most one near-miss repaired; ``hits`` are its exact matches."""
        if not self._terms or len(text) < 3 or len(text) > self._max_text:
            return text
        counts: dict[int, int] = {}
        index = self._index
        for ch in set(text):
            for i in index.get(ch, ()):
                counts[i] = counts.get(i, 0) + 1
        for i, n in counts.items():
            if n < self._need[i]:
                continue
            term = self._terms[i]
            if term in text:
                continue
            repaired = self._repair(text, term, hits)
            if repaired is not None:
                return repaired  # offsets of ``hits`` are stale now: one repair per message
        return text

    def _repair(self, text: str, term: str, hits: Sequence[Hit[T]]) -> str | None:
        n = len(term)
        shifts, sizes = ((-1, 0, 1), (n - 1, n, n + 1)) if n >= 4 else ((0,), (n,))
        # Window starts where n-1 of the term's characters line up (within one
        # position, for a dropped or doubled character).
        votes: dict[int, int] = {}
        for j, ch in enumerate(term):
            pos = text.find(ch)
            while pos != -1:
                for d in shifts:
                    votes[pos - j + d] = votes.get(pos - j + d, 0) + 1
                pos = text.find(ch, pos + 1)
        windows = [
            (i, k) for i, v in votes.items() if v >= n - 1 for k in sizes if 0 <= i <= len(text) - k
        ]
        if not windows:
            return None
        best = process.extractOne(
            term,
            [text[i : i + k] for i, k in windows],
            scorer=Levenshtein.distance,
            processor=None,
            score_cutoff=1,
        )
        if best is None:
            return None
        window, distance, pos = best
        start, size = windows[pos]
        end = start + size
        if distance != 1 or window in self._keep or not any(map(_cjk, window)):
            return None
        if size == n and not all(_cjk(a) for a, b in zip(term, window, strict=True) if a != b):
            return None
        covered = 0
        for h in hits:
            if h.end - h.start < 2 or h.end <= start or h.start >= end:
                continue
            if h.start < start or h.end > end:
                return None  # a real word crosses the window's edge
            covered += h.end - h.start
        if covered >= size - 1:
            return None  # real words already explain the window
        return text[:start] + term + text[end:]
