"""The result type of :func:`understand` and the ids it may contain.

The ids below are the contract with the dialogue handlers and the applicant
profile, so they live in code; the *words* that map onto them live in
``knowledge/data/lexicon.toml``.  The lexicon loader rejects any id not
listed here, which keeps a typo in the data from silently creating a new
intent or slot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "INTENT_IDS",
    "SCAM_PATTERN_IDS",
    "SLOT_KINDS",
    "SLOT_NAMES",
    "SlotKind",
    "Understanding",
]

INTENT_IDS: Final[tuple[str, ...]] = (
    "eligibility",
    "requirements",
    "rejection",
    "rejection_reasons",
    "limit_raise",
    "limit_factors",
    "rates",
    "channels",
    "special_groups",
    "risk_control",
    "after_opening",
    "calculator",
    "banned_purpose",
    "scam",
    "greeting",
    "help",
    "restart",
    "cancel",
    "thanks",
    "goodbye",
    "why",
    "more",
    "human",
    "menu_choice",
    # answer-first dialogue (issue 12)
    "scam_aftermath",  # the money or a code is already gone: what to do now
    "end_handoff",  # 结束人工 / 回到机器人
    "bot_identity",  # 你是机器人吗 (answered, never a transfer)
    "correction",  # 说错了 / 应该是 …: the value corrects the last fact given
    "impatient",  # 直接说结果 / 别问了: the verdict now, with what is known
    "detailed",  # 详细评估: keep refining with the questions that still matter
    "last_result",  # 上次的评估结果
    "product_info",  # one product's figures (微粒贷利率多少, We2000最高多少)
    "group_info",  # a group's limit and requirements (学生额度上限是多少)
    "materials_info",  # what a material brings (上传房产证能提多少)
    "risk_grades",  # what A/B/C grades mean
    "discount",  # first-loan discount
    "rate_conversion",  # daily rate <-> APR
    "uncovered",  # a question the article does not answer (提前还款怎么操作)
    # trained understanding (issue 13)
    "out_of_scope",  # not about loans or this bot (chit-chat, other topics, gibberish)
)

SCAM_PATTERN_IDS: Final[tuple[str, ...]] = (
    "upfront_fee",
    "internal_channel",
    "fake_flow",
    "verification_code",
    "safe_account",
    "impersonation",
    "phishing_link",  # SMS/links claiming a raised limit or a refund
    "unknown_app",  # "download this app to borrow"
    "credit_repair",  # fees to "repair" a credit report
    "campus_loan_cancel",  # "your campus loan must be cancelled"
    "refund",  # fake refunds / claims
)

SlotKind = Literal[
    "score",  # an int read next to its anchor or the unit 分
    "count",  # an int of times (次): inquiries
    "frequency",  # times per week, converted from per day / per month
    "duration",  # a length of time in months (用了两年 -> 24)
    "periods",  # repayment periods or months paid on time
    "money",  # an amount in 元
    "term",  # loan term in months (期 / 个月 / 年)
    "rate",  # a Decimal fraction
    "days_ago",  # days since an event
    "category",  # one value out of a closed set
    "set",  # several values out of a closed set
    "bool",
]

# Each slot's kind fixes its Python type, so the profile owner can rely on it.
SLOT_KINDS: Final[Mapping[str, SlotKind]] = MappingProxyType(
    {
        "pay_score": "score",
        "overdue": "category",
        "inquiries_3m": "count",
        "payments_per_week": "frequency",
        "pay_history_months": "duration",
        "identity": "category",
        "materials": "set",
        "lingqiantong_balance": "money",
        "ontime_periods": "periods",
        "purpose": "category",
        "real_name_verified": "bool",
        "account_normal": "bool",
        "face_verified": "bool",
        "rejected_before": "bool",
        "rejected_days_ago": "days_ago",
        "rejection_hint": "category",
        "amount": "money",
        "months": "term",
        "apr": "rate",
        "daily_rate": "rate",
    }
)

SLOT_NAMES: Final[tuple[str, ...]] = tuple(SLOT_KINDS)


@dataclass(frozen=True, slots=True)
class Understanding:
    """What one user message says, as far as the bot's domain is concerned.

    :param intents: intent ids, best first; ``scam`` is always first when a
        scam pattern was seen.  Empty when the message only states facts.
    :param slots: profile or calculator facts, keyed by slot name; only
        positive facts the user stated (see ``negated`` for denials).
        Values: ``pay_score``, ``inquiries_3m``, ``payments_per_week``,
        ``pay_history_months``, ``lingqiantong_balance``, ``ontime_periods``,
        ``rejected_days_ago``, ``amount``, ``months`` are ``int``;
        ``apr`` / ``daily_rate`` are ``Decimal`` fractions; ``overdue``,
        ``identity``, ``purpose``, ``rejection_hint`` are ``str``;
        ``materials`` is ``list[str]``; the three ``*_verified`` /
        ``rejected_before`` slots are ``bool``.
    :param negated: slot names the user explicitly denied (没有社保 -> materials).
    :param negated_values: for those slots, which values were denied
        (``{"materials": {"social_security"}}``), so "有房，没社保" stays precise.
    :param yes_no: a bare yes / no answer, if the message opens with one.
    :param skip: the user does not know or wants to skip the question.
    :param choice: the number of a bare menu choice (1-9).
    :param ranges: (low, high) when the user gave a range (六七百, 两三次).
    :param approximate: slots whose value is a guess (左右, 大概, 多, ranges).
    :param scam_patterns: ids from :data:`SCAM_PATTERN_IDS` that were seen.
    :param out_of_range: values that were recognised but are implausible for
        their slot (支付分九百); they are *not* copied into ``slots``.
    :param products: canonical product ids mentioned (``weilidai`` ...).
    :param third_party: the message is about someone else (我老婆是学生，她能办吗):
        its facts describe that person, not the user.
    :param first_person: the message speaks of the user (我是学生…), so a group it names
        is the user's own, not only the subject of a question (学生额度上限是多少).
    :param confidence: how sure the reading of ``intents[0]`` is, 0..1 (1.0 when a rule
        decided it: a command, a menu number, a scam pattern, an exact phrase).
    :param alternatives: the intent model's best readings with their probabilities, best
        first (empty when the model was not consulted); a clarifying question offers them.
    :param source: who chose ``intents[0]``: ``"rules"``, ``"model"`` or ``"none"``.
    """

    intents: tuple[str, ...] = ()
    slots: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    negated: frozenset[str] = frozenset()
    negated_values: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    yes_no: bool | None = None
    skip: bool = False
    choice: int | None = None
    ranges: Mapping[str, tuple[int, int]] = field(default_factory=lambda: MappingProxyType({}))
    approximate: frozenset[str] = frozenset()
    scam_patterns: tuple[str, ...] = ()
    out_of_range: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    products: tuple[str, ...] = ()
    third_party: bool = False
    first_person: bool = False
    confidence: float = 1.0
    alternatives: tuple[tuple[str, float], ...] = ()
    source: str = "rules"

    @property
    def intent(self) -> str | None:
        """The best intent, or None; most handlers only need this."""
        return self.intents[0] if self.intents else None
