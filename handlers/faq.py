"""Direct answers from the knowledge base, one short bubble each; mid-flow they lead back.

A question picks its answer in two steps. The first topic intent of the message says
*what* is asked (a product's figures, a group's limit, a channel, a material, the risk
grades, the first-loan discount, daily rate ⇄ APR, or a topic the article does not
cover); the entity it names says *which* one: the product and the group come from the
understanding, the channel, the risk grade and the uncovered topic from the lexicon's
``[faq.*]`` tables. Every figure a template prints is a field of the knowledge base
(or computed from one by the core, such as a rate conversion), never typed in a template.

Follow-ups keep context: the answer is remembered in ``Memory.last`` as
``{"topic": "faq", "faq": kind, "sources": [...], "product": …, "focus": …}`` (plus the
group, channel, material, grade or uncovered topic it was about), so "那We2000呢" after a
product's rates gives We2000's rates, "利率呢" after a product gives that product's, and
"社保呢" after a material gives that material. The last flow (``"flow"``) is kept, so a
correction after a side question still knows which card to redo.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wxloan.knowledge import (
    CalculatorError,
    Identity,
    KnowledgeBase,
    Material,
    apr_to_daily_rate,
    daily_rate_to_apr,
)
from wxloan.knowledge.calculator import DAYS_PER_YEAR
from wxloan.knowledge.pricing import apr_range

from .contract import Kind, Outcome, Say, Turn
from .flows import resume_says
from .memory import Memory
from .nlu import Understanding
from .nlu.lexicon import Lexicon
from .routing import Router

__all__ = ["DAY_COUNTS", "FAQ_TOPICS", "KINDS", "router"]

router = Router("faq")

#: intent → (template topic, article sections the answer rests on, for "为什么"):
#: the topics answered by one whole-topic card.
FAQ_TOPICS: Mapping[str, tuple[str, tuple[int, ...]]] = {
    "requirements": ("eligibility", (1, 2)),
    "limit_factors": ("limit_factors", (4,)),
    "rejection_reasons": ("rejection_reasons", (8,)),
    "rates": ("rates", (6, 2)),
    "channels": ("channels", (3,)),
    "special_groups": ("special_groups", (7,)),
    "risk_control": ("risk_control", (5,)),
    "after_opening": ("after_opening", (9,)),
    "banned_purpose": ("banned_purpose", (5,)),
}
#: The day counts a daily rate is converted with: the calculator's default (360) and
#: the 365 of the article's 18.25% = 0.05 %/day × 365 (the calculator accepts both).
DAY_COUNTS = (DAYS_PER_YEAR, 365)
_SMALL_TALK = {"greeting": "greeting", "help": "menu", "thanks": "thanks", "goodbye": "goodbye"}
#: Calculator inputs: with an amount or a term, a rate is the calculator's, not a conversion.
_LOAN_SLOTS = frozenset({"amount", "months"})
_RATE_SLOTS = ("daily_rate", "apr")


@dataclass(frozen=True, slots=True)
class _Answer:
    """One direct answer: its template and context, its sources, what to remember."""

    kind: str
    template: str
    context: dict[str, Any]
    sources: tuple[str, ...]
    remember: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Ask:
    """What one turn brings to an answer: the message, what is known, the last answer."""

    turn: Turn
    understanding: Understanding
    memory: Memory
    last: Mapping[str, Any]

    @property
    def kb(self) -> KnowledgeBase:
        return self.turn.services.kb

    def recalled(self, key: str, *kinds: str) -> Any:
        """``key`` of the last answer, when this is a follow-up ("利率呢") to one of ``kinds``."""
        if self.last.get("faq") not in kinds:
            return None
        words = _words(self.turn)
        follows = words.find("markers", words.normalise(self.turn.text)) == "follow_up"
        return self.last.get(key) if follows else None


# --- which one: the entities a question names ---------------------------------------


class _Words:
    """The lexicon's ``[faq.*]`` tables, matched on the message as the understander sees it."""

    def __init__(self, lexicon: Lexicon) -> None:
        self._table = str.maketrans(dict(lexicon.char_map))
        self._typos = sorted(lexicon.typos.items(), key=lambda kv: -len(kv[0]))
        #: per table, (word, id) longest word first
        self._tables = {
            name: sorted(
                ((w, key) for key, words in table.items() for w in words),
                key=lambda pair: -len(pair[0]),
            )
            for name, table in lexicon.faq.items()
        }
        self.nearest: Mapping[str, tuple[str, ...]] = lexicon.faq.get("nearest", {})

    def normalise(self, text: str) -> str:
        s = unicodedata.normalize("NFKC", text).lower().translate(self._table)
        s = "".join(s.split())
        for wrong, right in self._typos:
            s = s.replace(wrong, right)
        return s

    def find(self, table: str, text: str) -> str | None:
        """The id of the longest word of ``table`` in ``text`` (normalised), or None."""
        return next((key for w, key in self._tables.get(table, ()) if w in text), None)


