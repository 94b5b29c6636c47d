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
from functools import partial
from operator import attrgetter
from typing import Any, Final, NamedTuple

from .normalize import Clauses
from .trie import Hit
from .vocab import Term

__all__ = ["Mention", "resolve_mentions"]


class Mention(NamedTuple):
    """A matched word in context (a tuple: one is built per word of every message)."""

    start: int
    end: int
    term: Term
    clause: int
    negated: bool = False
    hypothetical: bool = False


_start: Final = attrgetter("start")
#: a Mention from a 6-tuple without NamedTuple's Python-level __new__ (one per word found)
_mention: Final[Any] = partial(tuple.__new__, Mention)


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
    n = len(selected)
    if not n:
        return []
    if len(clauses.spans) == 1:
        clause = [0] * n  # one clause: most messages
    else:
        where = clauses.index
        clause = [where(h.start) for h in selected]
    negated = [False] * n
    asked = [False] * n
    extra: list[Mention] = []

    for i, (start, end, t) in enumerate(selected):
        if t.negates_next:
            # 没有房: the negated word starts inside the negator.
            for h in every:
                if (
                    start < h.start < end < h.end
                    and h.payload.negatable
                    and not h.payload.starts_negated
                ):
                    extra.append(Mention(h.start, h.end, h.payload, clause[i], True))
            continue
        if not t.negatable:
            continue
        if i > 0:
            prev = selected[i - 1]
            if (
                clause[i - 1] == clause[i]
                and 0 <= start - prev.end <= max_gap
                and not clauses.apart(prev.end, start)
            ):
                if prev.payload.asks:
                    asked[i] = True  # 有没有社保?
                    continue
                if prev.payload.negates_next:
                    negated[i] = True
                    continue
        if i + 1 < n:
            nxt = selected[i + 1]
            if (
                nxt.payload.negates_previous
                and clause[i + 1] == clause[i]
                and 0 <= nxt.start - end <= max_gap
                and _clause_ends(text, nxt.end, clauses.segment_end(nxt.end), tail)
            ):
                negated[i] = True
                if nxt.payload.spreads:
                    _spread(selected, clause, negated, i)

    hypothetical = {clause[i] for i, h in enumerate(selected) if h.payload.hypothetical}
    if hypothetical:
        for i, c in enumerate(clause):
            if c in hypothetical:
                asked[i] = True  # a hypothetical clause states nothing either
    # (start, end, term) of each hit + its clause and flags, as one tuple per mention
    out: list[Mention] = list(map(_mention, zip(*zip(*selected), clause, negated, asked)))
    if extra:
        out.extend(
            Mention(e.start, e.end, e.term, e.clause, True, e.clause in hypothetical) for e in extra
        )
        out.sort(key=_start)
    return out


def _clause_ends(text: str, pos: int, clause_end: int, tail: str) -> bool:
    return all(ch in tail for ch in text[pos:clause_end])


def _spread(selected: Sequence[Hit[Term]], clause: list[int], negated: list[bool], last: int) -> None:
    """"Neither social security nor a fund": 都/也 negates each same-slot word before it."""
    slots = set(selected[last].payload.negatable)
    here = clause[last]
    for j in range(last - 1, -1, -1):
        if clause[j] != here:
            break
        t = selected[j].payload
        if slots & set(t.negatable):
            negated[j] = True
        elif _meaningful(t):
            break
