"""Masking of personal numbers (ID, bank card, mobile) in free text.

Users paste these into chats despite being asked not to. They are masked once, before
anything is stored, logged or handed to a handler, so no later layer can leak them.
The function is idempotent: masked text contains ``*`` and is never matched again.

What counts as one number: an unbroken run of 11–19 digits (an ID may end in ``X``), or
the groupings people actually type — ``138 1234 5678`` or ``138 12345678`` for a
mobile, ``110101 19900307 123X`` for an ID, ``6222 0200 1234
5678`` for a card, ``+86`` in front. Other separated digits (dates, amounts next to each
other) are left alone. Full-width digits and ideographic spaces, as Chinese IMEs produce
them, are matched the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MaskResult", "mask_personal_data"]

# Full-width digits / X and the ideographic space, folded to ASCII for matching only; the
# mapping is one character to one character, so match positions hold in the original.
_FOLD = str.maketrans("０１２３４５６７８９Ｘｘ\u3000", "0123456789Xx ")

_SEP = r"[ \-]"
_CANDIDATE = re.compile(
    rf"""(?<![\d*])(?:
        (?:\+?86{_SEP}?)?1[3-9]\d{_SEP}\d{{4}}{_SEP}?\d{{4}}       # mobile, 3-4-4 or 3-8
      | \d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXx]                      # ID, grouped 6-8-4
      | \d{{4}}(?:{_SEP}\d{{4}}){{3}}(?:{_SEP}\d{{1,4}})?        # card, grouped by 4
      | (?:\+?86{_SEP}?)?\d{{11,19}}[Xx]?                        # any unbroken long run
    )(?![\d*])""",
    re.VERBOSE,
)
_ID_BODY = re.compile(r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
# 15-digit IDs (issued before 1999) carry a two-digit birth year in positions 7-8.
_OLD_ID_YEARS = frozenset(f"{year:02d}" for year in range(20, 100))


@dataclass(frozen=True, slots=True)
class MaskResult:
    """Masked text and the kinds of personal data found (``id``, ``card``, ``mobile``)."""

    text: str
    kinds: frozenset[str]


def _mask_run(raw: str) -> tuple[str, str | None]:
    digits = re.sub(r"[ \-+]", "", raw)
    if digits.startswith("86") and len(digits) == 13 and _MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    if len(digits) == 11 and _MOBILE.fullmatch(digits):
        return f"{digits[:3]}****{digits[-4:]}", "mobile"
    if len(digits) == 18 and _ID_BODY.fullmatch(digits):
        return f"{digits[:6]}********{digits[-4:]}", "id"
    if len(digits) == 15 and digits.isdigit() and digits[6:8] in _OLD_ID_YEARS:
        return f"{digits[:6]}******{digits[-3:]}", "id"
    if 16 <= len(digits) <= 19 and digits.isdigit():
        return f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}", "card"
    return raw, None


def mask_personal_data(text: str) -> MaskResult:
    """Return ``text`` with ID, bank-card and mobile numbers masked.

    :param text: free text as the user typed it.
    """
    if not text:
        return MaskResult(text, frozenset())
    folded = text.translate(_FOLD)
    kinds: set[str] = set()
    pieces: list[str] = []
    last = 0
    for match in _CANDIDATE.finditer(folded):
        masked, kind = _mask_run(match.group(0))
        if kind is None:
            continue
        kinds.add(kind)
        pieces.append(text[last : match.start()])
        pieces.append(masked)
        last = match.end()
    if not kinds:
        return MaskResult(text, frozenset())
    pieces.append(text[last:])
    return MaskResult("".join(pieces), frozenset(kinds))
