"""diagnose_rejection(): likely causes of a rejection, remedies, and when to re-apply.

Causes come from the article's rejection reasons (section 8) and the factors it
names (sections 1 and 4). Ranking: a current overdue first (it blocks re-applying),
then what the rejection message said (``stated``), then what the profile shows
(``observed``), in the order below; ``unexplained`` (``assumed``) only when
nothing else is found.

Re-apply date: the later of ``base + 90 days`` (natural cooling: the pass rate is
back to baseline) and, for too many inquiries, ``base + 3 months`` (the article's
interval; 3 calendar months can be 89-92 days, so both must pass). ``base`` is the
rejection date, or today when it is unknown or in the future. Never earlier than
today. A current overdue gives no date until it is cleared.
"""

from __future__ import annotations

from datetime import date, timedelta

from . import ids
from .dates import add_months
from .enums import Evidence, Overdue, RejectionHint
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .results import Cause, Diagnosis, Effect, Reason, Remedy
from .signals import (
    activity_reason,
    history_reason,
    inquiries_reason,
    low_activity,
    missing_materials,
    short_history,
    too_many_inquiries,
)

__all__ = ["diagnose_rejection"]

_EVIDENCE_RANK = {Evidence.STATED: 0, Evidence.OBSERVED: 1, Evidence.ASSUMED: 2}


def diagnose_rejection(profile: ApplicantProfile, kb: KnowledgeBase, today: date) -> Diagnosis:
    """Rank the likely causes of a rejection and date the earliest sensible re-apply.

    :param today: the current date; the re-apply date is never before it
    """
    causes = _causes(profile, kb)
    ranked = sorted(
        enumerate(causes),
        key=lambda item: (
            item[1].code != "overdue_current",
            _EVIDENCE_RANK[item[1].evidence],
            item[0],
        ),
    )
    ordered = tuple(cause for _, cause in ranked)
    reapply_on, reapply = _reapply(profile, kb, today, ordered)
    return Diagnosis(ordered, reapply_on, reapply)


def _causes(profile: ApplicantProfile, kb: KnowledgeBase) -> list[Cause]:
    rules = kb.rules
    hint = profile.rejection_hint
    causes: list[Cause] = []
    if profile.overdue is Overdue.CURRENT:
        repay = Remedy("repay_overdue", {}, None, (ids.FACTOR_CREDIT_REPORT,))
        sources = (ids.FACTOR_CREDIT_REPORT, ids.REAL_NAME_ACCOUNT)
        causes.append(Cause("overdue_current", {}, Evidence.OBSERVED, (repay,), sources))
    if hint is RejectionHint.TOO_MANY_INQUIRIES or too_many_inquiries(profile, kb):
        reason = inquiries_reason(profile, kb)
        evidence = (
            Evidence.STATED if hint is RejectionHint.TOO_MANY_INQUIRIES else Evidence.OBSERVED
        )
        wait = Remedy(
            "wait_before_reapply",
            {"months": rules.inquiry_wait_months.value},
            _cooling_effect(kb),
            (rules.inquiry_wait_months.id,),
        )
        causes.append(Cause("too_many_inquiries", reason.params, evidence, (wait,), reason.sources))
    if hint is RejectionHint.SCORE_INSUFFICIENT:
        remedies = (_utility_bills(kb), *_materials_remedy(profile, kb))
        causes.append(
            Cause("score_insufficient", {}, Evidence.STATED, remedies, (ids.REJECT_PAY_SCORE,))
        )
    boost = rules.score_boost
    if profile.pay_score is not None and profile.pay_score < boost.pay_score:
        params = {"pay_score": profile.pay_score, "threshold": boost.pay_score}
        sources = (ids.REJECT_PAY_SCORE, boost.id)
        causes.append(
            Cause("pay_score_low", params, Evidence.OBSERVED, (_utility_bills(kb),), sources)
        )
    if profile.payments_per_week is not None and low_activity(profile, kb):
        reason = activity_reason(profile.payments_per_week, kb)
        observed = Evidence.OBSERVED
        figure = rules.min_payments_per_week
        remedy = Remedy(
            "pay_regularly",
            {"min_payments_per_week": figure.value},
            _payment_effect(kb),
            (figure.id,),
        )
        causes.append(Cause("low_activity", reason.params, observed, (remedy,), reason.sources))
    if profile.pay_history_months is not None and short_history(profile, kb):
        reason = history_reason(profile.pay_history_months, kb)
        observed = Evidence.OBSERVED
        figure = rules.pay_history_months
        remedy = Remedy(
            "build_pay_history",
            {"required_months": figure.value},
            _payment_effect(kb),
            (figure.id, ids.NEW_USER_PROFILE),
        )
        causes.append(
            Cause("short_pay_history", reason.params, observed, (remedy,), reason.sources)
        )
    if profile.overdue is Overdue.PAST:
        causes.append(
            Cause(
                "past_overdue",
                {},
                Evidence.OBSERVED,
                (_wait_cooling(kb),),
                (ids.FACTOR_CREDIT_REPORT,),
            )
        )
    if not causes:
        remedies = (*_materials_remedy(profile, kb), _wait_cooling(kb))
        causes.append(
            Cause("unexplained", {}, Evidence.ASSUMED, remedies, (rules.cooling_days.id,))
        )
    return causes


