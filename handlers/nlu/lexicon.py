"""Load and validate ``knowledge/data/lexicon.toml`` into frozen objects.

Every word the understander knows comes from that file; this module only
checks its shape once, at start-up, so a bad edit fails loudly instead of
silently never matching.  Unknown tables, keys, intent ids, slot names,
slot values or scam ids are errors.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

from .model import INTENT_IDS, SCAM_PATTERN_IDS, SLOT_KINDS

__all__ = [
    "DEFAULT_LEXICON",
    "IntentCombo",
    "IntentSpec",
    "Lexicon",
    "LexiconError",
    "ScamPair",
    "ScamSpec",
    "SlotSpec",
    "load_lexicon",
]

DEFAULT_LEXICON: Final = "knowledge/data/lexicon.toml"

AnswerValue = str | bool | int
_SlotWords = Mapping[str, Mapping[str, tuple[str, ...]]]


class LexiconError(ValueError):
    """The lexicon file is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class IntentCombo:
    """``first`` followed within ``max_gap`` characters by one of ``then``."""

    first: tuple[str, ...]
    then: tuple[str, ...]
    max_gap: int
    weight: float


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """Keywords of one intent; ``weight`` scales every match of it."""

    id: str
    weight: float
    keywords: tuple[str, ...]
    strong: tuple[str, ...]
    weak: tuple[str, ...]
    exact: tuple[str, ...]
    negatable: bool
    implied_by_slots: tuple[str, ...]
    combos: tuple[IntentCombo, ...]


@dataclass(frozen=True, slots=True)
class ScamPair:
    """A word from ``a`` and one from ``b`` no more than ``window`` apart."""

    a: tuple[str, ...]
    b: tuple[str, ...]
    window: int


