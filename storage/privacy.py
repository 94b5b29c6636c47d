"""Masking of personal numbers (ID, bank card, mobile) in free text.

Users paste these into chats despite being asked not to. They are masked once, before
anything is stored, logged or handed to a handler, so no later layer can leak them.
The function is idempotent: masked text contains ``*`` and is never matched again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MaskResult", "mask_personal_data"]

# A run of 11+ digits, allowing single spaces or dashes between them ("138 1234 5678",
# "6222-0200-1234-5678") and an ID-card check letter X at the end.
_DIGIT_RUN = re.compile(r"(?<![\d*])(?:\+?86[ -]?)?\d(?:[ -]?\d){10,18}(?:[Xx])?(?![\d*])")
_ID_BODY = re.compile(r"\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]")
_MOBILE = re.compile(r"1[3-9]\d{9}")


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
    if len(digits) == 15 and digits[-1:].isdigit() and digits[6:8] in _OLD_ID_YEARS:
        return f"{digits[:6]}******{digits[-3:]}", "id"
    if 16 <= len(digits) <= 19 and digits.isdigit():
        return f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}", "card"
    return raw, None


# 15-digit IDs (issued before 1999) carry a two-digit birth year in positions 7-8.
_OLD_ID_YEARS = frozenset(f"{year:02d}" for year in range(20, 100))


def mask_personal_data(text: str) -> MaskResult:
    """Return ``text`` with ID, bank-card and mobile numbers masked.

    :param text: free text as the user typed it.
    """
    if not text:
        return MaskResult(text, frozenset())
    kinds: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        masked, kind = _mask_run(match.group(0))
        if kind:
            kinds.add(kind)
        return masked

    masked_text = _DIGIT_RUN.sub(replace, text)
    return MaskResult(masked_text, frozenset(kinds))
