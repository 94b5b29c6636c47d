"""Profile facts measured against the article's thresholds, shared by every rule.

Each check returns None when the field is unknown, so callers can tell "fails"
from "not known yet". Keeping them here means assess, diagnose_rejection and
limit_plan can never disagree about a threshold.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import ids
from .enums import Identity, Material, Overdue
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .records import MaterialInfo
from .results import Reason

__all__ = [
    "FIELD_SOURCES",
    "activity_reason",
    "hard_stops",
    "history_reason",
    "inquiries_reason",
    "low_activity",
    "missing_materials",
    "open_materials",
    "past_overdue_reason",
    "short_history",
    "too_many_inquiries",
    "unknown_reason",
]


#: The entries that make each profile field matter (why we ask about it).
FIELD_SOURCES: Mapping[str, tuple[str, ...]] = {
    "real_name_verified": (ids.REAL_NAME_ACCOUNT,),
    "face_verified": (ids.FACE,),
    "account_normal": (ids.REAL_NAME_ACCOUNT,),
    "pay_score": (ids.PRODUCTS_OVERVIEW, ids.SCORE_BOOST),
    "overdue": (ids.FACTOR_CREDIT_REPORT,),
    "inquiries_3m": (ids.INQUIRY_WAIT, ids.MULTI_LENDER),
    "payments_per_week": (ids.ACTIVITY,),
    "pay_history_months": (ids.PAY_HISTORY,),
    "identity": (ids.SPECIAL_OVERVIEW,),
    "materials": (ids.SUPPLEMENT,),
    "materials_lacking": (ids.SUPPLEMENT,),
    "lingqiantong_balance": (ids.LINGQIANTONG,),
    "ontime_periods": (ids.ONTIME,),
    "purpose": (ids.PURPOSE,),
    "rejected_before": (ids.COOLING,),
    "rejected_on": (ids.COOLING, ids.INQUIRY_WAIT),
    "rejection_hint": (ids.INQUIRY_WAIT, ids.REJECT_PAY_SCORE),
}


def unknown_reason(field: str) -> Reason:
    """``field_unknown``: the conclusion could change once this field is known."""
    return Reason("field_unknown", {"field": field}, FIELD_SOURCES[field])


def hard_stops(profile: ApplicantProfile, kb: KnowledgeBase) -> tuple[Reason, ...]:
    """Known facts that make every product "no" at once, most serious first."""
    stops: list[Reason] = []
    if profile.overdue is Overdue.CURRENT:
        stops.append(
            Reason("overdue_current", {}, (ids.FACTOR_CREDIT_REPORT, ids.REAL_NAME_ACCOUNT))
        )
    if profile.real_name_verified is False:
        stops.append(Reason("real_name_not_verified", {}, (ids.REAL_NAME_ACCOUNT,)))
    if profile.face_verified is False:
        stops.append(Reason("face_not_verified", {}, (ids.FACE,)))
    if profile.account_normal is False:
        stops.append(Reason("account_abnormal", {}, (ids.REAL_NAME_ACCOUNT,)))
    banned = kb.rules.banned_purposes
    if profile.purpose is not None and profile.purpose in banned.purposes:
        stops.append(Reason("purpose_banned", {"purpose": profile.purpose.value}, (banned.id,)))
    return tuple(stops)


def too_many_inquiries(profile: ApplicantProfile, kb: KnowledgeBase) -> bool | None:
    """More credit-report inquiries in 3 months than the policy allows."""
    if profile.inquiries_3m is None:
        return None
    return profile.inquiries_3m > kb.rules.max_inquiries_3m.value


def inquiries_reason(profile: ApplicantProfile, kb: KnowledgeBase) -> Reason:
    """``too_many_inquiries`` with the user's count (None when only the message said so)."""
    rules = kb.rules
    return Reason(
        "too_many_inquiries",
        {"inquiries_3m": profile.inquiries_3m, "wait_months": rules.inquiry_wait_months.value},
        (rules.inquiry_wait_months.id, ids.MULTI_LENDER),
    )


def low_activity(profile: ApplicantProfile, kb: KnowledgeBase) -> bool | None:
    """Fewer payments a week than the article's minimum."""
    if profile.payments_per_week is None:
        return None
    return profile.payments_per_week < kb.rules.min_payments_per_week.value


def activity_reason(payments_per_week: int, kb: KnowledgeBase) -> Reason:
    """``low_activity`` with the user's count and the article's minimum."""
    figure = kb.rules.min_payments_per_week
    return Reason(
        "low_activity",
        {"payments_per_week": payments_per_week, "min_payments_per_week": figure.value},
        (figure.id,),
    )


def short_history(profile: ApplicantProfile, kb: KnowledgeBase) -> bool | None:
    """Less WeChat Pay history than the months the article says are evaluated."""
    if profile.pay_history_months is None:
        return None
    return profile.pay_history_months < kb.rules.pay_history_months.value


def history_reason(pay_history_months: int, kb: KnowledgeBase) -> Reason:
    """``short_pay_history`` with the user's months and the article's window."""
    figure = kb.rules.pay_history_months
    return Reason(
        "short_pay_history",
        {"pay_history_months": pay_history_months, "required_months": figure.value},
        (figure.id,),
    )


def past_overdue_reason() -> Reason:
    """``past_overdue``: a settled overdue still weighs on the credit record."""
    return Reason("past_overdue", {}, (ids.FACTOR_CREDIT_REPORT,))


def _applicable(material: Material, profile: ApplicantProfile) -> bool:
    """Enterprise certification (企业认证) needs an enterprise: business owners only,
    or users whose identity is still unknown."""
    return material is not Material.BUSINESS or profile.identity in (
        None,
        Identity.BUSINESS_OWNER,
    )


def missing_materials(profile: ApplicantProfile, kb: KnowledgeBase) -> tuple[MaterialInfo, ...]:
    """Materials worth adding: neither held nor said to be lacking, best first.

    A material the user said they do not have (``materials_lacking``: 没有房) is never
    suggested. "Best" is the larger expected increase, probability × average increase
    (a ranking key of ours, not a figure of the article; ties: faster to take effect).
    The order of the article's three rows (房产证明, 企业认证, 社保/公积金) is the same
    whether 平均增幅 is read as the average over users who got a raise (then the
    expectation is the product) or over everyone who uploaded (then it is the increase
    alone), so the ranking does not hang on that reading.
    """
    held = profile.materials or frozenset()
    lacking = profile.materials_lacking or frozenset()
    rows = [
        info
        for info in kb.materials
        if info.material not in held
        and info.material not in lacking
        and _applicable(info.material, profile)
    ]
    return tuple(
        sorted(rows, key=lambda info: (-info.expected_gain_pct, info.effective_working_days))
    )


def open_materials(profile: ApplicantProfile, kb: KnowledgeBase) -> tuple[Material, ...]:
    """Materials a question could still ask about: neither held nor lacking, applicable.

    Empty once everything is known, so the materials question is not asked again; the
    question lists only these (never what the user already said they have or lack).
    """
    known = (profile.materials or frozenset()) | (profile.materials_lacking or frozenset())
    return tuple(
        info.material
        for info in kb.materials
        if info.material not in known and _applicable(info.material, profile)
    )
