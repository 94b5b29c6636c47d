"""estimate_risk(): our estimate of the article's daily risk grade (section 5).

The article says grades exist and what they do (A: temporary +30 %, B: unchanged,
C: may be reduced or restricted) but not how they are set. Our documented
heuristic, built only from factors the article names:

* **C** when any of these is known: current overdue, banned purpose, abnormal
  account, too many credit-report inquiries, pay score below every product's minimum.
* **A** when all of these are known: pay score in the top tier (750+), never
  overdue, inquiries within the limit, at least the weekly payment minimum, at
  least the evaluated months of pay history.
* **B** otherwise, once the pay score is known; reasons say what keeps it from A
  (``field_unknown`` only while A is still possible).
* None when neither the pay score nor any C trigger is known.
"""

from __future__ import annotations

from . import ids
from .enums import Overdue, RiskGrade
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .results import Reason, RiskEstimate
from .signals import (
    activity_reason,
    hard_stops,
    history_reason,
    inquiries_reason,
    low_activity,
    past_overdue_reason,
    short_history,
    too_many_inquiries,
    unknown_reason,
)

__all__ = ["estimate_risk"]

_C_STOPS = frozenset({"overdue_current", "purpose_banned", "account_abnormal"})


def estimate_risk(profile: ApplicantProfile, kb: KnowledgeBase) -> RiskEstimate:
    """Estimate the risk grade, with the reasons behind it."""
    c_reasons = [r for r in hard_stops(profile, kb) if r.code in _C_STOPS]
    if too_many_inquiries(profile, kb):
        c_reasons.append(inquiries_reason(profile, kb))
    lowest = min(p.min_pay_score for p in kb.products)
    if profile.pay_score is not None and profile.pay_score < lowest:
        c_reasons.append(
            Reason(
                "pay_score_below_all",
                {"pay_score": profile.pay_score, "lowest_min_pay_score": lowest},
                tuple(p.id for p in kb.products),
            )
        )
    if c_reasons:
        return _graded(RiskGrade.C, c_reasons, kb)
    if profile.pay_score is None:
        return RiskEstimate(None, None, None, (unknown_reason("pay_score"),), ids.RISK_GRADING)
    failing, unknown = _a_blockers(profile, profile.pay_score, kb)
    if failing:
        return _graded(RiskGrade.B, failing, kb)
    if unknown:
        return _graded(RiskGrade.B, unknown, kb)
    top = kb.tiers[0]
    reason = Reason(
        "top_tier_clean_record",
        {"pay_score": profile.pay_score, "top_tier_min_pay_score": top.min_pay_score},
        (top.id,),
    )
    return _graded(RiskGrade.A, [reason], kb)


def _a_blockers(
    profile: ApplicantProfile, pay_score: int, kb: KnowledgeBase
) -> tuple[list[Reason], list[Reason]]:
    """(known facts that rule out A, unknown fields that could still rule it out)."""
    failing: list[Reason] = []
    unknown: list[Reason] = []
    top = kb.tiers[0]
    if pay_score < top.min_pay_score:
        failing.append(
            Reason(
                "below_top_tier",
                {"pay_score": pay_score, "top_tier_min_pay_score": top.min_pay_score},
                (top.id,),
            )
        )
    if profile.overdue is None:
        unknown.append(unknown_reason("overdue"))
    elif profile.overdue is Overdue.PAST:
        failing.append(past_overdue_reason())
    if too_many_inquiries(profile, kb) is None:
        unknown.append(unknown_reason("inquiries_3m"))
    if profile.payments_per_week is None:
        unknown.append(unknown_reason("payments_per_week"))
    elif low_activity(profile, kb):
        failing.append(activity_reason(profile.payments_per_week, kb))
    if profile.pay_history_months is None:
        unknown.append(unknown_reason("pay_history_months"))
    elif short_history(profile, kb):
        failing.append(history_reason(profile.pay_history_months, kb))
    return failing, unknown


def _graded(grade: RiskGrade, reasons: list[Reason], kb: KnowledgeBase) -> RiskEstimate:
    info = kb.grade(grade)
    return RiskEstimate(grade, info.effect, info.limit_change_pct, tuple(reasons), info.id)
