"""Turn a raw WeChat message into one canonical string, and split it into clauses.

Phones produce full-width digits (６５０), full-width punctuation, stray spaces,
emoji and WeChat's bracketed stickers ([捂脸]); NFKC plus a few regexes make
all of those look alike, so the matcher needs only one spelling per word.
Known typos (体额, 支付份) are fixed here from the lexicon's table; fuzzy
near-misses are handled later by :mod:`.fuzzy`.

A space is how many users separate two statements ("社保没交 有套房", "借30000 6期"),
so one between two words of two or more characters survives as a single " ": it
ends a number (30000 and 6 stay apart), a word and a post-negator's reach, but not
the clause, so "支付分 700" still binds.  Spaces next to a single character are
spaced-out typing ("支 付 分 7 0 0", "借 5000") and are dropped, like those between
letters and digits ("we 2000").
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Final

import ahocorasick  # type: ignore[import-not-found]  # no type stubs (a C extension)

__all__ = ["MAX_CHARS", "Clauses", "Normalizer"]

MAX_CHARS: Final = 2000
"""Longer messages are cut: WeChat caps text at 2048 characters anyway."""

# WeChat stickers arrive as text such as "[微笑]"; emoji are symbols. Both end a clause.
_STICKER: Final = re.compile(r"\[[^\[\]\s]{1,6}\]")
_EMOJI: Final = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\u3030\u303d]+"
)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: a control character or an emoji: one scan tells whether either substitution has work
_ODD: Final = re.compile(_CONTROL.pattern[:-1] + _EMOJI.pattern[1:-2] + "]")
_THOUSANDS: Final = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACE: Final = re.compile(r"\s")
SOFT_BREAK: Final = " "
"""What a kept space is in the normalised text: a separator inside a clause."""


class Normalizer:
    """Canonicalise text: NFKC, lower case, simplified characters, known typos.

    :param char_map: single-character replacements (traditional -> simplified).
    :param typos: whole-substring replacements, longest first.
    """

    def __init__(self, char_map: Mapping[str, str], typos: Mapping[str, str]) -> None:
        self._table = str.maketrans(dict(char_map))
        # str.translate looks every character up in a dict (~1.5 µs for a short message);
        # one regex scan for a mapped character (rarely there) is a third of that
        self._mapped = (
            re.compile("[" + "".join(re.escape(chr(k)) for k in self._table) + "]")
            if self._table
            else None
        )
        self._typos = dict(typos)
        self._typo_re = (
            re.compile("|".join(re.escape(t) for t in sorted(typos, key=len, reverse=True)))
            if typos
            else None
        )
        # whether any typo occurs: one Aho-Corasick pass, cheaper than the regex's search
        self._typo_words: Any = None
        if typos and all(typos):
            self._typo_words = ahocorasick.Automaton()
            for t in typos:
                self._typo_words.add_word(t, None)
            self._typo_words.make_automaton()

    def __call__(self, text: str) -> str:
        s = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
        if self._mapped is not None and self._mapped.search(s) is not None:
            s = s.translate(self._table)
        odd = _ODD.search(s) is not None
        if odd:
            s = _CONTROL.sub(" ", s)
        if "[" in s:
            s = _STICKER.sub(",", s)
        if odd:  # a sticker's removal adds no emoji: the scan above still holds
            s = _EMOJI.sub(",", s)
        if "," in s:
            s = _THOUSANDS.sub("", s)
        if _SPACE.search(s):
            words = s.split()
            s = _join_words(words) if words else ""
        if self._typo_re is not None and (
            self._typo_words is None or next(self._typo_words.iter(s), None) is not None
        ):
            typos = self._typos
            s = self._typo_re.sub(lambda m: typos[m.group()], s)
        return s


def _join_words(words: list[str]) -> str:
    """Words separated by spaces: keep one between two real words ("ok yes", "社保没交 有套房").

    Dropped next to a single character (spaced-out typing) and between letters and
    digits ("we 2000", "score 700": one name or word and its number).
    """
    out = [words[0]]
    for prev, word in itertools.pairwise(words):
        a, b = prev[-1], word[0]
        glued = (
            a.isascii()
            and b.isascii()
            and a.isalnum()
            and b.isalnum()
            and (a.isalpha() != b.isalpha())
        )
        if len(prev) > 1 and len(word) > 1 and not glued:
            out.append(SOFT_BREAK)
        out.append(word)
    return "".join(out)


class Clauses:
    """Clause spans of a normalised string, split at punctuation.

    Facts are bound to the numbers and negations of their own clause, so
    "没有逾期，查了两次" does not negate the inquiries.  A kept space (see
    :data:`SOFT_BREAK`) splits a clause into segments: a negator reaches no word
    in another segment, so "社保没交 有套房" denies only 社保, while numbers still
    bind to anchors across it.
    """

    __slots__ = ("_soft", "_starts", "spans")

    def __init__(self, text: str, breaks: re.Pattern[str]) -> None:
        spans: list[tuple[int, int]] = []
        start = 0
        if breaks.search(text) is None:  # one clause: most messages
            spans.append((0, len(text)))
        else:
            for m in breaks.finditer(text):
                if m.start() > start:
                    spans.append((start, m.start()))
                start = m.end()
            if start < len(text) or not spans:
                spans.append((start, len(text)))
        self.spans: Sequence[tuple[int, int]] = spans
        self._starts = [s for s, _ in spans]
        self._soft: list[int] = (
            [i for i, ch in enumerate(text) if ch == SOFT_BREAK] if SOFT_BREAK in text else []
        )

    @staticmethod
    def pattern(breaks: Sequence[str]) -> re.Pattern[str]:
        """Compile the clause separator; a '.' between digits is a decimal point."""
        alternatives = [re.escape(b) for b in sorted(breaks, key=len, reverse=True)]
        alternatives += [r"(?<!\d)\.", r"\.(?!\d)"]
        return re.compile("|".join(alternatives))

    def index(self, pos: int) -> int:
        """The clause that contains position ``pos``."""
        if len(self._starts) == 1:
            return 0
        return max(bisect.bisect_right(self._starts, pos) - 1, 0)

    def span_of(self, pos: int) -> tuple[int, int]:
        return self.spans[self.index(pos)]

    def segment_end(self, pos: int) -> int:
        """Where the segment containing ``pos`` ends: its clause's end or the next space."""
        end = self.spans[self.index(pos)][1]
        if self._soft:
            i = bisect.bisect_left(self._soft, pos)
            if i < len(self._soft) and self._soft[i] < end:
                return self._soft[i]
        return end

    def first_segment(self) -> tuple[int, int]:
        """The first clause up to its first space: the reply's opening words."""
        first = self.spans[0]
        if not self._soft:
            return first
        return first[0], self.segment_end(first[0])

    def apart(self, start: int, end: int) -> bool:
        """Whether a space separates ``start`` from ``end`` (``start`` <= ``end``)."""
        if not self._soft:
            return False
        i = bisect.bisect_left(self._soft, start)
        return i < len(self._soft) and self._soft[i] < end
