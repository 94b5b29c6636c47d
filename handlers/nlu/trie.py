"""Find every lexicon word in a string with one left-to-right Aho-Corasick pass.

Chinese has no spaces, and the domain vocabulary is closed, so a
leftmost-longest dictionary match does the segmentation that matters
(开通不了 beats 开通, 微信支付分 beats 微信支付) in a few microseconds,
without loading a general-purpose segmenter.

The automaton is ``pyahocorasick``'s (C): it reports every occurrence of
every word, overlapping ones included, in one pass over the message, which
measured half the cost of walking a Python dict-of-dicts trie from each
position (1.8 vs 3.3 µs per message on the labelled examples).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, Final, Generic, NamedTuple, TypeVar

import ahocorasick  # type: ignore[import-not-found]  # no type stubs (a C extension)

__all__ = ["Hit", "TermIndex", "select_longest"]

T = TypeVar("T")

_ASCII_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class Hit(NamedTuple, Generic[T]):
    """One occurrence of a word: ``text[start:end]`` and the word's payload."""

    start: int
    end: int
    payload: T


_new_hit: Final[Any] = tuple.__new__  # Hit without its Python-level __new__: one per word found


class TermIndex(Generic[T]):
    """An Aho-Corasick automaton from words to payloads.

    ASCII words (``ok``, ``hi``, ``we2000``) only match on word boundaries, so
    ``hi`` is not found inside ``this``.  A word given twice keeps its last payload.
    """

    def __init__(self, words: Iterable[tuple[str, T]]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        for word, payload in words:
            if word:
                ascii_word = word.isascii() and word[0] in _ASCII_WORD
                self._automaton.add_word(word, (len(word) - 1, payload, ascii_word))
        self._automaton.make_automaton()
        self._empty = len(self._automaton) == 0

    def scan(self, text: str) -> list[Hit[T]]:
        """Every match, overlapping ones included, ordered by start then length."""
        if self._empty:
            return []
        hits: list[Hit[T]] = []
        for last, (back, payload, ascii_word) in self._automaton.iter(text):
            start = last - back
            if ascii_word and not _bounded(text, start, last + 1):
                continue
            hits.append(_new_hit(Hit, (start, last + 1, payload)))
        if len(hits) > 1:
            hits.sort(key=_span)  # found by end; one word per span, so spans are unique
        return hits


_span: Final = itemgetter(0, 1)


def _bounded(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1] not in _ASCII_WORD) and (
        end == len(text) or text[end] not in _ASCII_WORD
    )


def select_longest(hits: Sequence[Hit[T]]) -> list[Hit[T]]:
    """Leftmost-longest, non-overlapping subset of ``hits`` (as from :meth:`scan`)."""
    chosen: list[Hit[T]] = []
    taken_to = 0
    i = 0
    n = len(hits)
    while i < n:
        start = hits[i].start
        best = hits[i]
        while i < n and hits[i].start == start:
            best = hits[i]  # same start: later is longer
            i += 1
        if start >= taken_to:
            chosen.append(best)
            taken_to = best.end
    return chosen