def _payment_effect(kb: KnowledgeBase) -> Effect:
    figure = kb.rules.payment_effect_pct
    return Effect("pass_rate_up", {"pct": figure.value}, (figure.id,))


def _cooling_effect(kb: KnowledgeBase) -> Effect:
    figure = kb.rules.cooling_days
    return Effect("pass_rate_back_to_baseline", {"days": figure.value}, (figure.id,))


def _utility_bills(kb: KnowledgeBase) -> Remedy:
    return Remedy("pay_utility_bills", {}, _payment_effect(kb), (ids.REJECT_PAY_SCORE,))


def _wait_cooling(kb: KnowledgeBase) -> Remedy:
    figure = kb.rules.cooling_days
    return Remedy("wait_cooling", {"days": figure.value}, _cooling_effect(kb), (figure.id,))


def _materials_remedy(profile: ApplicantProfile, kb: KnowledgeBase) -> tuple[Remedy, ...]:
    missing = missing_materials(profile, kb)
    if not missing:
        return ()
    figure = kb.rules.materials_effect_pct
    effect = Effect("pass_rate_up", {"pct": figure.value}, (figure.id,))
    params = {"materials": tuple(info.material.value for info in missing)}
    sources = (figure.id, *(info.id for info in missing))
    return (Remedy("add_credit_materials", params, effect, sources),)


def _reapply(
    profile: ApplicantProfile, kb: KnowledgeBase, today: date, causes: tuple[Cause, ...]
) -> tuple[date | None, tuple[Reason, ...]]:
    rules = kb.rules
    if any(cause.code == "overdue_current" for cause in causes):
        reason = Reason("reapply_after_overdue_cleared", {}, (ids.FACTOR_CREDIT_REPORT,))
        return None, (reason,)
    reasons: list[Reason] = []
    base = profile.rejected_on
    if base is None or base > today:
        base = today
        reasons.append(
            Reason("rejection_date_assumed", {"assumed_date": today}, (rules.cooling_days.id,))
        )
    cooling = rules.cooling_days
    until = base + timedelta(days=cooling.value)
    dates = [today, until]
    reasons.append(
        Reason(
            "reapply_after_cooling",
            {"days": cooling.value, "from_date": base, "until": until},
            (cooling.id,),
        )
    )
    if any(cause.code == "too_many_inquiries" for cause in causes):
        wait = rules.inquiry_wait_months
        until = add_months(base, wait.value)
        dates.append(until)
        reasons.append(
            Reason(
                "reapply_after_inquiry_interval",
                {"months": wait.value, "from_date": base, "until": until},
                (wait.id,),
            )
        )
    return max(dates), tuple(reasons)
