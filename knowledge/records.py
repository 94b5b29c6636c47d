"""Typed records of the knowledge data, one frozen dataclass per kind of fact.

Every record carries the ``id`` of the knowledge entry it was read from, so any
conclusion built on it can cite that entry. Percentages are kept as percent
numbers (``Decimal("7.2")`` means 7.2 %), money as whole 元.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .enums import Identity, Material, Purpose, RiskGrade

__all__ = [
    "AntiFraud",
    "AprSpan",
    "BannedPurposes",
    "Channel",
    "Entry",
    "Factor",
    "Figure",
    "GradeInfo",
    "MaterialInfo",
    "PriceTier",
    "Product",
    "Rules",
    "ScoreBoost",
    "Section",
    "SpecialGroup",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One citable fact: what the bot shows when asked "为什么?"."""

    id: str
    section: int
    text: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the article; numbering is ours, the heading is the article's."""

    number: int
    title: str
    article_heading: str


@dataclass(frozen=True, slots=True)
class Product:
    """A row of the products table."""

    id: str
    key: str
    name: str
    min_pay_score: int
    limit_min: int
    limit_max: int
    apr_min: Decimal
    apr_max: Decimal


@dataclass(frozen=True, slots=True)
class Channel:
    """A row of the channels table."""

    id: str
    key: str
    name: str
    path: str
    feature: str
    review_minutes_min: int
    review_minutes_max: int
    instant: bool
    pass_rate_pct: int
    limit_error_pct: int


@dataclass(frozen=True, slots=True)
class Factor:
    """A weighted input of the limit model."""

    id: str
    key: str
    weight_pct: int
    lookback_months: int | None


@dataclass(frozen=True, slots=True)
class MaterialInfo:
    """A row of the supplementary-materials table."""

    id: str
    material: Material
    name: str
    probability_pct: int
    avg_increase_pct: int
    effective_working_days: int

    @property
    def expected_gain_pct(self) -> Decimal:
        """Probability × average increase, in percent of the current limit."""
        return Decimal(self.probability_pct * self.avg_increase_pct) / 100


@dataclass(frozen=True, slots=True)
class PriceTier:
    """A pay-score pricing tier; ``max_pay_score`` None means open-ended."""

    id: str
    key: str
    label: str
    min_pay_score: int
    max_pay_score: int | None
    apr_min: Decimal
    apr_max: Decimal

    def contains(self, pay_score: int) -> bool:
        """Whether a pay score falls in this tier."""
        upper = self.max_pay_score
        return pay_score >= self.min_pay_score and (upper is None or pay_score <= upper)


@dataclass(frozen=True, slots=True)
class GradeInfo:
    """What a risk grade means for the limit."""

    id: str
    grade: RiskGrade
    effect: str
    limit_change_pct: int | None


@dataclass(frozen=True, slots=True)
class SpecialGroup:
    """A special-track applicant group; ``limit_cap`` None means no figure given."""

    id: str
    identity: Identity
    limit_cap: int | None


@dataclass(frozen=True, slots=True)
class Figure:
    """A single article figure that a rule depends on."""

    id: str
    value: int


@dataclass(frozen=True, slots=True)
class ScoreBoost:
    """Pay score at and above which the opening success rate rises."""

    id: str
    pay_score: int
    success_rate_increase_pct: int


@dataclass(frozen=True, slots=True)
class AprSpan:
    """The overall APR span the introduction quotes."""

    id: str
    apr_min: Decimal
    apr_max: Decimal


@dataclass(frozen=True, slots=True)
class BannedPurposes:
    """Loan purposes the risk rules forbid."""

    id: str
    purposes: frozenset[Purpose]


@dataclass(frozen=True, slots=True)
class Rules:
    """Every single figure the rules use, each tied to its entry."""

    overall_apr: AprSpan
    pay_history_months: Figure
    score_boost: ScoreBoost
    channel_spread_pct: Figure
    model_variables: Figure
    supplement_increase_pct: Figure
    banned_purposes: BannedPurposes
    inactivity_days: Figure
    first_loan_discount_pct: Figure
    inquiry_wait_months: Figure
    min_payments_per_week: Figure
    payment_effect_pct: Figure
    materials_effect_pct: Figure
    cooling_days: Figure
    ontime_periods: Figure
    lingqiantong_threshold_yuan: Figure
    annual_growth_pct: Figure
    max_inquiries_3m: Figure
    anti_fraud: AntiFraud


# --- anti-fraud numbers (policy.toml [anti_fraud]) -------------------------------


@dataclass(frozen=True, slots=True)
class AntiFraud:
    """Public numbers the scam replies give: not article figures, so no entry id.

    Kept in the data rather than in the templates so that every number a user reads
    comes from ``knowledge/data``, each with a note saying where it comes from.
    """

    police: str  #: the emergency number to report a fraud (报警)
    hotline: str  #: the national anti-fraud line (反诈专线)
