"""The labelled example set (``knowledge/data/nlu/examples/*.yml``), loaded and checked.

The intent model is fit on these examples and evaluated on a held-out part of
them, so a typo in the data must fail loudly, naming the file and the line,
instead of quietly training a class nobody asked for.  Format (Rasa-style)::

    version: 1
    intents:
      - intent: rates                 # an id of model.INTENT_IDS, or "none"
        examples:
          - 微粒贷利率多少
          - 支付分[680](pay_score)能借多少利息
          - 我[没有逾期](overdue:none)，[上班族](identity:employee)

``[surface](slot)`` marks a number the rule layer reads from the surface
(``[上个月](rejected_days_ago:30)`` may state the number it means: it is kept in
the annotation, ``Example.slots`` holds the surface); ``[surface](slot:value)``
a closed-set value (category, set or bool slots, values from the lexicon).  ``none`` is the pseudo-intent of a message that
only states facts (its ``Understanding.intents`` is empty).

The held-out split is computed from the text, never chosen: an example is a
test example iff the sha1 of its split key is 0 modulo 5 (about 20 %).  The key
is a lexicon-independent canonical form (NFKC, lower case, no whitespace), so
adding a typo to the lexicon never moves an example across the split, and two
spellings that differ only in width or spacing land on the same side (they are
duplicates, which :func:`load_examples` rejects anyway).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from .lexicon import Lexicon, load_lexicon
from .model import INTENT_IDS, SLOT_KINDS

__all__ = [
    "DEFAULT_EXAMPLES",
    "EXAMPLE_INTENTS",
    "Annotation",
    "Example",
    "ExamplesError",
    "examples_digest",
    "is_test",
    "load_examples",
    "parse_annotated",
    "split",
    "split_key",
]

DEFAULT_EXAMPLES: Final = "knowledge/data/nlu/examples"

EXAMPLE_INTENTS: Final[tuple[str, ...]] = (*INTENT_IDS, "none")
"""Labels an example may carry: every intent id, plus ``none`` (facts only)."""

TEST_MODULUS: Final = 5
"""One example in five (by hash) is held out."""

_CLOSED_KINDS: Final = frozenset({"category", "set", "bool"})
_BOOL_VALUES: Final = ("true", "false")
# [surface](slot) or [surface](slot:value); the surface may not contain brackets.
_ANNOTATION: Final = re.compile(r"\[([^\[\]]+)\]\(([^()\s]*)\)")
_SPACE: Final = re.compile(r"\s+")
_NUMBER: Final = re.compile(r"-?\d+(?:\.\d+)?")


class ExamplesError(ValueError):
    """An example file is unreadable or an example is malformed (names file:line)."""


@dataclass(frozen=True, slots=True)
class Annotation:
    """One ``[surface](slot[:value])`` of an annotated line.

    :param start: where the surface starts in the plain text; ``end`` is exclusive.
    :param value: the closed-set value; for a number slot the number stated, or None.
    """

    slot: str
    surface: str
    value: str | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message.

    :param text: the message as a user would type it (annotations removed).
    :param intent: its label: an intent id or ``none``.
    :param slots: slot -> the surface text (number slots) or the closed-set value;
        a set slot or a number slot annotated twice (社保 and 房产, both ends of
        620到650) holds its values joined by ``,`` in order.
    :param file: the example file's name; ``line`` is 1-based.
    :param annotated: the line as written, for messages and exports.
    :param spans: every annotation with its position in ``text``.
    """

    text: str
    intent: str
    slots: dict[str, str]
    file: str
    line: int
    annotated: str = ""
    spans: tuple[Annotation, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def parse_annotated(line: str) -> tuple[str, tuple[Annotation, ...]]:
    """Split an annotated line into its plain text and its annotations.

    Only ``[…](…)`` is markup: a WeChat sticker such as ``[捂脸]`` not followed by
    ``(`` stays in the text.  The slot names are not checked here (see
    :func:`load_examples`), only the shape.

    :raises ExamplesError: on an empty surface or slot name (no file:line; the
        loader adds it).
    """
    parts: list[str] = []
    found: list[Annotation] = []
    pos = 0
    length = 0
    for m in _ANNOTATION.finditer(line):
        before = line[pos : m.start()]
        parts.append(before)
        length += len(before)
        surface, target = m.group(1), m.group(2)
        slot, sep, value = target.partition(":")
        if not slot:
            raise ExamplesError(f"annotation [{surface}]({target}) has no slot name")
        if sep and not value:
            raise ExamplesError(f"annotation [{surface}]({target}) has an empty value")
        found.append(
            Annotation(slot, surface, value if sep else None, length, length + len(surface))
        )
        parts.append(surface)
        length += len(surface)
        pos = m.end()
    parts.append(line[pos:])
    text = "".join(parts)
    if "](" in text:
        raise ExamplesError(f"malformed annotation in {line!r}")
    return text, tuple(found)


def split_key(text: str) -> str:
    """The canonical form that decides the split and duplicates."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())


def is_test(text: str) -> bool:
    """Whether an example with this text belongs to the held-out set."""
    digest = hashlib.sha1(split_key(text).encode("utf-8")).hexdigest()
    return int(digest, 16) % TEST_MODULUS == 0


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(train, test), by :func:`is_test`; order within each side is kept."""
    train: list[Example] = []
    test: list[Example] = []
    for e in examples:
        (test if is_test(e.text) else train).append(e)
    return train, test


def examples_digest(examples: Sequence[Example]) -> str:
    """sha256 over the labelled texts, so an artifact can name what it was fit on.

    Order-independent (sorted), and blind to file names and line numbers, so
    moving an example between files does not force a retrain.
    """
    rows = sorted(f"{e.intent}\t{e.text}" for e in examples)
    return hashlib.sha256("\n".join(rows).encode("utf-8")).hexdigest()


def default_directory() -> Path:
    """``knowledge/data/nlu/examples`` next to ``handlers/`` (source tree or site-packages)."""
    return Path(__file__).resolve().parents[2] / DEFAULT_EXAMPLES


def load_examples(
    directory: Path | str | None = None, *, lexicon: Lexicon | None = None
) -> list[Example]:
    """Every example of every ``*.yml`` file in ``directory``, in file then line order.

    :param directory: None means ``knowledge/data/nlu/examples``.
    :param lexicon: for the closed-set values; None loads the default lexicon.
    :raises ExamplesError: unreadable YAML, a wrong shape, an unknown intent id,
        slot or value, or a duplicate example (same text under any intent),
        each naming ``file:line``.
    """
    root = Path(directory) if directory is not None else default_directory()
    if not root.is_dir():
        raise ExamplesError(f"no example directory {root}")
    lex = lexicon if lexicon is not None else load_lexicon()
    closed = _closed_values(lex)
    seen: dict[str, Example] = {}
    out: list[Example] = []
    for path in sorted(root.glob("*.yml")):
        for e in _read_file(path, closed):
            key = split_key(e.text)
            first = seen.get(key)
            if first is not None:
                raise ExamplesError(
                    f"{e.where}: duplicate example {e.text!r} (first at {first.where})"
                )
            seen[key] = e
            out.append(e)
    return out


def _closed_values(lex: Lexicon) -> Mapping[str, frozenset[str]]:
    """Allowed ``:value`` per closed-set slot."""
    out: dict[str, frozenset[str]] = {}
    for name, kind in SLOT_KINDS.items():
        if kind not in _CLOSED_KINDS:
            continue
        spec = lex.slots.get(name)
        values = set(spec.values) | set(spec.options) if spec is not None else set()
        if kind == "bool":
            values |= set(_BOOL_VALUES)
        out[name] = frozenset(values)
    return out


def _read_file(path: Path, closed: Mapping[str, frozenset[str]]) -> list[Example]:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise ExamplesError(f"{name}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ExamplesError(
            f"{name}:{line}: invalid YAML: {problem} (quote an example that starts with '[')"
        ) from exc
    if root is None:
        raise ExamplesError(f"{name}:1: empty file")
    top = _mapping(root, name, "the file")
    version = top.get("version")
    if version is None or _scalar(version, name) != "1":
        raise ExamplesError(f"{name}:{_line(root)}: 'version: 1' is required")
    unknown = set(top) - {"version", "intents"}
    if unknown:
        raise ExamplesError(f"{name}:{_line(root)}: unknown keys {sorted(unknown)}")
    intents = top.get("intents")
    if not isinstance(intents, yaml.SequenceNode):
        where = _line(intents) if intents is not None else _line(root)
        raise ExamplesError(f"{name}:{where}: 'intents' must be a list")
    out: list[Example] = []
    for block in intents.value:
        entry = _mapping(block, name, "an intents entry")
        extra = set(entry) - {"intent", "examples"}
        if extra:
            raise ExamplesError(f"{name}:{_line(block)}: unknown keys {sorted(extra)}")
        if "intent" not in entry:
            raise ExamplesError(f"{name}:{_line(block)}: entry without 'intent'")
        intent = _scalar(entry["intent"], name)
        if intent not in EXAMPLE_INTENTS:
            raise ExamplesError(f"{name}:{_line(entry['intent'])}: unknown intent {intent!r}")
        items = entry.get("examples")
        if not isinstance(items, yaml.SequenceNode):
            raise ExamplesError(f"{name}:{_line(block)}: 'examples' must be a list")
        for item in items.value:
            out.append(_example(_scalar(item, name), intent, name, _line(item), closed))
    return out


def _example(
    line: str, intent: str, file: str, lineno: int, closed: Mapping[str, frozenset[str]]
) -> Example:
    where = f"{file}:{lineno}"
    try:
        text, spans = parse_annotated(line)
    except ExamplesError as exc:
        raise ExamplesError(f"{where}: {exc}") from None
    if not text.strip():
        raise ExamplesError(f"{where}: empty example")
    slots: dict[str, str] = {}
    for a in spans:
        kind = SLOT_KINDS.get(a.slot)
        if kind is None:
            raise ExamplesError(f"{where}: unknown slot {a.slot!r} in [{a.surface}]")
        if kind in _CLOSED_KINDS:
            if a.value is None:
                raise ExamplesError(
                    f"{where}: slot {a.slot!r} needs a value: [{a.surface}]({a.slot}:…)"
                )
            if a.value not in closed[a.slot]:
                allowed = ", ".join(sorted(closed[a.slot]))
                raise ExamplesError(f"{where}: {a.slot}:{a.value} is not one of {allowed}")
            value = a.value
        else:
            if a.value is not None and _NUMBER.fullmatch(a.value) is None:
                raise ExamplesError(
                    f"{where}: number slot {a.slot!r} takes the surface, or a number as its "
                    f"value: [{a.surface}]({a.slot}) or [{a.surface}]({a.slot}:30)"
                )
            value = a.surface
        if a.slot in slots:
            if kind in ("category", "bool"):
                raise ExamplesError(f"{where}: slot {a.slot!r} annotated twice")
            value = f"{slots[a.slot]},{value}"  # a set's values, a range's two ends
        slots[a.slot] = value
    return Example(text, intent, slots, file, lineno, line, spans)


def _mapping(node: yaml.Node, file: str, what: str) -> dict[str, yaml.Node]:
    if not isinstance(node, yaml.MappingNode):
        raise ExamplesError(f"{file}:{_line(node)}: {what} must be a mapping")
    out: dict[str, yaml.Node] = {}
    for k, v in node.value:
        key = _scalar(k, file)
        if key in out:
            raise ExamplesError(f"{file}:{_line(k)}: duplicate key {key!r}")
        out[key] = v
    return out


def _scalar(node: yaml.Node, file: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise ExamplesError(
            f"{file}:{_line(node)}: expected a single value (quote an example that starts with '[')"
        )
    return str(node.value)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