_WORDS: dict[int, tuple[Lexicon, _Words]] = {}


def _words(turn: Turn) -> _Words:
    lexicon = turn.services.understander.lexicon
    found = _WORDS.get(id(lexicon))
    if found is None or found[0] is not lexicon:
        found = (lexicon, _Words(lexicon))
        _WORDS[id(lexicon)] = found
    return found[1]


def _named_products(ask: _Ask) -> list[str]:
    keys = {p.key for p in ask.kb.products}
    return [p for p in ask.understanding.products if p in keys]


def _rate_value(ask: _Ask) -> tuple[Decimal | None, Decimal | None]:
    """(daily %, APR %) the message states, when it is no calculator question."""
    slots = ask.understanding.slots
    if _LOAN_SLOTS & set(slots):
        return None, None
    daily, apr = slots.get("daily_rate"), slots.get("apr")
    return (
        Decimal(str(daily)) * 100 if daily is not None else None,
        Decimal(str(apr)) * 100 if apr is not None else None,
    )


# --- the answers --------------------------------------------------------------------


def _product(ask: _Ask, key: str, focus: str | None) -> _Answer:
    kb = ask.kb
    product = kb.product(key)
    profile = ask.memory.profile
    score = profile.pay_score
    tiers: list[dict[str, Any]] = []
    sources = [product.id]
    if focus == "rate":
        for tier in kb.tiers:
            if tier.max_pay_score is not None and tier.max_pay_score < product.min_pay_score:
                continue
            low = max(tier.min_pay_score, product.min_pay_score)
            span, _ = apr_range(product, low, None, kb)
            tiers.append({"low": low, "high": tier.max_pay_score, "apr": span})
            sources.append(tier.id)
    mine = None
    if score is not None and score >= product.min_pay_score:
        mine, reasons = apr_range(product, score, profile.identity, kb)
        sources.extend(s for r in reasons for s in r.sources if s not in sources)
    context = {"kb": kb, "product": key, "focus": focus, "tiers": tiers,
               "pay_score": score, "mine": mine}
    return _Answer("product", "faq_product", context, tuple(sources),
                   {"product": key, "focus": focus})


def _products(ask: _Ask) -> _Answer:
    kb = ask.kb
    sources = tuple(p.id for p in kb.products)
    return _Answer("products", "faq_products", {"kb": kb}, sources)


def _product_info(ask: _Ask) -> _Answer:
    named = _named_products(ask)
    focus = "rate" if {"rates", "rate_conversion"} & set(ask.understanding.intents) else None
    if not named:
        recalled = ask.recalled("product", "product")
        if recalled is None:
            return _products(ask)
        named = [recalled]
    if len(named) > 1:
        return _products(ask)
    if focus is None and ask.understanding.intents == ("product_info",):
        focus = ask.recalled("focus", "product")  # "那We2000呢": the same question
    return _product(ask, named[0], focus)


def _rates(ask: _Ask) -> _Answer | None:
    """利率: a named (or just discussed) product's rates; a stated rate converted."""
    daily, apr = _rate_value(ask)
    if daily is not None or apr is not None:
        return _conversion(ask)  # 年化18%日利率多少, 日利率0.02%: convert it
    named = _named_products(ask)
    if len(named) == 1:
        return _product(ask, named[0], "rate")
    recalled = ask.recalled("product", "product")
    if recalled is not None and not named:
        return _product(ask, recalled, "rate")
    return None  # the whole pricing topic


