"""limit_plan(): what raises the limit, from the whole article, ranked and personalised.

Sources: the materials table (article 三), the risk grades (四), the after-opening
advice (八) and the closing figures. Every figure an action carries is the
article's own, as given (社保/公积金 71 % / 45 % / 3 工作日 …); nothing derived from
two of them is a param.

Ranking, and why:

1. Materials not held and not lacking, by expected increase (probability × average
   increase: a ranking key of ours, kept on ``Action.expected_gain_pct`` and never
   shown). They come first because the article gives each a measured chance and an
   increase that takes effect in days. 企业认证 is offered only to business owners
   and to users whose identity is unknown (see ``signals.missing_materials``).
2. The after-opening levers in the article's order (八): 6 on-time periods in a
   row trigger an automatic raise; 零钱通 over 10,000 元 speeds raises; credit
   tasks earn limit rewards. They have no figure for the size of the raise.
3. Risk grade A's temporary +30 % (四). The article says only that the grade is
   updated daily from behaviour data, not what earns an A, so the plan names no
   step toward it.
4. Staying active: 30 days without login may freeze the limit. It protects the
   limit rather than raising it, so it comes last.

Personalised: a material held, 6 on-time periods or a 零钱通 balance over the
threshold is reported as achieved, not suggested; a material the user said they
lack (没有房) is neither suggested nor reported as held, only listed as left out;
the on-time action counts the periods left. A current overdue is the whole plan:
repaying it, alone (our rule: the article weighs the credit record's overdues most,
35 %, and every lever of 八 presumes repaying on time). The outlook quotes the yearly
growth of good borrowers (58 %) and, while a material is still suggested, the
average raise of users who add materials (63 %).
"""

from __future__ import annotations

from . import ids
from .enums import Overdue, RiskGrade
from .kb import KnowledgeBase
from .profile import ApplicantProfile
from .results import Action, LimitPlan, Param, Reason
from .signals import missing_materials

__all__ = ["limit_plan"]


def limit_plan(profile: ApplicantProfile, kb: KnowledgeBase) -> LimitPlan:
    """Rank what the user can do to raise the limit."""
    if profile.overdue is Overdue.CURRENT:
        repay = Action("repay_overdue", {}, None, (ids.FACTOR_CREDIT_REPORT,))
        return LimitPlan((repay,), (), ())
    rules = kb.rules
    actions: list[Action] = []
    achieved: list[Reason] = []
    for info in missing_materials(profile, kb):
        params: dict[str, Param] = {
            "material": info.material.value,
            "probability_pct": info.probability_pct,
            "avg_increase_pct": info.avg_increase_pct,
            "effective_working_days": info.effective_working_days,
        }
        sources = (info.id, ids.FACTOR_ASSETS)
        actions.append(Action("add_material", params, info.expected_gain_pct, sources))
    held = profile.materials or frozenset()
    lacking = profile.materials_lacking or frozenset()
    for info in kb.materials:
        if info.material in held:
            achieved.append(Reason("material_held", {"material": info.material.value}, (info.id,)))
    not_suggested = tuple(
        Reason("material_lacking", {"material": info.material.value}, (info.id,))
        for info in kb.materials
        if info.material in lacking
    )
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
    grade_a = kb.grade(RiskGrade.A)
    params = {"grade": grade_a.grade.value, "limit_change_pct": grade_a.limit_change_pct}
    actions.append(Action("grade_a_raise", params, None, (grade_a.id, ids.RISK_GRADING)))
    inactivity = rules.inactivity_days
    actions.append(Action("stay_active", {"days": inactivity.value}, None, (inactivity.id,)))
    return LimitPlan(tuple(actions), tuple(achieved), _outlook(actions, kb), not_suggested)


def _ontime(done: int | None, kb: KnowledgeBase) -> Action:
    target = kb.rules.ontime_periods
    params: dict[str, Param] = {
        "done_periods": done,
        "remaining_periods": None if done is None else target.value - done,
        "target_periods": target.value,
    }
    return Action("keep_ontime", params, None, (target.id,))


def _outlook(actions: list[Action], kb: KnowledgeBase) -> tuple[Reason, ...]:
    """The article's overall figures; the materials' average only while one is suggested."""
    rules = kb.rules
    growth = rules.annual_growth_pct
    outlook = [Reason("good_borrower_growth", {"annual_growth_pct": growth.value}, (growth.id,))]
    if any(a.code == "add_material" for a in actions):
        supplement = rules.supplement_increase_pct
        params: dict[str, Param] = {"avg_increase_pct": supplement.value}
        outlook.append(Reason("supplement_average", params, (supplement.id,)))
    return tuple(outlook)
