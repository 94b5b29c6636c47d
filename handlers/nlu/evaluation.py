"""How good understanding is, measured on the held-out examples (``wxloan nlu test``).

:func:`evaluate` reads every example with the real :class:`~.understander.Understander`
(rules and model together, exactly as the bot does) and scores it with scikit-learn's
metrics, so the numbers mean what they mean everywhere else:

* **Intents.** The label of a reading is ``intents[0]``, or ``none`` when ``intents`` is
  empty (the message only states facts). Accuracy, macro-F1 (unweighted mean over every
  label that occurs in the labels or the predictions, so predicting an intent that the
  test set never asks for costs too) and per-intent precision / recall / F1 / support
  (``precision_recall_fscore_support``), and the confusion matrix (rows: the label,
  columns: the reading).
* **Slots.** A slot is right when the reading's value equals the annotation's: for a
  closed-set slot the annotated value (a set slot: the set of its annotated values); for a
  number slot, the value the rule layer reads from the annotated surface *on its own*
  (``understand(surface, expecting=slot)``), so the annotation never restates the
  parser's arithmetic, unless the annotation states its number
  (``[上个月](rejected_days_ago:30)``: 30). A wrong value is a false positive *and* a false negative (the
  CoNLL convention); an annotation whose surface reads as nothing is reported.
* **Fallback.** A held-out message falls to the fallback when its reading has neither an
  intent nor a slot although its label is not ``none``, or when its confidence is below
  the clarifying-question threshold (the bot would ask instead of answering).

scikit-learn is imported by :func:`evaluate` only: serving never imports this module's
dependencies (the thresholds are plain TOML).
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol

from .examples import Example
from .model import SLOT_KINDS, Understanding

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Evaluation",
    "IntentScore",
    "Miss",
    "NONE",
    "SlotMiss",
    "SlotScore",
    "Thresholds",
    "ThresholdsError",
    "evaluate",
    "failures",
    "label_of",
    "load_thresholds",
]

DEFAULT_THRESHOLDS: Final = "knowledge/data/nlu/thresholds.toml"

NONE: Final = "none"
"""The label of a reading (or an example) with no intent: it only states facts."""

_NUMBER_KINDS: Final = frozenset(
    {"score", "count", "frequency", "duration", "periods", "money", "term", "rate", "days_ago"}
)
_ABSENT: Final = "\x00"  # the slot label of "no such slot here" in the slot items


class Reader(Protocol):
    """What :func:`evaluate` needs of an understander (the real one, or a test double)."""

    def understand(self, text: str, expecting: str | None = None) -> Understanding: ...


class ThresholdsError(ValueError):
    """The thresholds file is missing or malformed (names the file and the key)."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The scores ``wxloan nlu test`` requires, from ``knowledge/data/nlu/thresholds.toml``.

    :param slot_f1: the minimum F1 per slot named (the slots the issue names).
    :param confidence: the clarifying-question threshold: a reading less sure than this
        counts as a fallback.
    """

    intent_accuracy: float
    macro_f1: float
    slot_f1: Mapping[str, float]
    max_fallback: float
    confidence: float
    path: str = ""


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One row of the per-intent table."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class SlotScore:
    """One slot's scores; ``support`` counts its annotations, ``predicted`` its readings."""

    slot: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True, slots=True)
class Miss:
    """A held-out example read as another intent."""

    text: str
    expected: str
    predicted: str
    confidence: float
    source: str
    alternatives: tuple[tuple[str, float], ...]
    where: str