def _conversion(ask: _Ask) -> _Answer:
    kb = ask.kb
    named = _named_products(ask)
    daily, apr = _rate_value(ask)
    if daily is None and apr is None and len(named) == 1:
        return _product(ask, named[0], "rate")  # "what APR has product X": that product's rates
    reference = kb.product("weilidai")  # the article's two pairs: Weilidai's floor and ceiling
    context: dict[str, Any] = {
        "kb": kb,
        "daily_pct": daily,
        "apr_pct": apr,
        "days": DAY_COUNTS,
        "pairs": [
            (apr_to_daily_rate(reference.apr_min, DAY_COUNTS[0]), DAY_COUNTS[0],
             reference.apr_min),
            (apr_to_daily_rate(reference.apr_max, DAY_COUNTS[1]), DAY_COUNTS[1],
             reference.apr_max),
        ],
        "to_apr": None,
        "to_daily": None,
        "invalid": False,
    }
    try:
        if daily is not None:
            context["to_apr"] = [daily_rate_to_apr(daily, days) for days in DAY_COUNTS]
        if apr is not None:
            context["to_daily"] = [apr_to_daily_rate(apr, days) for days in DAY_COUNTS]
    except CalculatorError:
        context.update(to_apr=None, to_daily=None, invalid=True)
    return _Answer("rate_conversion", "faq_rate_conversion", context, (reference.id,))


def _group(ask: _Ask) -> _Answer | None:
    kb = ask.kb
    value = ask.understanding.slots.get("identity") or ask.recalled("identity", "group")
    identity = next((i for i in Identity if i.value == value), None)
    group = kb.group(identity) if identity is not None else None
    if group is None:
        return None  # no special track named: the overview
    sources = [group.id]
    if group.identity is Identity.STUDENT:
        sources.extend(p.id for p in kb.products)
    elif group.identity is Identity.BUSINESS_OWNER:
        sources.append(kb.material(Material.BUSINESS).id)
    else:
        sources.append(kb.rules.first_loan_discount_pct.id)
    context = {"kb": kb, "identity": group.identity.value}
    return _Answer("group", "faq_group", context, tuple(sources),
                   {"identity": group.identity.value})


def _channel(ask: _Ask) -> _Answer | None:
    kb = ask.kb
    words = _words(ask.turn)
    key = words.find("channels", words.normalise(ask.turn.text))
    if key is None:
        key = ask.recalled("channel", "channel")
    if key is None:
        return None
    channel = kb.channel(key)
    return _Answer("channel", "faq_channel", {"kb": kb, "channel": key},
                   (channel.id, kb.rules.channel_spread_pct.id), {"channel": key})


def _material(ask: _Ask) -> _Answer:
    kb = ask.kb
    held = ask.understanding.slots.get("materials")
    named = [str(m) for m in held] if isinstance(held, list) else []
    key = named[0] if len(named) == 1 else None
    if not named:
        key = ask.recalled("material", "material")
    if key is None:
        sources = tuple(m.id for m in kb.materials) + tuple(
            f.id for f in kb.factors if f.key == "assets"
        )
        return _Answer("materials", "faq_materials", {"kb": kb}, sources)
    info = kb.material(Material(key))
    return _Answer("material", "faq_material", {"kb": kb, "material": key}, (info.id,),
                   {"material": key})


def _grades(ask: _Ask) -> _Answer:
    kb = ask.kb
    words = _words(ask.turn)
    grade = words.find("grades", words.normalise(ask.turn.text))
    sources = tuple(g.id for g in kb.grades)
    return _Answer("risk_grades", "faq_risk_grades", {"kb": kb, "grade": grade}, sources,
                   {"grade": grade})


def _discount(ask: _Ask) -> _Answer:
    kb = ask.kb
    sources = (kb.rules.first_loan_discount_pct.id, *(p.id for p in kb.products))
    return _Answer("discount", "faq_discount", {"kb": kb}, sources)


def _uncovered(ask: _Ask) -> _Answer:
    kb = ask.kb
    words = _words(ask.turn)
    topic = words.find("uncovered", words.normalise(ask.turn.text))
    nearest = tuple(
        kb.entries[i] for i in (words.nearest.get(topic, ()) if topic else ()) if i in kb.entries
    )
    context = {"kb": kb, "topic": topic, "nearest": nearest}
    return _Answer("uncovered", "faq_uncovered", context, tuple(e.id for e in nearest),
                   {"uncovered": topic})


