"""Result types of assess / diagnose_rejection / limit_plan / next_questions.

Conclusions are codes with params, never prose: templates (owned by the bot) turn
them into Chinese. Every code and its params are documented in
:data:`knowledge.codes.CODES`. Every conclusion carries ``sources``: the ids of the
knowledge entries it rests on, for ``kb.explain(x.sources)`` ("为什么?").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from .enums import Evidence, Identity, Lean, Purpose, RiskGrade, Status
from .errors import UnknownEntryError

__all__ = [
    "Action",
    "Assessment",
    "Cause",
    "ChannelAdvice",
    "Diagnosis",
    "Effect",
    "LimitPlan",
    "Param",
    "ProductVerdict",
    "Question",
    "Range",
    "Reason",
    "Remedy",
    "RiskEstimate",
    "SpecialTrack",
    "merge_sources",
]

#: A code parameter value; None where CODES says the value may be unknown.
Param = int | str | Decimal | date | tuple[str, ...] | None

_N = TypeVar("_N", int, Decimal)


def merge_sources(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Concatenate id lists, dropping repeats but keeping first-seen order."""
    return tuple(dict.fromkeys(i for group in groups for i in group))


@dataclass(frozen=True, slots=True)
class Reason:
    """One coded conclusion: ``code`` names it, ``params`` fill its template."""

    code: str
    params: Mapping[str, Param]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range(Generic[_N]):
    """An inclusive range; limits in 元 (int), APRs in percent (Decimal)."""

    low: _N
    high: _N


@dataclass(frozen=True, slots=True)
class ProductVerdict:
    """Whether one product's reference thresholds are met, and indicative ranges.

    ``status`` is never an approval: "yes" means the article's reference thresholds
    are met. ``limit``/``apr`` are None when the status is "no".
    """

    product: str
    status: Status
    reasons: tuple[Reason, ...]
    limit: Range[int] | None
    apr: Range[Decimal] | None
    pricing: tuple[Reason, ...]
    product_source: str

    @property
    def sources(self) -> tuple[str, ...]:
        """Entries behind the status and the ranges."""
        return merge_sources(
            [(self.product_source,), *(r.sources for r in self.reasons + self.pricing)]
        )

    @property
    def pending(self) -> tuple[str, ...]:
        """Fields still unknown that could turn this product to "no", in rule order."""
        return tuple(
            str(r.params["field"]) for r in self.reasons if r.code == "field_unknown"
        )

    @property
    def lean(self) -> Lean:
        """The verdict on what is known now (see :class:`~knowledge.enums.Lean`)."""
        if self.status is Status.YES:
            return Lean.YES
        if self.status is Status.NO:
            return Lean.NO
        return Lean.DEPENDS if "pay_score" in self.pending else Lean.LIKELY


@dataclass(frozen=True, slots=True)
class RiskEstimate:
    """Our estimate of the article's daily risk grade; None = too little known."""

    grade: RiskGrade | None
    effect: str | None
    limit_change_pct: int | None
    reasons: tuple[Reason, ...]
    grade_source: str | None

    @property
    def sources(self) -> tuple[str, ...]:
        """Entries behind the grade and its meaning."""
        own = (self.grade_source,) if self.grade_source else ()
        return merge_sources([own, *(r.sources for r in self.reasons)])


