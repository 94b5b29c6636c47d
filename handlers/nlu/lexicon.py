"""Load and validate ``knowledge/data/lexicon.toml`` into frozen objects.

Every word the understander knows comes from that file; this module only
checks its shape once, at start-up, so a bad edit fails loudly instead of
silently never matching.  Unknown tables, keys, intent ids, slot names,
slot values or scam ids are errors.  The file is read with the project's one
TOML reader (:class:`wxloan.knowledge.reader.TableReader`), so messages name
the file and the field: ``lexicon.toml: intents.greeting.weight: expected
number, got str``.  Every key is optional; absent ones take the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

from wxloan.knowledge.reader import TableReader, type_name

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
    #: the numbered answers the bot offers when it asks this slot ("1 没有 2 以前有 …"):
    #: a bare "2" then means the second value
    options: tuple[str, ...] = ()
    #: words that contain a value word but state nothing (内部员工 is the bank's staff,
    #: 老师好 a greeting): matched whole, so the value word inside them is not seen
    not_values: tuple[str, ...] = ()
    #: a number no anchor claims is this slot when it fits its kind and limits and
    #: nothing was asked (a bare 680 is a pay score, a bare 两年 a loan term)
    unanchored: bool = False
    #: frequency words that beside an anchor and no number mean once per their period
    #: (每天都扫码付 = 7 a week)
    habit: tuple[str, ...] = ()


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
    #: words that start with a negator but deny nothing (不过, 不管): matched whole, so
    #: their 不 never negates the next word
    negation_exempt: tuple[str, ...]
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
    #: words that make a message about someone else (我老婆, 我同学): its facts are
    #: that person's, not the user's
    third_party: tuple[str, ...] = ()
    #: words that make a group word a fact about the user (我是学生, 本人是个体户)
    first_person: tuple[str, ...] = ()
    #: lookups of the direct answers (handlers/faq.py), ``[faq.<table>]`` id -> words:
    #: ``channels`` and ``grades`` (which one a question names), ``uncovered`` (topics
    #: the article does not answer) and ``nearest`` (per topic, the knowledge entry ids
    #: nearest to an answer); ``include_values = ["faq.uncovered:<topic>"]`` reuses them
    faq: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: a bare 几 is a number only after these (查了几次); elsewhere it asks (分几期, 几个点)
    some_after: tuple[str, ...] = ()
    #: after 多, "just over" rather than a range (六百多一点 = a bit over 600)
    a_bit_more: tuple[str, ...] = ()
    #: days-ago words that only say "just" (刚, 刚才): a named day beside them wins
    #: (昨天刚被拒 was yesterday)
    days_ago_just: tuple[str, ...] = ()
    #: units of percentage points (年化6个点): a rate once a rate word claims them
    point_units: tuple[str, ...] = ()
    #: a number right after these is denied, not stated (查询是三次不是两次)
    denies_number: tuple[str, ...] = ()


# --- shapes of this file, over the common reader ----------------------------


def _word_map(t: TableReader, key: str) -> dict[str, tuple[str, ...]]:
    sub = t.table(key, required=False)
    return {name: sub.strings(name) for name in sub.names()}


def _str_map(t: TableReader, key: str) -> dict[str, str]:
    sub = t.table(key, required=False)
    return {name: sub.string(name, blank=True) for name in sub.names()}


def _int_map(t: TableReader, key: str) -> dict[str, int]:
    sub = t.table(key, required=False)
    return {name: sub.integer(name) for name in sub.names()}


def _real(t: TableReader, key: str, default: float) -> float:
    return float(t.number(key, Decimal(default)))


def _decimal(t: TableReader, key: str) -> Decimal | None:
    """An exact number written as an integer or a decimal string (``"0.01"``)."""
    raw = t.value(key, None)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise t.error(key, f"expected integer or decimal string, got {type_name(raw)}")
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise t.error(key, f"expected integer or decimal string, got {raw!r}") from None


def _answer(t: TableReader, key: str) -> AnswerValue | None:
    raw = t.value(key, None)
    if raw is None or isinstance(raw, str | bool | int):
        return raw
    raise t.error(key, f"expected string, boolean or integer, got {type_name(raw)}")


def _pair(t: TableReader, key: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = t.value(key, default)
    if raw is default:
        return default
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
    ):
        raise t.error(key, f"expected [low, high] (two integers), got {raw!r}")
    return (raw[0], raw[1])


def _char(t: TableReader, key: str) -> str:
    value = t.string(key, blank=True)
    if len(value) != 1:
        raise t.error(key, f"expected a single character, got {value!r}")
    return value


# --- sections ------------------------------------------------------------


def _intent(name: str, t: TableReader, slot_words: _SlotWords) -> IntentSpec:
    combos = []
    for c in t.tables("combos", required=False):
        combos.append(
            IntentCombo(
                first=c.strings("first", ()) + _values_words(c, "first_values", slot_words),
                then=c.strings("then", ()),
                max_gap=c.integer("max_gap", 4),
                weight=_real(c, "weight", 2.0),
            )
        )
        c.finish()
    implied = t.strings("implied_by_slots", ())
    for index, slot in enumerate(implied):
        if slot not in SLOT_KINDS:
            raise t.error(f"implied_by_slots[{index}]", f"unknown slot {slot!r}")
    # include_values = ["purpose:house"] reuses a slot value's words as strong keywords.
    included = _values_words(t, "include_values", slot_words)
    spec = IntentSpec(
        id=name,
        weight=_real(t, "weight", 1.0),
        keywords=t.strings("keywords", ()),
        strong=t.strings("strong", ()) + included,
        weak=t.strings("weak", ()),
        exact=t.strings("exact", ()),
        negatable=t.boolean("negatable", False),
        implied_by_slots=implied,
        combos=tuple(combos),
    )
    t.finish()
    return spec


def _values_words(t: TableReader, key: str, slot_words: _SlotWords) -> tuple[str, ...]:
    """Resolve the ``"slot:value"`` references in ``key`` to that value's words."""
    out: list[str] = []
    for index, ref in enumerate(t.strings(key, ())):
        slot, _, value = ref.partition(":")
        words = slot_words.get(slot, {}).get(value)
        if words is None:
            raise t.error(f"{key}[{index}]", f"unknown slot value reference {ref!r}")
        out.extend(words)
    return tuple(out)