@dataclass(frozen=True, slots=True)
class SlotMiss:
    """A slot annotated and not read (``got`` None), read wrong, or read but not annotated
    (``expected`` None). ``unreadable``: the annotation's surface reads as no value."""

    text: str
    slot: str
    expected: str | None
    got: str | None
    where: str
    unreadable: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything ``wxloan nlu test`` prints and the report shows.

    :param labels: the confusion matrix's row and column order (sorted, ``none`` last).
    :param confusion: ``confusion[i][j]``: examples labelled ``labels[i]`` read as
        ``labels[j]``.
    :param fallbacks: held-out examples that fell to the fallback (see the module doc).
    """

    examples: int
    accuracy: float
    macro_f1: float
    intents: tuple[IntentScore, ...]
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    slots: tuple[SlotScore, ...]
    slot_micro_f1: float
    fallbacks: tuple[Miss, ...]
    misclassified: tuple[Miss, ...]
    slot_misses: tuple[SlotMiss, ...]
    confidence_threshold: float

    @property
    def fallback_rate(self) -> float:
        return len(self.fallbacks) / self.examples if self.examples else 0.0

    def slot(self, name: str) -> SlotScore | None:
        """The scores of slot ``name``, or None when no held-out example has or reads it."""
        return next((s for s in self.slots if s.slot == name), None)


def label_of(understanding: Understanding) -> str:
    """The label a reading is scored as: its first intent, or ``none``."""
    return understanding.intents[0] if understanding.intents else NONE


def evaluate(examples: Sequence[Example], reader: Reader, *, threshold: float) -> Evaluation:
    """Score ``reader`` on ``examples`` (the held-out side of :func:`~.examples.split`).

    :param threshold: the clarifying-question confidence threshold.
    :raises ValueError: ``examples`` is empty (there is nothing to score).
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    if not examples:
        raise ValueError("no held-out examples to evaluate")
    readings = [reader.understand(e.text) for e in examples]
    expected = [e.intent for e in examples]
    predicted = [label_of(u) for u in readings]
    labels = sorted(set(expected) | set(predicted), key=lambda name: (name == NONE, name))

    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, average=None, zero_division=0
    )
    intents = tuple(
        IntentScore(name, float(p), float(r), float(f), int(n))
        for name, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
    )
    with warnings.catch_warnings():  # one label only (a tiny set): the shape is still right
        warnings.filterwarnings("ignore", "A single label", UserWarning)
        matrix = confusion_matrix(expected, predicted, labels=labels)
    misses = tuple(
        _miss(e, u) for e, u in zip(examples, readings, strict=True) if e.intent != label_of(u)
    )
    fallbacks = tuple(
        _miss(e, u)
        for e, u in zip(examples, readings, strict=True)
        if _falls_back(e, u, threshold)
    )
    slots, micro, slot_misses = _score_slots(examples, readings, reader)
    return Evaluation(
        examples=len(examples),
        accuracy=float(accuracy_score(expected, predicted)),
        macro_f1=float(
            f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)
        ),
        intents=intents,
        labels=tuple(labels),
        confusion=tuple(tuple(int(n) for n in row) for row in matrix),
        slots=slots,
        slot_micro_f1=micro,
        fallbacks=fallbacks,
        misclassified=misses,
        slot_misses=slot_misses,
        confidence_threshold=threshold,
    )


def _miss(example: Example, u: Understanding) -> Miss:
    return Miss(
        example.text, example.intent, label_of(u), u.confidence, u.source,
        tuple(u.alternatives), example.where,
    )


def _falls_back(example: Example, u: Understanding, threshold: float) -> bool:
    nothing = not u.intents and not u.slots
    return (nothing and example.intent != NONE) or u.confidence < threshold


def _expected_value(example: Example, slot: str, reader: Reader) -> object | None:
    """The value an annotation stands for (None: a number surface that reads as nothing).

    A number annotation that states its number (``[上个月](rejected_days_ago:30)``) means
    that number; otherwise the surface is read on its own, expecting the slot.
    """
    annotated = example.slots[slot]
    kind = SLOT_KINDS[slot]
    if kind == "set":
        return frozenset(annotated.split(","))
    if kind == "bool":
        return annotated == "true"
    if kind in _NUMBER_KINDS:
        stated = next((a.value for a in example.spans if a.slot == slot and a.value), None)
        if stated is not None:
            number = Decimal(stated)
            return number if kind == "rate" or number != int(number) else int(number)
        return reader.understand(annotated, expecting=slot).slots.get(slot)
    return annotated


def _read_value(slot: str, value: object) -> object:
    if SLOT_KINDS.get(slot) == "set" and isinstance(value, (list, tuple, set, frozenset)):
        return frozenset(str(v) for v in value)
    return value


def _shown(value: object) -> str:
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)


