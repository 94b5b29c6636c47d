"""Decide which matched words are negated or hypothetical.

Negation in these messages is local: 没有社保, 不是学生, 社保也没有,
社保、公积金都没有.  A negator must sit right before the word (at most
``max_gap`` characters, same clause, nothing meaningful in between) or right
after it at the end of the clause.  ``没有房`` is handled through the
overlapping match 有房 that starts inside 没有.  A clause with 如果/万一 is
hypothetical, and a word right after 有没有/是不是 is only asked about: such
facts describe no one, though their intents still count.  A space is a
statement's end for negation: "不对 支付分690" denies nothing, "社保没交 有套房"
only 社保.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .normalize import Clauses
from .trie import Hit
from .vocab import Term

__all__ = ["Mention", "resolve_mentions"]


@dataclass(frozen=True, slots=True)
class Mention:
    """A matched word in context."""

    start: int
    end: int
    term: Term
    clause: int
    negated: bool = False
    hypothetical: bool = False


def _meaningful(t: Term) -> bool:
    return bool(t.values or t.negatable or t.anchors or t.phrases)


def resolve_mentions(
    selected: Sequence[Hit[Term]],
    every: Sequence[Hit[Term]],
    text: str,
    clauses: Clauses,
    max_gap: int,
    tail: str,
) -> list[Mention]:
    """Turn trie hits into mentions with negation and hypothetical flags.

    :param selected: leftmost-longest hits.
    :param every: all hits, overlapping ones included.
    :param tail: characters that may follow a post-negator at the end of a clause.
    """
    mentions = [Mention(h.start, h.end, h.payload, clauses.index(h.start)) for h in selected]
    negated = [False] * len(mentions)
    asked = [False] * len(mentions)
    extra: list[Mention] = []

    for i, m in enumerate(mentions):
        t = m.term
        if t.negates_next:
            # 没有房: the negated word starts inside the negator.
            for h in every:
                if (
                    m.start < h.start < m.end < h.end
                    and h.payload.negatable
                    and not h.payload.starts_negated
                ):
                    extra.append(Mention(h.start, h.end, h.payload, m.clause, negated=True))
            continue
        if not t.negatable:
            continue
        if i > 0:
            prev = mentions[i - 1]
            if (
                prev.clause == m.clause
                and 0 <= m.start - prev.end <= max_gap
                and not clauses.apart(prev.end, m.start)
            ):
                if prev.term.asks:
                    asked[i] = True  # 有没有社保?
                    continue
                if prev.term.negates_next:
                    negated[i] = True
                    continue
        if i + 1 < len(mentions):
            nxt = mentions[i + 1]
            if (
                nxt.term.negates_previous
                and nxt.clause == m.clause
                and 0 <= nxt.start - m.end <= max_gap
                and _clause_ends(text, nxt.end, clauses.segment_end(nxt.end), tail)
            ):
                negated[i] = True
                if nxt.term.spreads:
                    _spread(mentions, negated, i)

    hypothetical = {m.clause for m in mentions if m.term.hypothetical}
    out = [
        Mention(m.start, m.end, m.term, m.clause, negated[i], asked[i] or m.clause in hypothetical)
        for i, m in enumerate(mentions)
    ]
    if extra:
        out.extend(
            Mention(e.start, e.end, e.term, e.clause, True, e.clause in hypothetical) for e in extra
        )
        out.sort(key=lambda m: m.start)
    return out


def _clause_ends(text: str, pos: int, clause_end: int, tail: str) -> bool:
    return all(ch in tail for ch in text[pos:clause_end])


def _spread(mentions: list[Mention], negated: list[bool], last: int) -> None:
    """社保、公积金都没有: 都/也 negates every same-slot word before it in the clause."""
    slots = set(mentions[last].term.negatable)
    clause = mentions[last].clause
    for j in range(last - 1, -1, -1):
        m = mentions[j]
        if m.clause != clause:
            break
        if slots & set(m.term.negatable):
            negated[j] = True
        elif _meaningful(m.term):
            break