@dataclass(frozen=True, slots=True)
class ScamSpec:
    """One scam pattern: telling words alone, or pairs that must co-occur."""

    id: str
    terms: tuple[str, ...]
    pairs: tuple[ScamPair, ...]


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """Vocabulary and limits of one slot; which keys apply depends on its kind."""

    name: str
    anchors: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    expect_values: Mapping[str, tuple[str, ...]]
    negatable: tuple[str, ...]
    negated_value: AnswerValue | None
    expect_yes: AnswerValue | None
    expect_no: AnswerValue | None
    phrases: Mapping[str, int]
    minimum: Decimal | None
    maximum: Decimal | None
    pick: str
    resolve: str
    order: tuple[str, ...]
    blockers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The whole vocabulary, grouped as in the TOML file."""

    char_map: Mapping[str, str]
    typos: Mapping[str, str]
    clause_breaks: tuple[str, ...]
    fuzzy_terms: tuple[str, ...]
    fuzzy_keep: tuple[str, ...]
    fuzzy_max_text: int
    digits: Mapping[str, int]
    magnitudes: Mapping[str, int]
    some: str
    half: str
    point: str
    fractions: Mapping[str, int]
    per_ten_thousand: str
    not_more: tuple[str, ...]
    month_not_before: tuple[str, ...]
    negation_tail: str
    negation_questions: tuple[str, ...]
    numeral_aliases: Mapping[str, str]
    not_numbers: tuple[str, ...]
    approx_before: tuple[str, ...]
    approx_after: tuple[str, ...]
    range_suffix: tuple[str, ...]
    approx_suffix: tuple[str, ...]
    range_joiners: tuple[str, ...]
    ji_range: tuple[int, int]
    bare_ji_range: tuple[int, int]
    money_units: tuple[str, ...]
    count_units: tuple[str, ...]
    score_units: tuple[str, ...]
    score_not_before: tuple[str, ...]
    period_units: tuple[str, ...]
    ignored_units: tuple[str, ...]
    time_units: Mapping[str, tuple[str, ...]]
    window_before: tuple[str, ...]
    window_after: tuple[str, ...]
    ago: tuple[str, ...]
    days_ago_words: Mapping[str, int]
    negation_before: tuple[str, ...]
    negation_after: tuple[str, ...]
    negation_spread: tuple[str, ...]
    negation_max_gap: int
    hypothetical: tuple[str, ...]
    yes: tuple[str, ...]
    no: tuple[str, ...]
    skip: tuple[str, ...]
    particles: str
    menu_max_choice: int
    menu_prefixes: tuple[str, ...]
    menu_suffixes: tuple[str, ...]
    products: Mapping[str, tuple[str, ...]]
    frequency: Mapping[str, tuple[str, ...]]
    rate_anchors: Mapping[str, tuple[str, ...]]
    apr_max: Decimal
    daily_max: Decimal
    daily_below: Decimal
    intents: tuple[IntentSpec, ...]
    scams: tuple[ScamSpec, ...]
    slots: Mapping[str, SlotSpec]


# --- small typed readers -------------------------------------------------


class _Table:
    """A TOML table that remembers which keys were read, to reject the rest."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise LexiconError(f"{where}: expected a table")
        self._data: dict[str, object] = data
        self._where = where
        self._seen: set[str] = set()

    def _get(self, key: str) -> object:
        self._seen.add(key)
        return self._data.get(key)

    def has(self, key: str) -> bool:
        return key in self._data

    def words(self, key: str) -> tuple[str, ...]:
        raw = self._get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(w, str) and w for w in raw):
            raise LexiconError(f"{self._where}.{key}: expected a list of non-empty strings")
        return tuple(raw)

    def text(self, key: str, default: str = "") -> str:
        raw = self._get(key)
        if raw is None:
            return default
        if not isinstance(raw, str):
            raise LexiconError(f"{self._where}.{key}: expected a string")
        return raw

    def integer(self, key: str, default: int) -> int:
        raw = self._get(key)
        if raw is None:
            return default
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise LexiconError(f"{self._where}.{key}: expected an integer")
        return raw

    def number(self, key: str, default: float) -> float:
        raw = self._get(key)
        if raw is None:
            return default
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            raise LexiconError(f"{self._where}.{key}: expected a number")
        return float(raw)

    def decimal(self, key: str) -> Decimal | None:
        raw = self._get(key)
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise LexiconError(f"{self._where}.{key}: expected an integer or a decimal string")
        try:
            return Decimal(raw)
        except InvalidOperation as exc:
            raise LexiconError(f"{self._where}.{key}: bad decimal {raw!r}") from exc

    def flag(self, key: str) -> bool:
        raw = self._get(key)
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise LexiconError(f"{self._where}.{key}: expected true or false")
        return raw

    def answer(self, key: str) -> AnswerValue | None:
        raw = self._get(key)
        if raw is None or isinstance(raw, str | bool | int):
            return raw
        raise LexiconError(f"{self._where}.{key}: expected a string, boolean or integer")

    def pair(self, key: str, default: tuple[int, int]) -> tuple[int, int]:
        raw = self._get(key)
        if raw is None:
            return default
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        ):
            raise LexiconError(f"{self._where}.{key}: expected [low, high]")
        return (raw[0], raw[1])

    def table(self, key: str) -> _Table:
        raw = self._get(key)
        return _Table({} if raw is None else raw, f"{self._where}.{key}")

    def tables(self, key: str) -> list[_Table]:
        raw = self._get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise LexiconError(f"{self._where}.{key}: expected an array of tables")
        return [_Table(item, f"{self._where}.{key}[{i}]") for i, item in enumerate(raw)]

    def names(self) -> list[str]:
        self._seen.update(self._data)
        return list(self._data)

    def word_map(self, key: str) -> dict[str, tuple[str, ...]]:
        sub = self.table(key)
        return {name: sub.words(name) for name in sub.names()}

    def str_map(self, key: str) -> dict[str, str]:
        sub = self.table(key)
        return {name: sub.text(name) for name in sub.names()}

    def int_map(self, key: str) -> dict[str, int]:
        sub = self.table(key)
        return {name: sub.integer(name, 0) for name in sub.names()}

    def done(self) -> None:
        """Reject keys nobody read: they are typos or stale data."""
        extra = set(self._data) - self._seen
        if extra:
            raise LexiconError(f"{self._where}: unknown keys {sorted(extra)}")


# --- sections ------------------------------------------------------------


def _intent(name: str, t: _Table, slot_words: _SlotWords) -> IntentSpec:
    combos = []
    for c in t.tables("combos"):
        combos.append(
            IntentCombo(
                first=c.words("first") + _values_words(c.words("first_values"), slot_words),
                then=c.words("then"),
                max_gap=c.integer("max_gap", 4),
                weight=c.number("weight", 2.0),
            )
        )
        c.done()
    implied = t.words("implied_by_slots")
    for slot in implied:
        if slot not in SLOT_KINDS:
            raise LexiconError(f"intents.{name}.implied_by_slots: unknown slot {slot!r}")
    # include_values = ["purpose:house"] reuses a slot value's words as strong keywords.
    included = _values_words(t.words("include_values"), slot_words)
    spec = IntentSpec(
        id=name,
        weight=t.number("weight", 1.0),
        keywords=t.words("keywords"),
        strong=t.words("strong") + included,
        weak=t.words("weak"),
        exact=t.words("exact"),
        negatable=t.flag("negatable"),
        implied_by_slots=implied,
        combos=tuple(combos),
    )
    t.done()
    return spec