def _scam(name: str, t: TableReader) -> ScamSpec:
    pairs = []
    for p in t.tables("pairs", required=False):
        a, b = p.strings("a", ()), p.strings("b", ())
        if not a or not b:
            raise p.error("b" if a else "a", "both a and b are required")
        pairs.append(ScamPair(a=a, b=b, window=p.integer("window", 12)))
        p.finish()
    spec = ScamSpec(id=name, terms=t.strings("terms", ()), pairs=tuple(pairs))
    t.finish()
    return spec


_PICKS: Final = frozenset({"lower", "mid", "upper"})
_RESOLVES: Final = frozenset({"first", "last", "worst"})


def _slot(name: str, t: TableReader) -> SlotSpec:
    values = _word_map(t, "values")
    expect_values = _word_map(t, "expect_values")
    if SLOT_KINDS[name] == "bool":
        for table, words in (("values", values), ("expect_values", expect_values)):
            for value in words:
                if value not in ("true", "false"):
                    raise t.error(f"{table}.{value}", "bool values must be 'true' or 'false'")
    spec = SlotSpec(
        name=name,
        anchors=t.strings("anchors", ()),
        values=MappingProxyType(values),
        expect_values=MappingProxyType(expect_values),
        negatable=t.strings("negatable", ()),
        negated_value=_answer(t, "negated_value"),
        expect_yes=_answer(t, "expect_yes"),
        expect_no=_answer(t, "expect_no"),
        phrases=MappingProxyType(_int_map(t, "phrases")),
        minimum=_decimal(t, "min"),
        maximum=_decimal(t, "max"),
        pick=t.string("pick", "mid", blank=True),
        resolve=t.string("resolve", "last", blank=True),
        order=t.strings("order", ()),
        blockers=t.strings("blockers", ()),
        options=t.strings("options", ()),
        not_values=t.strings("not_values", ()),
        unanchored=t.boolean("unanchored", False),
        habit=t.strings("habit", ()),
    )
    if spec.habit and SLOT_KINDS[name] != "frequency":
        raise t.error("habit", "only frequency slots have habit words")
    if spec.unanchored and SLOT_KINDS[name] not in ("score", "term"):
        raise t.error("unanchored", "only score and term slots take unanchored numbers")
    if SLOT_KINDS[name] not in ("category", "bool") and spec.options:
        raise t.error("options", "only category and bool slots offer numbered options")
    if SLOT_KINDS[name] == "bool" and spec.options and set(spec.options) != {"true", "false"}:
        raise t.error("options", "bool options must be 'true' and 'false'")
    if SLOT_KINDS[name] == "category" and not set(spec.options) <= set(values):
        raise t.error("options", "every option must be one of the slot's values")
    if spec.pick not in _PICKS:
        raise t.error("pick", f"expected one of {', '.join(sorted(_PICKS))}, got {spec.pick!r}")
    if spec.resolve not in _RESOLVES:
        raise t.error(
            "resolve", f"expected one of {', '.join(sorted(_RESOLVES))}, got {spec.resolve!r}"
        )
    if spec.resolve == "worst" and set(spec.order) != set(values):
        raise t.error("order", "must list every value once")
    t.finish()
    return spec


