"""limit_plan(): limit-raising actions ranked by expected gain, personalised.

Ranking: actions with an article figure come first, by expected gain =
probability × average increase from the materials table (房产证明 0.89 × 82 % =
72.98 %, 企业认证 38.86 %, 社保/公积金 31.95 %). Actions the article gives no
figure for follow in a fixed order: on-time streak (6 periods trigger an automatic
raise), 零钱通 over 10,000 元 (speeds raises), credit tasks (rewards), staying
active (30 days without login may freeze the limit).

Personalised: materials already held are reported as achieved, not suggested;
the on-time action counts the periods left to 6; a 零钱通 balance already over the
threshold is achieved. A current overdue comes first and alone with a restarted
streak: nothing else raises a limit while it stands.
"""

from __future__ import annotations

from . import ids
from .enums import Overdue
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .results import Action, LimitPlan, Param, Reason
from .signals import missing_materials

__all__ = ["limit_plan"]


def limit_plan(profile: ApplicantProfile, kb: KnowledgeBase) -> LimitPlan:
    """Rank what the user can do to raise the limit."""
    rules = kb.rules
    outlook = (
        Reason(
            "good_borrower_growth",
            {"annual_growth_pct": rules.annual_growth_pct.value},
            (rules.annual_growth_pct.id,),
        ),
        Reason(
            "supplement_average",
            {"avg_increase_pct": rules.supplement_increase_pct.value},
            (rules.supplement_increase_pct.id,),
        ),
    )
    if profile.overdue is Overdue.CURRENT:
        repay = Action("repay_overdue", {}, None, (ids.FACTOR_CREDIT_REPORT,))
        return LimitPlan((repay, _ontime(0, kb)), (), outlook)
    actions: list[Action] = []
    achieved: list[Reason] = []
    for info in missing_materials(profile, kb):
        params: dict[str, Param] = {
            "material": info.material.value,
            "probability_pct": info.probability_pct,
            "avg_increase_pct": info.avg_increase_pct,
            "expected_gain_pct": info.expected_gain_pct,
            "effective_working_days": info.effective_working_days,
        }
        sources = (info.id, ids.FACTOR_ASSETS)
        actions.append(Action("add_material", params, info.expected_gain_pct, sources))
    for info in kb.materials:
        if profile.materials is not None and info.material in profile.materials:
            achieved.append(Reason("material_held", {"material": info.material.value}, (info.id,)))
    target = rules.ontime_periods
    done = profile.ontime_periods
    if done is not None and done >= target.value:
        params = {"done_periods": done, "target_periods": target.value}
        achieved.append(Reason("ontime_target_reached", params, (target.id,)))
    else:
        actions.append(_ontime(done, kb))
    threshold = rules.lingqiantong_threshold_yuan
    balance = profile.lingqiantong_balance
    if balance is not None and balance > threshold.value:
        params = {"threshold_yuan": threshold.value, "balance_yuan": balance}
        achieved.append(Reason("lingqiantong_above_threshold", params, (threshold.id,)))
    else:
        shortfall = None if balance is None else threshold.value - balance
        params = {
            "threshold_yuan": threshold.value,
            "balance_yuan": balance,
            "shortfall_yuan": shortfall,
        }
        actions.append(Action("grow_lingqiantong", params, None, (threshold.id,)))
    actions.append(Action("do_credit_tasks", {}, None, (ids.CREDIT_TASKS,)))
    inactivity = rules.inactivity_days
    actions.append(Action("stay_active", {"days": inactivity.value}, None, (inactivity.id,)))
    return LimitPlan(tuple(actions), tuple(achieved), outlook)


def _ontime(done: int | None, kb: KnowledgeBase) -> Action:
    target = kb.rules.ontime_periods
    params: dict[str, Param] = {
        "done_periods": done,
        "remaining_periods": None if done is None else target.value - done,
        "target_periods": target.value,
    }
    return Action("keep_ontime", params, None, (target.id,))
