"""CODES: every code the rules emit, with its params, for the template writer.

All user-facing prose lives in the bot's Jinja templates; the rules emit codes.
Each :class:`CodeSpec` lists the code's params (always all present; a param
documented "or None" may be None) and where the code appears (``used_in``):

==========================  =========================================================
used_in                     attribute
==========================  =========================================================
verdict                     ``Assessment.verdicts[i].reasons`` (why the status)
pricing                     ``Assessment.verdicts[i].pricing`` (how ranges were made)
risk                        ``Assessment.risk.reasons``
grade_effect                ``Assessment.risk.effect`` (a plain string, no params)
channel                     ``Assessment.channel.reasons``
special                     ``Assessment.special_track.reasons``
factor                      ``Assessment.factors``
reminder                    ``Assessment.reminders``
cause                       ``Diagnosis.causes[i]`` (``.code``/``.params``)
remedy                      ``Diagnosis.causes[i].remedies[j]``
effect                      ``Remedy.effect``
reapply                     ``Diagnosis.reapply``
action                      ``LimitPlan.actions[i]``
achieved                    ``LimitPlan.achieved``
outlook                     ``LimitPlan.outlook``
not_suggested               ``LimitPlan.not_suggested`` (left out: the user lacks it)
==========================  =========================================================

Units: ``*_pct`` percent (APRs Decimal, e.g. ``Decimal("7.2")``; others int unless
stated); ``*_yuan`` whole 元; dates are ``datetime.date``. Key values: product
``weilidai``/``we2000``/``partner_bank``; tier ``prime``/``standard``/``subprime``;
channel ``wallet``/``mini_program``/``scene``; material ``social_security``/
``property``/``business``; purpose values of :class:`~knowledge.enums.Purpose`;
``field`` is an :class:`~knowledge.profile.ApplicantProfile` field name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CODES", "CodeSpec"]


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """What a code means, its params (name → description) and where it appears."""

    meaning: str
    params: Mapping[str, str]
    used_in: tuple[str, ...]


def _spec(meaning: str, used_in: tuple[str, ...], **params: str) -> CodeSpec:
    return CodeSpec(meaning, MappingProxyType(params), used_in)


_PAY = "int: the user's pay score"
_CHANNEL = {
    "channel": "str: channel key",
    "pass_rate_pct": "int: channel pass rate",
    "limit_error_pct": "int: ± limit error",
    "review_minutes_min": "int: shortest review time (0 when instant)",
    "review_minutes_max": "int: longest review time (0 when instant)",
}
_TIER = {
    "tier": "str: tier key",
    "tier_apr_min": "Decimal: tier APR low end",
    "tier_apr_max": "Decimal: tier APR high end",
    "product_apr_min": "Decimal: product table APR low end",
    "product_apr_max": "Decimal: product table APR high end",
}
_INQUIRIES = {
    "inquiries_3m": "int or None: the user's 3-month inquiries (None: only the message said so)",
    "wait_months": "int: months the article says to wait (3)",
}
_ACTIVITY = {
    "payments_per_week": "int: the user's payments a week",
    "min_payments_per_week": "int: the article's weekly minimum (3)",
}
_HISTORY = {
    "pay_history_months": "int: the user's months of WeChat Pay history",
    "required_months": "int: months the article says are evaluated (6)",
}
_BOOST = {
    "pay_score": _PAY,
    "threshold": "int: pay score from which opening success rises (650)",
    "success_rate_increase_pct": "int: that rise (42)",
}
_TOP = {"pay_score": _PAY, "top_tier_min_pay_score": "int: top tier's lowest score (750)"}

CODES: Mapping[str, CodeSpec] = MappingProxyType(
    {
        # -- hard stops (every product "no"); also risk C triggers / a rejection cause
        "overdue_current": _spec(
            "a repayment is overdue right now; decides 'no' at once", ("verdict", "risk", "cause")
        ),
        "real_name_not_verified": _spec("real-name verification not completed", ("verdict",)),
        "face_not_verified": _spec("mainland ID / face recognition not passed", ("verdict",)),
        "account_abnormal": _spec("the WeChat account is not in normal state", ("verdict", "risk")),
        "purpose_banned": _spec(
            "the purpose is banned (house purchase, investment): not allowed",
            ("verdict", "risk"),
            purpose="str: the Purpose value",
        ),
        # -- per-product verdict
        "student_cap_below_product_min": _spec(
            "the student limit is below this product's lowest limit",
            ("verdict",),
            cap_yuan="int: student limit (5000)",
            product_limit_min_yuan="int: the product's lowest limit",
        ),
        "pay_score_below_min": _spec(
            "pay score below this product's minimum",
            ("verdict",),
            pay_score=_PAY,
            min_pay_score="int: the product's minimum",
        ),
        "field_unknown": _spec(
            "this profile field is unknown and could change the conclusion",
            ("verdict", "risk"),
            field="str: ApplicantProfile field name",
        ),
        "meets_reference_thresholds": _spec(
            "every reference threshold is known and met (not an approval)",
            ("verdict",),
            pay_score=_PAY,
            min_pay_score="int: the product's minimum",
        ),
        # -- pricing
        "apr_product_range": _spec(
            "no pay-score tier applies (score unknown): the product's whole APR range",
            ("pricing",),
            product_apr_min="Decimal: product table APR low end",
            product_apr_max="Decimal: product table APR high end",
        ),
        "apr_tier": _spec("APR = product range ∩ pay-score tier range", ("pricing",), **_TIER),
        "apr_clamped": _spec(
            "product and tier ranges do not overlap; APR set to the product edge nearest the tier",
            ("pricing",),
            **_TIER,
        ),
        "first_loan_discount": _spec(
            "new user's first loan: low end lowered up to the discount, not below the floor",
            ("pricing",),
            discount_pct="int: discount (20)",
        ),
        "limit_student_cap": _spec(
            "limit capped at the student limit", ("pricing",), cap_yuan="int: student limit (5000)"
        ),
        # -- risk grade
        "too_many_inquiries": _spec(
            "too many credit-report inquiries recently", ("risk", "factor", "cause"), **_INQUIRIES
        ),
        "pay_score_below_all": _spec(
            "pay score below every product's minimum",
            ("risk",),
            pay_score=_PAY,
            lowest_min_pay_score="int: lowest product minimum (580)",
        ),
        "below_top_tier": _spec("pay score below the top (750+) tier", ("risk",), **_TOP),
        "top_tier_clean_record": _spec(
            "top-tier pay score and a clean, active record", ("risk",), **_TOP
        ),
        "past_overdue": _spec(
            "overdue in the past (settled): weighs on the credit record",
            ("risk", "factor", "cause"),
        ),
        "low_activity": _spec(
            "fewer payments a week than the article's minimum",
            ("risk", "factor", "cause"),
            **_ACTIVITY,
        ),
        "short_pay_history": _spec(
            "less WeChat Pay history than the evaluated months",
            ("risk", "factor", "cause"),
            **_HISTORY,
        ),
        "temporary_raise": _spec("grade A: temporary limit raise (+30%)", ("grade_effect",)),
        "unchanged": _spec("grade B: base limit unchanged", ("grade_effect",)),
        "reduce_or_restrict": _spec(
            "grade C: limit may be reduced or functions restricted", ("grade_effect",)
        ),
        # -- channel
        "channel_none": _spec("no product is within reach: no channel to suggest", ("channel",)),
        "channel_preapproval": _spec(
            "rejected before / many inquiries: check the pre-approved limit there first",
            ("channel",),
            **_CHANNEL,
        ),
        "channel_identity_check": _spec(
            "identity checks not confirmed: the wallet runs the three-level identity check",
            ("channel",),
            **_CHANNEL,
        ),
        "channel_highest_pass_rate": _spec(
            "the channel with the highest pass rate", ("channel",), **_CHANNEL
        ),
        # -- special groups
        "special_student": _spec(
            "student track: 学信网 verification, limit capped",
            ("special",),
            cap_yuan="int: student limit (5000)",
        ),
        "special_business_owner": _spec(
            "small-business owner track: business-licence verification, up to the cap",
            ("special",),
            cap_yuan="int: track ceiling (500000)",
        ),
        "special_new_user": _spec(
            "new user: consumption incentives build the credit profile; first-loan discount",
            ("special",),
            discount_pct="int: first-loan discount (20)",
        ),
        # -- factors and reminders
        "score_boost": _spec(
            "pay score at/above the success-boost threshold", ("factor",), **_BOOST
        ),
        "below_score_boost": _spec(
            "pay score below the success-boost threshold", ("factor",), **_BOOST
        ),
        "recent_rejection": _spec(
            "rejected recently; cooling period not over",
            ("factor",),
            rejected_on="date: rejection date",
            cooling_until="date: end of the 90-day cooling period",
        ),
        "repayment_capacity": _spec(
            "judge your repayment capacity, avoid over-indebtedness", ("reminder",)
        ),
        "stay_active": _spec(
            "log in regularly: days without login may freeze the limit",
            ("reminder", "action"),
            days="int: days (30)",
        ),
        # -- rejection causes
        "score_insufficient": _spec("the rejection said 综合评分不足", ("cause",)),
        "pay_score_low": _spec(
            "pay score below the success-boost threshold",
            ("cause",),
            pay_score=_PAY,
            threshold="int: 650",
        ),
        "unexplained": _spec("no specific cause known; generic advice", ("cause",)),
        # -- remedies
        "repay_overdue": _spec("repay the overdue amount first", ("remedy", "action")),
        "wait_before_reapply": _spec(
            "wait before re-applying", ("remedy",), months="int: months (3)"
        ),
        "pay_utility_bills": _spec(
            "pay utility bills via WeChat Pay to raise the pay score", ("remedy",)
        ),
        "pay_regularly": _spec(
            "keep at least the weekly number of payments",
            ("remedy",),
            min_payments_per_week="int: 3",
        ),
        "build_pay_history": _spec(
            "keep using WeChat Pay (consumption incentives) to build history",
            ("remedy",),
            required_months="int: 6",
        ),
        "add_credit_materials": _spec(
            "add credit materials not yet held",
            ("remedy",),
            materials="tuple[str, ...]: material keys, best expected gain first",
        ),
        "wait_cooling": _spec("wait out the natural cooling period", ("remedy",), days="int: 90"),
        # -- effects
        "pass_rate_up": _spec(
            "the article's measured pass-rate rise", ("effect",), pct="int: 27 or 39"
        ),
        "pass_rate_back_to_baseline": _spec(
            "pass rate back to baseline after the cooling period", ("effect",), days="int: 90"
        ),
        # -- re-apply date
        "reapply_after_overdue_cleared": _spec(
            "no date: re-apply only after the overdue is cleared", ("reapply",)
        ),
        "rejection_date_assumed": _spec(
            "rejection date unknown (or in the future): counted from today",
            ("reapply",),
            assumed_date="date: today",
        ),
        "reapply_after_cooling": _spec(
            "wait the cooling period",
            ("reapply",),
            days="int: 90",
            from_date="date: counted from",
            until="date: end of the wait",
        ),
        "reapply_after_inquiry_interval": _spec(
            "wait the inquiry interval",
            ("reapply",),
            months="int: 3",
            from_date="date: counted from",
            until="date: end of the wait",
        ),
        # -- limit plan
        "add_material": _spec(
            "upload a supplementary material: the materials table's row, figures as given",
            ("action",),
            material="str: material key",
            probability_pct="int: the table's chance of a raise (71/89/67)",
            avg_increase_pct="int: the table's average increase (45/82/58)",
            effective_working_days="int: the table's working days to take effect (3/5/2)",
        ),
        "keep_ontime": _spec(
            "repay on time; the target streak can trigger an automatic raise",
            ("action",),
            done_periods="int or None: on-time periods so far",
            remaining_periods="int or None: periods still needed",
            target_periods="int: 6",
        ),
        "grow_lingqiantong": _spec(
            "keep more than the threshold in 零钱通 to speed up raises",
            ("action",),
            threshold_yuan="int: 10000 (strictly more is needed)",
            balance_yuan="int or None: current balance",
            shortfall_yuan="int or None: threshold − balance (deposit more than this)",
        ),
        "do_credit_tasks": _spec(
            "complete credit (consumption) tasks for limit rewards", ("action",)
        ),
        "grade_a_raise": _spec(
            "risk grade A earns a temporary raise; grades are updated daily from behaviour"
            " data, and the article does not say what earns an A",
            ("action",),
            grade="str: the grade (A)",
            limit_change_pct="int: the temporary raise (30)",
        ),
        "material_held": _spec(
            "material already held", ("achieved",), material="str: material key"
        ),
        "material_lacking": _spec(
            "the user said they do not have this material: left out of the plan",
            ("not_suggested",),
            material="str: material key",
        ),
        "ontime_target_reached": _spec(
            "on-time streak target reached: an automatic raise can trigger",
            ("achieved",),
            done_periods="int: on-time periods so far",
            target_periods="int: 6",
        ),
        "lingqiantong_above_threshold": _spec(
            "零钱通 balance already over the threshold",
            ("achieved",),
            threshold_yuan="int: 10000",
            balance_yuan="int: current balance",
        ),
        "good_borrower_growth": _spec(
            "good borrowers' limits grow this much a year",
            ("outlook",),
            annual_growth_pct="int: 58",
        ),
        "supplement_average": _spec(
            "users who add materials raise their limit this much on average",
            ("outlook",),
            avg_increase_pct="int: 63",
        ),
    }
)