def _score_slots(
    examples: Sequence[Example], readings: Sequence[Understanding], reader: Reader
) -> tuple[tuple[SlotScore, ...], float, tuple[SlotMiss, ...]]:
    """Per-slot precision / recall / F1 over slot items (see the module doc)."""
    from sklearn.metrics import (
        precision_recall_fscore_support,
    )

    truth: list[str] = []
    guess: list[str] = []
    misses: list[SlotMiss] = []
    for example, u in zip(examples, readings, strict=True):
        gold = {slot: _expected_value(example, slot, reader) for slot in example.slots}
        got = {slot: _read_value(slot, value) for slot, value in u.slots.items()}
        for slot in sorted(set(gold) | set(got)):
            want, have = gold.get(slot), got.get(slot)
            if slot in gold and slot in got and want is not None and want == have:
                truth.append(slot)
                guess.append(slot)
                continue
            if slot in gold:
                truth.append(slot)
                guess.append(_ABSENT)
            if slot in got:
                truth.append(_ABSENT)
                guess.append(slot)
            misses.append(
                SlotMiss(
                    example.text, slot,
                    None if slot not in gold else (
                        example.slots[slot] if want is None else _shown(want)
                    ),
                    None if slot not in got else _shown(have),
                    example.where,
                    unreadable=slot in gold and want is None,
                )
            )
    names = sorted({*truth, *guess} - {_ABSENT})
    if not names:
        return (), 1.0, ()
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, guess, labels=names, average=None, zero_division=0
    )
    scores = tuple(
        SlotScore(name, float(p), float(r), float(f), int(n), guess.count(name))
        for name, p, r, f, n in zip(names, precision, recall, f1, support, strict=True)
    )
    _, _, micro, _ = precision_recall_fscore_support(
        truth, guess, labels=names, average="micro", zero_division=0
    )
    return scores, float(micro), tuple(misses)


def default_thresholds_path() -> Path:
    """``knowledge/data/nlu/thresholds.toml`` next to ``handlers/``."""
    return Path(__file__).resolve().parents[2] / DEFAULT_THRESHOLDS


def load_thresholds(path: Path | str | None = None) -> Thresholds:
    """The required scores; every key is required and every value is a number in 0..1.

    :raises ThresholdsError: naming the file and the key.
    """
    file = Path(path) if path is not None else default_thresholds_path()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdsError(f"{file}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdsError(f"{file}: invalid TOML ({exc})") from None

    def share(key: str, value: Any = None) -> float:
        raw = data.get(key) if value is None else value
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 1:
            raise ThresholdsError(f"{file}: {key} must be a number from 0 to 1, got {raw!r}")
        return float(raw)

    known = {"intent_accuracy", "macro_f1", "slot_f1", "max_fallback", "confidence"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ThresholdsError(f"{file}: unknown keys {unknown}")
    table = data.get("slot_f1")
    if not isinstance(table, dict) or not table:
        raise ThresholdsError(f"{file}: [slot_f1] must list slots with their minimum F1")
    strange = sorted(set(table) - set(SLOT_KINDS))
    if strange:
        raise ThresholdsError(f"{file}: [slot_f1] names unknown slots {strange}")
    return Thresholds(
        intent_accuracy=share("intent_accuracy"),
        macro_f1=share("macro_f1"),
        slot_f1={slot: share(f"slot_f1.{slot}", v) for slot, v in table.items()},
        max_fallback=share("max_fallback"),
        confidence=share("confidence"),
        path=str(file),
    )


def failures(evaluation: Evaluation, thresholds: Thresholds) -> list[str]:
    """Every score below its threshold, one phrase each (empty: all met).

    A thresholded slot that no held-out example annotates fails too: its F1 is not
    measured, so it cannot be claimed.
    """
    out: list[str] = []
    if evaluation.accuracy < thresholds.intent_accuracy:
        out.append(f"intent accuracy {evaluation.accuracy:.3f} < {thresholds.intent_accuracy}")
    if evaluation.macro_f1 < thresholds.macro_f1:
        out.append(f"macro-F1 {evaluation.macro_f1:.3f} < {thresholds.macro_f1}")
    if evaluation.fallback_rate > thresholds.max_fallback:
        out.append(
            f"fallback rate {evaluation.fallback_rate:.3f} > {thresholds.max_fallback}"
        )
    for slot, minimum in thresholds.slot_f1.items():
        score = evaluation.slot(slot)
        if score is None or score.support == 0:
            out.append(f"slot {slot}: no held-out example annotates it")
        elif score.f1 < minimum:
            out.append(f"slot {slot} F1 {score.f1:.3f} < {minimum}")
    return out