def _values_words(refs: tuple[str, ...], slot_words: _SlotWords) -> tuple[str, ...]:
    """Resolve ``"slot:value"`` references to that value's words."""
    out: list[str] = []
    for ref in refs:
        slot, _, value = ref.partition(":")
        words = slot_words.get(slot, {}).get(value)
        if words is None:
            raise LexiconError(f"unknown slot value reference {ref!r}")
        out.extend(words)
    return tuple(out)


def _scam(name: str, t: _Table) -> ScamSpec:
    pairs = []
    for p in t.tables("pairs"):
        a, b = p.words("a"), p.words("b")
        if not a or not b:
            raise LexiconError(f"scam.{name}.pairs: both a and b are required")
        pairs.append(ScamPair(a=a, b=b, window=p.integer("window", 12)))
        p.done()
    spec = ScamSpec(id=name, terms=t.words("terms"), pairs=tuple(pairs))
    t.done()
    return spec


_PICKS: Final = frozenset({"lower", "mid", "upper"})
_RESOLVES: Final = frozenset({"first", "last", "worst"})


def _slot(name: str, t: _Table) -> SlotSpec:
    values = t.word_map("values")
    expect_values = t.word_map("expect_values")
    kind = SLOT_KINDS[name]
    for value in (*values, *expect_values):
        if kind == "bool" and value not in ("true", "false"):
            raise LexiconError(f"slots.{name}: bool values must be 'true' or 'false'")
    spec = SlotSpec(
        name=name,
        anchors=t.words("anchors"),
        values=MappingProxyType(values),
        expect_values=MappingProxyType(expect_values),
        negatable=t.words("negatable"),
        negated_value=t.answer("negated_value"),
        expect_yes=t.answer("expect_yes"),
        expect_no=t.answer("expect_no"),
        phrases=MappingProxyType(t.int_map("phrases")),
        minimum=t.decimal("min"),
        maximum=t.decimal("max"),
        pick=t.text("pick", "mid"),
        resolve=t.text("resolve", "last"),
        order=t.words("order"),
        blockers=t.words("blockers"),
    )
    if spec.pick not in _PICKS:
        raise LexiconError(f"slots.{name}.pick must be one of {sorted(_PICKS)}")
    if spec.resolve not in _RESOLVES:
        raise LexiconError(f"slots.{name}.resolve must be one of {sorted(_RESOLVES)}")
    if spec.resolve == "worst" and set(spec.order) != set(values):
        raise LexiconError(f"slots.{name}.order must list every value once")
    t.done()
    return spec


def _char(t: _Table, key: str) -> str:
    value = t.text(key)
    if len(value) != 1:
        raise LexiconError(f"{t._where}.{key}: expected a single character")
    return value


def _read_text(path: Path | str | None) -> tuple[str, str]:
    if path is None:
        # knowledge/ sits next to handlers/ in the source tree and in site-packages;
        # reading the file directly avoids importing the knowledge package.
        sibling = Path(__file__).resolve().parents[2] / DEFAULT_LEXICON
        if sibling.is_file():
            path = sibling
        else:
            try:
                ref = resources.files("wxloan.knowledge").joinpath("data", "lexicon.toml")
                return ref.read_text(encoding="utf-8"), DEFAULT_LEXICON
            except (ImportError, OSError) as exc:
                raise LexiconError(f"cannot read the default lexicon {DEFAULT_LEXICON}") from exc
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except OSError as exc:
        raise LexiconError(f"cannot read lexicon {p}") from exc