def _topic_card(intent: str) -> Callable[[_Ask], _Answer]:
    """A whole-topic card (the article's section), as before the direct answers."""
    topic, sections = FAQ_TOPICS[intent]

    def answer(ask: _Ask) -> _Answer:
        kb = ask.kb
        understanding = ask.understanding
        context: dict[str, Any] = {"kb": kb}
        if topic == "special_groups":
            context["identity"] = understanding.slots.get("identity")
        if topic == "banned_purpose":
            purpose = understanding.slots.get("purpose")
            context["purpose"] = purpose if purpose in ("house", "investment") else None
        sources = tuple(entry.id for n in sections for entry in kb.section_entries(n))
        return _Answer(topic, f"faq_{topic}", context, sources)

    return answer


def _first(*choices: Callable[[_Ask], _Answer | None]) -> Callable[[_Ask], _Answer]:
    """The first choice that answers; the last one always does."""

    def answer(ask: _Ask) -> _Answer:
        for choice in choices:
            found = choice(ask)
            if found is not None:
                return found
        raise AssertionError("the last choice must always answer")

    return answer


#: intent → how it is answered.
KINDS: Mapping[str, Callable[[_Ask], _Answer]] = {
    "uncovered": _uncovered,
    "product_info": _product_info,
    "group_info": _first(_group, _topic_card("special_groups")),
    "special_groups": _first(_group, _topic_card("special_groups")),
    "materials_info": _material,
    "risk_grades": _grades,
    "discount": _discount,
    "rate_conversion": _conversion,
    "rates": _first(_rates, _topic_card("rates")),
    "channels": _first(_channel, _topic_card("channels")),
    **{
        intent: _topic_card(intent)
        for intent in FAQ_TOPICS
        if intent not in ("rates", "channels", "special_groups")
    },
}
#: Intents that name what is asked more precisely than the one ranked first: the
#: article's silence on a topic is said even when a product is named with it
#: (微粒贷官方电话是多少), and a stated rate is converted (年化18%日利率多少).
_PRECEDENCE = ("uncovered",)


def _kind(understanding: Understanding) -> str | None:
    intents = understanding.intents
    for intent in _PRECEDENCE:
        if intent in intents:
            return intent
    return next((i for i in intents if i in KINDS), None)


def _absorbed(understanding: Understanding, kind: str) -> Understanding:
    """What the profile learns: a question about a material says nothing about having it."""
    if kind != "materials_info":
        return understanding
    slots = {k: v for k, v in understanding.slots.items() if k != "materials"}
    return dataclasses.replace(
        understanding,
        slots=slots,
        negated=understanding.negated - {"materials"},
        negated_values={k: v for k, v in understanding.negated_values.items() if k != "materials"},
    )


@router.on(Kind.TEXT)
async def faq(turn: Turn) -> Outcome | None:
    """The direct answer from the knowledge base; remember it for follow-ups and "为什么"."""
    understanding = turn.understanding
    kind = _kind(understanding)
    if kind is None:
        return None  # no article topic asked: the next route's
    memory = turn.memory()
    last = dict(memory.last or {})
    memory.absorb(_absorbed(understanding, kind), turn.today, None)
    answer = KINDS[kind](_Ask(turn, understanding, memory, last))
    remembered: dict[str, Any] = {"topic": "faq", "faq": answer.kind,
                                  "sources": list(answer.sources)}
    remembered.update({k: v for k, v in answer.remember.items() if v is not None})
    if "flow" in last:
        remembered["flow"] = last["flow"]
    memory.last = remembered
    return turn.stay(Say(answer.template, answer.context), *resume_says(turn),
                     slots=memory.to_slots())


@router.on(Kind.TEXT, when=lambda turn: turn.understanding.intent in _SMALL_TALK)
async def small_talk(turn: Turn) -> Outcome:
    """Greeting, help, thanks, goodbye: short answer; menu when idle, the question mid-flow."""
    intent = turn.understanding.intent
    assert intent is not None
    says = [Say(_SMALL_TALK[intent])]
    resume = resume_says(turn)
    if intent == "goodbye":
        memory = turn.memory()
        memory.start_flow()
        memory.calc = {}
        return Outcome(says=tuple(says), flow=None, step=None, slots=memory.to_slots())
    if not resume and intent == "greeting":
        says.append(Say("menu"))
    return turn.stay(*says, *resume)