def _read_text(path: Path | str | None) -> tuple[str, str]:
    """The lexicon's text and its file name (the first part of every message)."""
    if path is None:
        # knowledge/ sits next to handlers/ in the source tree and in site-packages;
        # reading the file directly needs no package resources.
        sibling = Path(__file__).resolve().parents[2] / DEFAULT_LEXICON
        if sibling.is_file():
            path = sibling
        else:
            try:
                ref = resources.files("wxloan.knowledge").joinpath("data", "lexicon.toml")
                return ref.read_text(encoding="utf-8"), Path(DEFAULT_LEXICON).name
            except (ImportError, OSError) as exc:
                raise LexiconError(f"cannot read the default lexicon {DEFAULT_LEXICON}") from exc
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), p.name
    except OSError as exc:
        raise LexiconError(f"cannot read lexicon {p}") from exc


def load_lexicon(path: Path | str | None = None) -> Lexicon:
    """Read and validate the lexicon (default: the one shipped in ``knowledge``).

    :param path: a TOML file; None means ``knowledge/data/lexicon.toml``.
    :raises LexiconError: on any unreadable, unknown or mistyped entry.
    """
    text, file = _read_text(path)
    root = TableReader.parse(file, text, error=LexiconError)
    schema = root.integer("schema", 0)
    if schema != 1:
        raise root.error("schema", f"must be 1, got {schema}")

    slots_t = root.table("slots", required=False)
    slot_specs: dict[str, SlotSpec] = {}
    for name in slots_t.names():
        if name not in SLOT_KINDS:
            raise slots_t.error(name, f"unknown slot {name!r}")
        slot_specs[name] = _slot(name, slots_t.table(name))
    slot_words: dict[str, Mapping[str, tuple[str, ...]]] = {
        n: s.values for n, s in slot_specs.items()
    }
    faq_t = root.table("faq", required=False)
    faq = {name: MappingProxyType(_word_map(faq_t, name)) for name in faq_t.names()}
    slot_words.update({f"faq.{name}": words for name, words in faq.items()})

    intents_t = root.table("intents", required=False)
    intents = []
    for name in intents_t.names():
        if name not in INTENT_IDS:
            raise intents_t.error(name, f"unknown intent {name!r}")
        intents.append(_intent(name, intents_t.table(name), slot_words))

    scam_t = root.table("scam", required=False)
    scams = []
    for name in scam_t.names():
        if name not in SCAM_PATTERN_IDS:
            raise scam_t.error(name, f"unknown pattern {name!r}")
        scams.append(_scam(name, scam_t.table(name)))

    norm = root.table("normalize", required=False)
    fuzzy = root.table("fuzzy", required=False)
    nums = root.table("numbers", required=False)
    units = root.table("units", required=False)
    time = root.table("time", required=False)
    neg = root.table("negation", required=False)
    hyp = root.table("hypothetical", required=False)
    ans = root.table("answers", required=False)
    menu = root.table("menu", required=False)
    others = root.table("third_party", required=False)
    rates = root.table("rates", required=False)
    char_map = _str_map(norm, "char_map")
    digits = _int_map(nums, "digits")
    if not digits or any(len(k) != 1 or not 0 <= v <= 9 for k, v in digits.items()):
        raise nums.error("digits", "single characters with values 0-9 are required")
    magnitudes = _int_map(nums, "magnitudes")
    if any(len(k) != 1 for k in magnitudes):
        raise nums.error("magnitudes", "keys must be single characters")
    if any(len(k) != 1 or len(v) != 1 for k, v in char_map.items()):
        raise norm.error("char_map", "keys and values must be single characters")
    time_units = {k: time.strings(k, ()) for k in ("day", "week", "month", "year")}
    frequency = _word_map(root, "frequency")
    if set(frequency) - {"day", "week", "month"}:
        raise root.error("frequency", "only day, week and month are allowed")
    rate_anchors = {k: rates.strings(k, ()) for k in ("annual", "monthly", "daily", "generic")}
    lex = Lexicon(
        char_map=MappingProxyType(char_map),
        typos=MappingProxyType(_str_map(norm, "typos")),
        clause_breaks=norm.strings("clause_breaks", ()),
        fuzzy_terms=fuzzy.strings("terms", ()),
        fuzzy_keep=fuzzy.strings("keep", ()),
        fuzzy_max_text=fuzzy.integer("max_text", 300),
        digits=MappingProxyType(digits),
        magnitudes=MappingProxyType(magnitudes),
        some=_char(nums, "some"),
        half=_char(nums, "half"),
        point=_char(nums, "point"),
        fractions=MappingProxyType(_int_map(nums, "fractions")),
        per_ten_thousand=_char(nums, "per_ten_thousand"),
        not_more=nums.strings("not_more", ()),
        month_not_before=time.strings("month_not_before", ()),
        negation_tail=neg.string("tail", "", blank=True),
        negation_questions=neg.strings("questions", ()),
        negation_exempt=neg.strings("not_negations", ()),
        numeral_aliases=MappingProxyType(_str_map(nums, "aliases")),
        not_numbers=nums.strings("not_numbers", ()),
        approx_before=nums.strings("approx_before", ()),
        approx_after=nums.strings("approx_after", ()),
        range_suffix=nums.strings("range_suffix", ()),
        approx_suffix=nums.strings("approx_suffix", ()),
        range_joiners=nums.strings("range_joiners", ()),
        ji_range=_pair(nums, "ji_range", (2, 9)),
        bare_ji_range=_pair(nums, "bare_ji_range", (2, 5)),
        money_units=units.strings("money", ()),
        count_units=units.strings("count", ()),
        score_units=units.strings("score", ()),
        score_not_before=units.strings("score_not_before", ()),
        period_units=units.strings("period", ()),
        ignored_units=units.strings("ignore", ()),
        time_units=MappingProxyType(time_units),
        window_before=time.strings("window_before", ()),
        window_after=time.strings("window_after", ()),
        ago=time.strings("ago", ()),
        days_ago_words=MappingProxyType(_int_map(time, "days_ago")),
        negation_before=neg.strings("before", ()),
        negation_after=neg.strings("after", ()),
        negation_spread=neg.strings("spread", ()),
        negation_max_gap=neg.integer("max_gap", 2),
        hypothetical=hyp.strings("markers", ()),
        yes=ans.strings("yes", ()),
        no=ans.strings("no", ()),
        skip=ans.strings("skip", ()),
        particles=ans.string("particles", "", blank=True),
        menu_max_choice=menu.integer("max_choice", 9),
        menu_prefixes=menu.strings("prefixes", ()),
        menu_suffixes=menu.strings("suffixes", ()),
        products=MappingProxyType(_word_map(root, "products")),
        frequency=MappingProxyType(frequency),
        rate_anchors=MappingProxyType(rate_anchors),
        apr_max=_decimal(rates, "apr_max") or Decimal(1),
        daily_max=_decimal(rates, "daily_max") or Decimal("0.01"),
        daily_below=_decimal(rates, "daily_below") or Decimal("0.001"),
        intents=tuple(intents),
        scams=tuple(scams),
        slots=MappingProxyType(slot_specs),
        third_party=others.strings("words", ()),
        first_person=others.strings("self", ()),
        faq=MappingProxyType(faq),
        some_after=nums.strings("some_after", ()),
        a_bit_more=nums.strings("a_bit_more", ()),
        days_ago_just=time.strings("just", ()),
        point_units=units.strings("points", ()),
        denies_number=neg.strings("denies_number", ()),
    )
    for t in (norm, fuzzy, nums, units, time, neg, hyp, ans, menu, others, faq_t, rates, root):
        t.finish()
    return lex