def load_lexicon(path: Path | str | None = None) -> Lexicon:
    """Read and validate the lexicon (default: the one shipped in ``knowledge``).

    :param path: a TOML file; None means ``knowledge/data/lexicon.toml``.
    :raises LexiconError: on any unreadable, unknown or mistyped entry.
    """
    text, where = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{where}: {exc}") from exc
    root = _Table(data, where)
    if root.integer("schema", 0) != 1:
        raise LexiconError(f"{where}: schema must be 1")

    slots_t = root.table("slots")
    slot_specs: dict[str, SlotSpec] = {}
    for name in slots_t.names():
        if name not in SLOT_KINDS:
            raise LexiconError(f"slots: unknown slot {name!r}")
        slot_specs[name] = _slot(name, slots_t.table(name))
    slot_words = {n: s.values for n, s in slot_specs.items()}

    intents_t = root.table("intents")
    intents = []
    for name in intents_t.names():
        if name not in INTENT_IDS:
            raise LexiconError(f"intents: unknown intent {name!r}")
        intents.append(_intent(name, intents_t.table(name), slot_words))

    scam_t = root.table("scam")
    scams = []
    for name in scam_t.names():
        if name not in SCAM_PATTERN_IDS:
            raise LexiconError(f"scam: unknown pattern {name!r}")
        scams.append(_scam(name, scam_t.table(name)))

    norm = root.table("normalize")
    fuzzy = root.table("fuzzy")
    nums = root.table("numbers")
    units = root.table("units")
    time = root.table("time")
    neg = root.table("negation")
    hyp = root.table("hypothetical")
    ans = root.table("answers")
    menu = root.table("menu")
    rates = root.table("rates")
    char_map = norm.str_map("char_map")
    digits = nums.int_map("digits")
    if not digits or any(len(k) != 1 or not 0 <= v <= 9 for k, v in digits.items()):
        raise LexiconError("numbers.digits: single characters with values 0-9 are required")
    if any(len(k) != 1 for k in nums.int_map("magnitudes")):
        raise LexiconError("numbers.magnitudes: keys must be single characters")
    if any(len(k) != 1 or len(v) != 1 for k, v in char_map.items()):
        raise LexiconError("normalize.char_map: keys and values must be single characters")
    time_units = {k: time.words(k) for k in ("day", "week", "month", "year")}
    frequency = root.word_map("frequency")
    if set(frequency) - {"day", "week", "month"}:
        raise LexiconError("frequency: only day, week and month are allowed")
    rate_anchors = {k: rates.words(k) for k in ("annual", "monthly", "daily", "generic")}
    lex = Lexicon(
        char_map=MappingProxyType(char_map),
        typos=MappingProxyType(norm.str_map("typos")),
        clause_breaks=norm.words("clause_breaks"),
        fuzzy_terms=fuzzy.words("terms"),
        fuzzy_keep=fuzzy.words("keep"),
        fuzzy_max_text=fuzzy.integer("max_text", 300),
        digits=MappingProxyType(nums.int_map("digits")),
        magnitudes=MappingProxyType(nums.int_map("magnitudes")),
        some=_char(nums, "some"),
        half=_char(nums, "half"),
        point=_char(nums, "point"),
        fractions=MappingProxyType(nums.int_map("fractions")),
        per_ten_thousand=_char(nums, "per_ten_thousand"),
        not_more=nums.words("not_more"),
        month_not_before=time.words("month_not_before"),
        negation_tail=neg.text("tail"),
        negation_questions=neg.words("questions"),
        numeral_aliases=MappingProxyType(nums.str_map("aliases")),
        not_numbers=nums.words("not_numbers"),
        approx_before=nums.words("approx_before"),
        approx_after=nums.words("approx_after"),
        range_suffix=nums.words("range_suffix"),
        approx_suffix=nums.words("approx_suffix"),
        range_joiners=nums.words("range_joiners"),
        ji_range=nums.pair("ji_range", (2, 9)),
        bare_ji_range=nums.pair("bare_ji_range", (2, 5)),
        money_units=units.words("money"),
        count_units=units.words("count"),
        score_units=units.words("score"),
        score_not_before=units.words("score_not_before"),
        period_units=units.words("period"),
        ignored_units=units.words("ignore"),
        time_units=MappingProxyType(time_units),
        window_before=time.words("window_before"),
        window_after=time.words("window_after"),
        ago=time.words("ago"),
        days_ago_words=MappingProxyType(time.int_map("days_ago")),
        negation_before=neg.words("before"),
        negation_after=neg.words("after"),
        negation_spread=neg.words("spread"),
        negation_max_gap=neg.integer("max_gap", 2),
        hypothetical=hyp.words("markers"),
        yes=ans.words("yes"),
        no=ans.words("no"),
        skip=ans.words("skip"),
        particles=ans.text("particles"),
        menu_max_choice=menu.integer("max_choice", 9),
        menu_prefixes=menu.words("prefixes"),
        menu_suffixes=menu.words("suffixes"),
        products=MappingProxyType(root.word_map("products")),
        frequency=MappingProxyType(frequency),
        rate_anchors=MappingProxyType(rate_anchors),
        apr_max=rates.decimal("apr_max") or Decimal(1),
        daily_max=rates.decimal("daily_max") or Decimal("0.01"),
        daily_below=rates.decimal("daily_below") or Decimal("0.001"),
        intents=tuple(intents),
        scams=tuple(scams),
        slots=MappingProxyType(slot_specs),
    )
    for t in (norm, fuzzy, nums, units, time, neg, hyp, ans, menu, rates, root):
        t.done()
    return lex