@dataclass(frozen=True, slots=True)
class ChannelAdvice:
    """The recommended opening channel (key) and why; None when nothing is in reach."""

    channel: str | None
    reasons: tuple[Reason, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Entries behind the recommendation."""
        return merge_sources(r.sources for r in self.reasons)


@dataclass(frozen=True, slots=True)
class SpecialTrack:
    """The special-group track (section 7) that applies to the user."""

    identity: Identity
    limit_cap: int | None
    reasons: tuple[Reason, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Entries behind the track."""
        return merge_sources(r.sources for r in self.reasons)


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything assess() concluded for one profile.

    :param decided: a hard rule (current overdue, failed real-name/face check,
        abnormal account, banned purpose) made every product "no"
    :param factors: known facts that raise or lower the chances without deciding
    :param reminders: advice that always applies (the article's closing advice)
    """

    verdicts: tuple[ProductVerdict, ...]
    risk: RiskEstimate
    channel: ChannelAdvice
    banned_purpose: Purpose | None
    special_track: SpecialTrack | None
    factors: tuple[Reason, ...]
    reminders: tuple[Reason, ...]
    decided: bool

    @property
    def useful(self) -> bool:
        """True when some product's verdict is already decided or likely (not all "depends")."""
        return any(v.lean is not Lean.DEPENDS for v in self.verdicts)

    @property
    def pending(self) -> tuple[str, ...]:
        """Every field still open for some product, in rule order, without repeats."""
        return tuple(dict.fromkeys(f for v in self.verdicts for f in v.pending))

    def verdict(self, product: str) -> ProductVerdict:
        """The verdict for one product key."""
        for verdict in self.verdicts:
            if verdict.product == product:
                return verdict
        raise UnknownEntryError(f"unknown product {product!r}")

    @property
    def sources(self) -> tuple[str, ...]:
        """Every entry the assessment rests on."""
        parts: list[Iterable[str]] = [v.sources for v in self.verdicts]
        parts += [self.risk.sources, self.channel.sources]
        if self.special_track is not None:
            parts.append(self.special_track.sources)
        parts += [r.sources for r in self.factors + self.reminders]
        return merge_sources(parts)


@dataclass(frozen=True, slots=True)
class Effect:
    """The article's measured effect of a remedy."""

    code: str
    params: Mapping[str, Param]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Remedy:
    """What to do about a rejection cause, and what the article says it achieves."""

    code: str
    params: Mapping[str, Param]
    effect: Effect | None
    sources: tuple[str, ...]

    @property
    def all_sources(self) -> tuple[str, ...]:
        """The remedy's and its effect's entries."""
        return merge_sources([self.sources, self.effect.sources if self.effect else ()])


@dataclass(frozen=True, slots=True)
class Cause:
    """A likely rejection cause with its remedies; ``evidence`` says how sure."""

    code: str
    params: Mapping[str, Param]
    evidence: Evidence
    remedies: tuple[Remedy, ...]
    sources: tuple[str, ...]

    @property
    def all_sources(self) -> tuple[str, ...]:
        """The cause's and its remedies' entries."""
        return merge_sources([self.sources, *(r.all_sources for r in self.remedies)])


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Ranked likely causes of a rejection and the earliest sensible re-apply date.

    ``reapply_on`` is None while a current overdue blocks re-applying.
    """

    causes: tuple[Cause, ...]
    reapply_on: date | None
    reapply: tuple[Reason, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """Every entry the diagnosis rests on."""
        return merge_sources(
            [*(c.all_sources for c in self.causes), *(r.sources for r in self.reapply)]
        )


@dataclass(frozen=True, slots=True)
class Action:
    """One limit-raising step; its params carry the article's figures as given.

    ``expected_gain_pct`` is our ranking key for materials, probability × average
    increase: not a figure of the article and not for display (the card shows the
    probability and the average increase apart). None for every other action.
    """

    code: str
    params: Mapping[str, Param]
    expected_gain_pct: Decimal | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LimitPlan:
    """What raises the limit, best first, personalised by what the user has and lacks.

    :param actions: steps to take, ranked (a current overdue: repaying it, alone)
    :param achieved: what the user already does or has (no need to act)
    :param outlook: the article's overall figures (yearly growth, materials' average)
    :param not_suggested: what the plan leaves out because the user said they lack it
    """

    actions: tuple[Action, ...]
    achieved: tuple[Reason, ...]
    outlook: tuple[Reason, ...]
    not_suggested: tuple[Reason, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        """Every entry the plan rests on."""
        reasons = self.achieved + self.outlook + self.not_suggested
        return merge_sources([*(a.sources for a in self.actions), *(r.sources for r in reasons)])


@dataclass(frozen=True, slots=True)
class Question:
    """An unknown profile field worth asking about, and why it matters."""

    field: str
    sources: tuple[str, ...]
