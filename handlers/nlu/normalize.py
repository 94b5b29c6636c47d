"""Turn a raw WeChat message into one canonical string, and split it into clauses.

Phones produce full-width digits (６５０), full-width punctuation, stray spaces,
emoji and WeChat's bracketed stickers ([捂脸]); NFKC plus a few regexes make
all of those look alike, so the matcher needs only one spelling per word.
Known typos (体额, 支付份) are fixed here from the lexicon's table; fuzzy
near-misses are handled later by :mod:`.fuzzy`.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Final

__all__ = ["MAX_CHARS", "Clauses", "Normalizer"]

MAX_CHARS: Final = 2000
"""Longer messages are cut: WeChat caps text at 2048 characters anyway."""

# WeChat stickers arrive as text such as "[微笑]"; emoji are symbols. Both end a clause.
_STICKER: Final = re.compile(r"\[[^\[\]\s]{1,6}\]")
_EMOJI: Final = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\ufe0f\u200d\u3030\u303d]+"
)
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_THOUSANDS: Final = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# A space survives only between two ASCII letters ("ok yes"); "7 0 0" is 700.
_KEEP_SPACE: Final = re.compile(r"(?<=[a-z])\s+(?=[a-z])")
_SPACE: Final = re.compile(r"\s+")


class Normalizer:
    """Canonicalise text: NFKC, lower case, simplified characters, known typos.

    :param char_map: single-character replacements (traditional -> simplified).
    :param typos: whole-substring replacements, longest first.
    """

    def __init__(self, char_map: Mapping[str, str], typos: Mapping[str, str]) -> None:
        self._table = str.maketrans(dict(char_map))
        self._typos = dict(typos)
        self._typo_re = (
            re.compile("|".join(re.escape(t) for t in sorted(typos, key=len, reverse=True)))
            if typos
            else None
        )

    def __call__(self, text: str) -> str:
        s = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower().translate(self._table)
        s = _CONTROL.sub(" ", s)
        if "[" in s:
            s = _STICKER.sub(",", s)
        s = _EMOJI.sub(",", s)
        if "," in s:
            s = _THOUSANDS.sub("", s)
        s = _KEEP_SPACE.sub("\x01", s)
        s = _SPACE.sub("", s).replace("\x01", " ")
        if self._typo_re is not None:
            typos = self._typos
            s = self._typo_re.sub(lambda m: typos[m.group()], s)
        return s


class Clauses:
    """Clause spans of a normalised string, split at punctuation.

    Facts are bound to the numbers and negations of their own clause, so
    "没有逾期，查了两次" does not negate the inquiries.
    """

    __slots__ = ("_starts", "spans")

    def __init__(self, text: str, breaks: re.Pattern[str]) -> None:
        spans: list[tuple[int, int]] = []
        start = 0
        for m in breaks.finditer(text):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if start < len(text) or not spans:
            spans.append((start, len(text)))
        self.spans: Sequence[tuple[int, int]] = spans
        self._starts = [s for s, _ in spans]

    @staticmethod
    def pattern(breaks: Sequence[str]) -> re.Pattern[str]:
        """Compile the clause separator; a '.' between digits is a decimal point."""
        alternatives = [re.escape(b) for b in sorted(breaks, key=len, reverse=True)]
        alternatives += [r"(?<!\d)\.", r"\.(?!\d)", " "]
        return re.compile("|".join(alternatives))

    def index(self, pos: int) -> int:
        """The clause that contains position ``pos``."""
        return max(bisect.bisect_right(self._starts, pos) - 1, 0)

    def span_of(self, pos: int) -> tuple[int, int]:
        return self.spans[self.index(pos)]
