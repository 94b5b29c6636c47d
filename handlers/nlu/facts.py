"""Closed-set facts: categories, flags and material lists, from matched words.

When a message mentions two values of one slot, the lexicon says which wins:
``worst`` for overdue (以前逾期过，现在还有逾期 -> current, the safe reading),
``last`` for most (a later statement corrects an earlier one), ``first``
where the first mention is the considered answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .lexicon import AnswerValue, SlotSpec
from .mentions import Mention
from .model import SLOT_KINDS

__all__ = ["FactResult", "read_facts"]


@dataclass
class FactResult:
    """Facts read from words, before quantities and bare answers are added."""

    slots: dict[str, object] = field(default_factory=dict)
    negated: set[str] = field(default_factory=set)
    negated_values: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def read_facts(mentions: Sequence[Mention], specs: Mapping[str, SlotSpec]) -> FactResult:
    """Collect slot values from mentions, honouring negation and hypotheticals."""
    for m in mentions:
        t = m.term
        if not m.hypothetical and (t.values or t.negatable or t.phrases):
            break
    else:
        return FactResult()  # no word states a fact
    result = FactResult()
    candidates: defaultdict[str, list[AnswerValue]] = defaultdict(list)
    # set slots: the words that denied / stated each member (有社保 没公积金 keeps
    # social_security: another of its words is stated)
    denied_members: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    stated_members: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for m in mentions:
        t = m.term
        if m.hypothetical or not (t.values or t.negatable or t.phrases):
            continue
        if m.negated:
            for slot in t.negatable:
                result.negated.add(slot)
                spec = specs.get(slot)
                if spec is not None and spec.negated_value is not None:
                    candidates[slot].append(spec.negated_value)
            for slot, value in t.values:
                if SLOT_KINDS[slot] in ("category", "set"):
                    result.negated_values[slot].add(value)
                if SLOT_KINDS[slot] == "set":
                    denied_members[slot, value].add(t.text)
            continue
        for slot, value in t.values:
            candidates[slot].append(value)
            if SLOT_KINDS[slot] == "set":
                stated_members[slot, value].add(t.text)
            spec = specs.get(slot)
            if spec is not None and _same(value, spec.negated_value):
                result.negated.add(slot)  # 没有逾期, 没实名: a denial spelled as one word
        for slot, number in t.phrases:
            candidates[slot].append(number)

    for slot, values in candidates.items():
        spec = specs[slot]
        kind = SLOT_KINDS[slot]
        if kind == "set":
            members = []
            for v in dict.fromkeys(str(v) for v in values):
                denied = denied_members.get((slot, v))
                if denied is None:
                    members.append(v)
                elif stated_members[slot, v] - denied:
                    members.append(v)  # stated in other words than the denial
                    result.negated_values[slot].discard(v)
            if members:
                result.slots[slot] = members
            continue
        chosen = _resolve(spec, values)
        if kind == "bool":
            chosen = chosen is True or chosen == "true"
        result.slots[slot] = chosen
    return result


def _same(value: str, preset: AnswerValue | None) -> bool:
    if preset is None or (isinstance(preset, int) and not isinstance(preset, bool)):
        return False
    return value == (str(preset).lower() if isinstance(preset, bool) else preset)


def _resolve(spec: SlotSpec, values: list[AnswerValue]) -> AnswerValue:
    if spec.resolve == "first":
        return values[0]
    if spec.resolve == "worst":
        rank = {v: i for i, v in enumerate(spec.order)}
        return min(values, key=lambda v: rank.get(str(v), len(rank)))
    return values[-1]
