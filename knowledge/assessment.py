"""assess(): does a profile meet each product's reference thresholds, and on what terms.

Statuses (per product, see :class:`~knowledge.enums.Status`):

* **no** at once, for every product, on a hard stop: current overdue, failed
  real-name or face check, abnormal account, banned purpose (house, investment).
* **no** for one product: pay score below its minimum, or the student cap is below
  its limit floor (students fit only We2000).
* **unknown** while any field that could still make it "no" is unknown
  (``field_unknown`` reasons name them).
* **yes** otherwise: the article's reference thresholds are met. Never an approval.

Ranges come from :mod:`knowledge.pricing`, the risk grade from
:mod:`knowledge.risk`, the channel from :mod:`knowledge.channel`.
"""

from __future__ import annotations

from datetime import date, timedelta

from . import ids
from .channel import recommend_channel
from .enums import Identity, Overdue, Status
from .kb import KnowledgeBase
from .pricing import apr_range, limit_range, student_cap
from .profile import ApplicantProfile
from .records import Product
from .results import Assessment, Param, ProductVerdict, Reason, SpecialTrack
from .risk import estimate_risk
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

__all__ = ["assess"]

#: Fields any of which, while unknown, keeps a product from "yes".
_BLOCKING = (
    "overdue",
    "real_name_verified",
    "face_verified",
    "account_normal",
    "purpose",
    "pay_score",
)


def assess(profile: ApplicantProfile, kb: KnowledgeBase, today: date) -> Assessment:
    """Assess a profile against every product.

    :param today: the current date (used to tell whether a rejection is recent)
    """
    stops = hard_stops(profile, kb)
    verdicts = tuple(_verdict(product, profile, stops, kb) for product in kb.products)
    banned = kb.rules.banned_purposes.purposes
    return Assessment(
        verdicts=verdicts,
        risk=estimate_risk(profile, kb),
        channel=recommend_channel(profile, verdicts, kb),
        banned_purpose=profile.purpose if profile.purpose in banned else None,
        special_track=_special_track(profile.identity, kb),
        factors=_factors(profile, kb, today),
        reminders=_reminders(kb),
        decided=bool(stops),
    )


def _verdict(
    product: Product, profile: ApplicantProfile, stops: tuple[Reason, ...], kb: KnowledgeBase
) -> ProductVerdict:
    if stops:
        return ProductVerdict(product.key, Status.NO, stops, None, None, (), product.id)
    fails: list[Reason] = []
    cap = student_cap(profile.identity, kb)
    if cap is not None and cap[0] < product.limit_min:
        params: dict[str, Param] = {"cap_yuan": cap[0], "product_limit_min_yuan": product.limit_min}
        fails.append(Reason("student_cap_below_product_min", params, (cap[1], product.id)))
    score = profile.pay_score
    if score is not None and score < product.min_pay_score:
        params = {"pay_score": score, "min_pay_score": product.min_pay_score}
        fails.append(Reason("pay_score_below_min", params, (product.id,)))
    if fails:
        return ProductVerdict(product.key, Status.NO, tuple(fails), None, None, (), product.id)
    unknown = [unknown_reason(f) for f in _BLOCKING if getattr(profile, f) is None]
    if profile.identity is None:
        group = kb.group(Identity.STUDENT)
        if (
            group is not None
            and group.limit_cap is not None
            and group.limit_cap < product.limit_min
        ):
            unknown.append(unknown_reason("identity"))
    limit, limit_reasons = limit_range(product, profile.identity, kb)
    apr, apr_reasons = apr_range(product, score, profile.identity, kb)
    if unknown:
        status, reasons = Status.UNKNOWN, tuple(unknown)
    else:
        params = {"pay_score": score, "min_pay_score": product.min_pay_score}
        sources = (product.id, ids.REAL_NAME_ACCOUNT, ids.FACE)
        status, reasons = Status.YES, (Reason("meets_reference_thresholds", params, sources),)
    return ProductVerdict(
        product.key, status, reasons, limit, apr, limit_reasons + apr_reasons, product.id
    )


def _special_track(identity: Identity | None, kb: KnowledgeBase) -> SpecialTrack | None:
    if identity is None:
        return None
    group = kb.group(identity)
    if group is None:
        return None
    if identity is Identity.STUDENT:
        reason = Reason(
            "special_student", {"cap_yuan": group.limit_cap}, (group.id, ids.SPECIAL_CHANNEL)
        )
    elif identity is Identity.BUSINESS_OWNER:
        reason = Reason(
            "special_business_owner",
            {"cap_yuan": group.limit_cap},
            (group.id, ids.SPECIAL_CHANNEL),
        )
    elif identity is Identity.NEW_USER:
        discount = kb.rules.first_loan_discount_pct
        reason = Reason(
            "special_new_user", {"discount_pct": discount.value}, (group.id, discount.id)
        )
    else:
        return None
    return SpecialTrack(identity, group.limit_cap, (reason,))


def _factors(profile: ApplicantProfile, kb: KnowledgeBase, today: date) -> tuple[Reason, ...]:
    rules = kb.rules
    factors: list[Reason] = []
    if profile.pay_score is not None:
        boost = rules.score_boost
        params: dict[str, Param] = {
            "pay_score": profile.pay_score,
            "threshold": boost.pay_score,
            "success_rate_increase_pct": boost.success_rate_increase_pct,
        }
        if profile.pay_score >= boost.pay_score:
            factors.append(Reason("score_boost", params, (boost.id,)))
        else:
            factors.append(Reason("below_score_boost", params, (boost.id,)))
    if profile.overdue is Overdue.PAST:
        factors.append(past_overdue_reason())
    if too_many_inquiries(profile, kb):
        factors.append(inquiries_reason(profile, kb))
    if profile.payments_per_week is not None and low_activity(profile, kb):
        factors.append(activity_reason(profile.payments_per_week, kb))
    if profile.pay_history_months is not None and short_history(profile, kb):
        factors.append(history_reason(profile.pay_history_months, kb))
    if profile.rejected_on is not None and profile.rejected_before is not False:
        until = profile.rejected_on + timedelta(days=rules.cooling_days.value)
        if today < until:
            params = {"rejected_on": profile.rejected_on, "cooling_until": until}
            factors.append(Reason("recent_rejection", params, (rules.cooling_days.id,)))
    return tuple(factors)


def _reminders(kb: KnowledgeBase) -> tuple[Reason, ...]:
    inactivity = kb.rules.inactivity_days
    return (
        Reason("repayment_capacity", {}, (ids.CLOSING_REPAYMENT_CAPACITY,)),
        Reason("stay_active", {"days": inactivity.value}, (inactivity.id,)),
    )
