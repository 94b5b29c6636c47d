"""Splitting long answers into WeChat-sized pages at sentence boundaries.

A passive text reply may carry at most 2048 bytes of UTF-8. Longer answers are cut at the
end of a sentence or line, each page but the last gets a footer asking for "更多", and the
remaining pages wait in the session.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["MAX_REPLY_BYTES", "paginate"]

MAX_REPLY_BYTES = 2048

# Split after sentence-ending punctuation (keeping it) or at line breaks.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\n)")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _hard_split(piece: str, budget: int) -> list[str]:
    """Cut a sentence longer than a page at character boundaries."""
    chunks: list[str] = []
    current = ""
    for char in piece:
        if _size(current + char) > budget:
            chunks.append(current)
            current = ""
        current += char
    if current:
        chunks.append(current)
    return chunks


def paginate(
    text: str,
    footer: Callable[[int, int], str],
    limit: int = MAX_REPLY_BYTES,
) -> list[str]:
    """Return the pages of ``text``; each is at most ``limit`` bytes including its footer.

    :param footer: renders the footer for page ``n`` of ``total`` (1-based).
    """
    if _size(text) <= limit:
        return [text]
    widest_footer = _size(footer(999, 999))
    budget = limit - widest_footer - 1  # 1 byte for the newline before the footer
    if budget < 16:
        raise ValueError("footer leaves no room for text")
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces.extend(_hard_split(sentence, budget) if _size(sentence) > budget else [sentence])
    bodies: list[str] = []
    current = ""
    for piece in pieces:
        if current and _size(current + piece) > budget:
            bodies.append(current)
            current = ""
        current += piece
    if current.strip():
        bodies.append(current)
    total = len(bodies)
    pages = []
    for number, body in enumerate(bodies, start=1):
        body = body.strip("\n")
        pages.append(body if number == total else f"{body}\n{footer(number, total)}")
    # The last page has no footer; if it now fits the limit it is already final.
    return pages
