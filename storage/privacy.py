"""Masking of personal numbers (ID, bank card, mobile) in free text.

Users paste these into chats despite being asked not to. They are masked once, before
anything is stored, logged or handed to a handler, so no later layer can leak them.

What is matched (after folding full-width digits, ``Ｘ``, brackets, ``＋－．／``, dashes and
the ideographic space to ASCII, one character for one, so positions hold in the original):

* **Mobile**: 11 digits ``1[3-9]…``, optionally after ``+86``, ``86``, ``0086`` or
  ``(+86)``; unbroken or grouped 3-4-4, 3-8, 7-4 or 4-4-3, the first group may be bracketed
  (``(139)8765-4321``). Masked ``139****4321``; the prefix is dropped.
* **ID card**: 18 characters (last may be ``X``) whose body reads as a province code and a
  birth date ``19xx/20xx MMDD``, unbroken or grouped 6-8-4 / 6-4-4-4; the old 15-digit card
  (two-digit year 20–99, then ``MMDD``), unbroken or 6-6-3. Masked ``110101********123X``
  and ``110101******123``.
* **Bank card**: an unbroken run of 16–19 digits, or 4-4-4-4 with an optional last group of
  1–3 digits. Masked ``6222***********8901``.

A separator between groups is a space, ``-``, ``.`` or ``/`` (with a space on either side at
most) or two spaces. A number counts wherever it stands, next to ``*``, ``#``, brackets,
letters or Chinese text; only a digit directly before or after it stops it, so a number is
never cut out of a longer run (a 20-digit id is not a card).

Left alone on purpose: dates (``2024-01-15``, ``2024.1.15``, ``20240115``), amounts
(``10,000``, ``12000.50``, ``1.5万``), times, scores: their groups never have the sizes
above, and a mixed grouping such as 8-8 (two dates) is not accepted as a card.

Idempotent: ``mask(mask(x)) == mask(x)``. The shapes masking produces (``ddd****dddd``,
``dddddd********dddX``, ``dddddd******ddd``, ``dddd********dddd``) are blanked out before
matching, and the blank counts as a digit for the boundary checks, so no number can be
assembled from the digits a mask keeps; a mask that would end up glued to a digit on its left
(``…4321+86 139…``: the dropped prefix was the only gap) is preceded by a space.

Cost: a text with fewer than 11 digits (most messages) is turned away by one linear scan; the
others get one fold (only if they hold full-width characters) and one scan, in which most
positions fail on a one-character look-ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MaskResult", "mask_personal_data"]

# Full-width forms as Chinese IMEs type them, folded to ASCII for matching only; the mapping
# is one character to one character, so match positions hold in the original.
_FOLD_FROM = "０１２３４５６７８９Ｘｘ\u3000\u00a0\t（）【】［］〔〕＋－．／\u2010\u2011\u2012\u2013\u2014\u2015"
_FOLD_TO = "0123456789Xx   ()[][]()+-./------"
_FOLD = str.maketrans(_FOLD_FROM, _FOLD_TO)
_WIDE = re.compile(f"[{re.escape(_FOLD_FROM)}]")

# At least 11 digits somewhere (the shortest number, a mobile): one linear, atomic scan.
_ENOUGH_DIGITS = re.compile(r"[^0-9０-９]*+(?:[0-9０-９][^0-9０-９]*+){11}")

# What masking produces; blanked out (with _BLANK, which the boundaries treat as a digit)
# before matching, so masked text is never matched again.
_BLANK = "\x00"
_MASKED = re.compile(
    r"(?<![0-9])(?:[0-9]{6}\*{8}[0-9]{3}[0-9Xx]|[0-9]{6}\*{6}[0-9]{3}"
    r"|[0-9]{4}\*{8,11}[0-9]{4}|[0-9]{3}\*{4}[0-9]{4})"
)

_S = r"(?:\ [-./]?\ ?|[-./]\ ?)"  # one separator between groups, as people type it
_OPEN, _CLOSE = r"[(\[]", r"[)\]]"
_PROVINCE = r"(?:1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-3]|91)"
_MMDD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID18 = rf"{_PROVINCE}[0-9]{{4}}{_S}?(?:19|20)[0-9]{{2}}{_S}?{_MMDD}{_S}?[0-9]{{3}}[0-9Xx]"
_ID15 = rf"{_PROVINCE}[0-9]{{4}}{_S}?[2-9][0-9]{_MMDD}{_S}?[0-9]{{3}}"
_MOBILE = (
    rf"(?:{_OPEN}?(?:\+|00)?86{_CLOSE}?{_S}?)?"  # +86, 86, 0086, (+86)
    rf"(?:1[3-9][0-9](?:{_S}?[0-9]{{4}}{_S}?[0-9]{{4}}|[0-9]{_S}[0-9]{{4}}{_S}[0-9]{{3}})"
    rf"|{_OPEN}1[3-9][0-9]{_CLOSE}{_S}?[0-9]{{4}}{_S}?[0-9]{{4}})"
)
_CARD = rf"[0-9]{{16,19}}|[0-9]{{4}}(?:{_S}[0-9]{{4}}){{3}}(?:{_S}[0-9]{{1,3}})?"
_CANDIDATE = re.compile(
    r"(?=[0-9(\[+])"  # a cheap first test, so most positions fail at once
    rf"(?:(?<![0-9{_BLANK}])|(?![0-9]))"  # not cut out of a longer run of digits
    rf"(?:(?P<id>{_ID18})|(?P<old_id>{_ID15})|(?P<mobile>{_MOBILE})|(?P<card>{_CARD}))"
    rf"(?![0-9{_BLANK}])"
)
_NOT_DIGIT = re.compile(r"[^0-9Xx]")
_GLUE = frozenset("0123456789" + _BLANK)


@dataclass(frozen=True, slots=True)
class MaskResult:
    """Masked text and the kinds of personal data found (``id``, ``card``, ``mobile``)."""

    text: str
    kinds: frozenset[str]


def _masked(kind: str, raw: str) -> str:
    digits = _NOT_DIGIT.sub("", raw)
    if kind == "mobile":
        digits = digits[-11:]  # without the country prefix
        return f"{digits[:3]}****{digits[-4:]}"
    if kind == "id":
        return f"{digits[:6]}********{digits[-4:]}"
    if kind == "old_id":
        return f"{digits[:6]}******{digits[-3:]}"
    return f"{digits[:4]}{'*' * (len(digits) - 8)}{digits[-4:]}"


def mask_personal_data(text: str) -> MaskResult:
    """Return ``text`` with ID, bank-card and mobile numbers masked.

    :param text: free text as the user typed it.
    """
    if not text or _ENOUGH_DIGITS.match(text) is None:
        return MaskResult(text, frozenset())
    folded = text.translate(_FOLD) if _WIDE.search(text) else text
    if "*" in folded:
        folded = _MASKED.sub(lambda m: _BLANK * len(m.group()), folded)
    kinds: set[str] = set()
    pieces: list[str] = []
    last = 0
    for match in _CANDIDATE.finditer(folded):
        kind = match.lastgroup or "card"
        kinds.add("id" if kind == "old_id" else kind)
        start = match.start()
        pieces.append(text[last:start])
        if start and folded[start - 1] in _GLUE:  # "…4321+86 139…": keep the two apart
            pieces.append(" ")
        pieces.append(_masked(kind, match.group()))
        last = match.end()
    if not kinds:
        return MaskResult(text, frozenset())
    pieces.append(text[last:])
    return MaskResult("".join(pieces), frozenset(kinds))
