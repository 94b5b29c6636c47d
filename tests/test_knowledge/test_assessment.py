"""assess(): statuses at every threshold edge, ranges, hard stops, groups, grades, channels."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from wxloan.knowledge import (
    ApplicantProfile,
    Identity,
    KnowledgeBase,
    Overdue,
    Purpose,
    Range,
    RiskGrade,
    Status,
    assess,
)

from .conftest import CLEAN, TODAY

Y, N, U = Status.YES, Status.NO, Status.UNKNOWN
EMPLOYEE = replace(CLEAN, identity=Identity.EMPLOYEE)


def _statuses(kb: KnowledgeBase, profile: ApplicantProfile) -> tuple[Status, ...]:
    return tuple(v.status for v in assess(profile, kb, TODAY).verdicts)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (300, (N, N, N)),
        (579, (N, N, N)),
        (580, (N, Y, N)),
        (619, (N, Y, N)),
        (620, (Y, Y, N)),
        (649, (Y, Y, N)),
        (650, (Y, Y, N)),
        (699, (Y, Y, N)),
        (700, (Y, Y, Y)),
        (749, (Y, Y, Y)),
        (750, (Y, Y, Y)),
        (850, (Y, Y, Y)),
    ],
)
def test_status_at_pay_score_edges(
    kb: KnowledgeBase, score: int, expected: tuple[Status, ...]
) -> None:
    """Order: weilidai, we2000, partner_bank."""
    assert _statuses(kb, replace(EMPLOYEE, pay_score=score)) == expected


def test_below_min_reason_names_score_and_minimum(kb: KnowledgeBase) -> None:
    verdict = assess(replace(EMPLOYEE, pay_score=619), kb, TODAY).verdict("weilidai")
    assert [(r.code, dict(r.params)) for r in verdict.reasons] == [
        ("pay_score_below_min", {"pay_score": 619, "min_pay_score": 620})
    ]
    assert verdict.limit is None and verdict.apr is None
    assert verdict.sources == ("product.weilidai",)


def test_yes_reason_and_sources(kb: KnowledgeBase) -> None:
    verdict = assess(replace(EMPLOYEE, pay_score=620), kb, TODAY).verdict("weilidai")
    assert [r.code for r in verdict.reasons] == ["meets_reference_thresholds"]
    assert "tier.subprime" in verdict.sources and "product.weilidai" in verdict.sources


D = Decimal


@pytest.mark.parametrize(
    ("product", "score", "apr", "code"),
    [
        ("weilidai", 620, (D("18"), D("18.25")), "apr_tier"),
        ("weilidai", 649, (D("18"), D("18.25")), "apr_tier"),
        ("weilidai", 650, (D("12"), D("18")), "apr_tier"),
        ("weilidai", 749, (D("12"), D("18")), "apr_tier"),
        ("weilidai", 750, (D("7.2"), D("10.8")), "apr_tier"),
        ("we2000", 580, (D("18"), D("24")), "apr_tier"),
        ("we2000", 649, (D("18"), D("24")), "apr_tier"),
        ("we2000", 650, (D("12"), D("18")), "apr_tier"),
        ("we2000", 749, (D("12"), D("18")), "apr_tier"),
        ("we2000", 750, (D("12"), D("12")), "apr_clamped"),
        ("partner_bank", 700, (D("12"), D("15")), "apr_tier"),
        ("partner_bank", 749, (D("12"), D("15")), "apr_tier"),
        ("partner_bank", 750, (D("7.2"), D("10.8")), "apr_tier"),
    ],
)
def test_apr_at_tier_edges(
    kb: KnowledgeBase, product: str, score: int, apr: tuple[Decimal, Decimal], code: str
) -> None:
    verdict = assess(replace(EMPLOYEE, pay_score=score), kb, TODAY).verdict(product)
    assert verdict.apr == Range(*apr)
    assert [r.code for r in verdict.pricing] == [code]


def test_clamp_params_say_which_ranges_missed(kb: KnowledgeBase) -> None:
    verdict = assess(replace(EMPLOYEE, pay_score=800), kb, TODAY).verdict("we2000")
    (reason,) = verdict.pricing
    assert dict(reason.params) == {
        "tier": "prime",
        "tier_apr_min": D("7.2"),
        "tier_apr_max": D("10.8"),
        "product_apr_min": D("12"),
        "product_apr_max": D("24"),
    }
    assert reason.sources == ("tier.prime", "product.we2000")


@pytest.mark.parametrize(
    ("product", "limit"),
    [("weilidai", (8000, 200000)), ("we2000", (2000, 50000)), ("partner_bank", (50000, 300000))],
)
def test_limits_are_the_product_table_range(
    kb: KnowledgeBase, product: str, limit: tuple[int, int]
) -> None:
    for score in (700, 800):
        verdict = assess(replace(EMPLOYEE, pay_score=score), kb, TODAY).verdict(product)
        assert verdict.limit == Range(*limit)
        assert "limit_student_cap" not in [r.code for r in verdict.pricing]


def test_unknown_pay_score_gives_whole_product_range(kb: KnowledgeBase) -> None:
    verdict = assess(EMPLOYEE, kb, TODAY).verdict("weilidai")
    assert verdict.status is U
    assert verdict.apr == Range(D("7.2"), D("18.25"))
    assert [r.code for r in verdict.pricing] == ["apr_product_range"]
    assert [dict(r.params) for r in verdict.reasons] == [{"field": "pay_score"}]


def test_empty_profile_is_unknown_everywhere_and_names_the_blocking_fields(
    kb: KnowledgeBase,
) -> None:
    result = assess(ApplicantProfile(), kb, TODAY)
    assert _statuses(kb, ApplicantProfile()) == (U, U, U)
    we2000 = [r.params["field"] for r in result.verdict("we2000").reasons]
    assert we2000 == [
        "overdue",
        "real_name_verified",
        "face_verified",
        "account_normal",
        "purpose",
        "pay_score",
    ]
    # a student could not get 微粒贷 or the bank loan, so identity also blocks those
    assert [r.params["field"] for r in result.verdict("weilidai").reasons][-1] == "identity"
    assert result.risk.grade is None
    assert not result.decided


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"overdue": Overdue.CURRENT}, "overdue_current"),
        ({"real_name_verified": False}, "real_name_not_verified"),
        ({"face_verified": False}, "face_not_verified"),
        ({"account_normal": False}, "account_abnormal"),
        ({"purpose": Purpose.HOUSE}, "purpose_banned"),
        ({"purpose": Purpose.INVESTMENT}, "purpose_banned"),
    ],
)
def test_hard_stops_decide_no_at_once(
    kb: KnowledgeBase, change: dict[str, object], code: str
) -> None:
    profile = replace(EMPLOYEE, pay_score=800).with_values(change)
    result = assess(profile, kb, TODAY)
    assert result.decided
    for verdict in result.verdicts:
        assert verdict.status is N
        assert [r.code for r in verdict.reasons] == [code]
        assert verdict.limit is None and verdict.apr is None
    assert result.channel.channel is None


def test_hard_stop_decides_even_with_everything_else_unknown(kb: KnowledgeBase) -> None:
    result = assess(ApplicantProfile(overdue=Overdue.CURRENT), kb, TODAY)
    assert result.decided
    assert {v.status for v in result.verdicts} == {N}
    assert result.risk.grade is RiskGrade.C


@pytest.mark.parametrize(
    ("purpose", "banned"),
    [
        (Purpose.HOUSE, True),
        (Purpose.INVESTMENT, True),
        (Purpose.CONSUMPTION, False),
        (Purpose.BUSINESS, False),
        (Purpose.OTHER, False),
    ],
)
def test_banned_purpose_flag(kb: KnowledgeBase, purpose: Purpose, banned: bool) -> None:
    result = assess(replace(EMPLOYEE, pay_score=700, purpose=purpose), kb, TODAY)
    assert result.banned_purpose == (purpose if banned else None)
    reason = result.verdict("we2000").reasons[0]
    assert (reason.code == "purpose_banned") is banned
    if banned:
        assert reason.params == {"purpose": purpose.value}
        assert reason.sources == ("risk.purpose",)


def test_past_overdue_does_not_decide_but_is_a_factor(kb: KnowledgeBase) -> None:
    result = assess(replace(EMPLOYEE, pay_score=700, overdue=Overdue.PAST), kb, TODAY)
    assert _statuses(kb, replace(EMPLOYEE, pay_score=700, overdue=Overdue.PAST)) == (Y, Y, Y)
    assert "past_overdue" in [f.code for f in result.factors]


# -- special groups ---------------------------------------------------------------


def test_student_fits_only_we2000_capped_at_5000(kb: KnowledgeBase) -> None:
    profile = replace(CLEAN, identity=Identity.STUDENT, pay_score=760)
    result = assess(profile, kb, TODAY)
    assert _statuses(kb, profile) == (N, Y, N)
    assert result.verdict("we2000").limit == Range(2000, 5000)
    assert [r.code for r in result.verdict("we2000").pricing][0] == "limit_student_cap"
    reason = result.verdict("weilidai").reasons[0]
    assert reason.code == "student_cap_below_product_min"
    assert dict(reason.params) == {"cap_yuan": 5000, "product_limit_min_yuan": 8000}
    assert result.special_track is not None
    assert result.special_track.limit_cap == 5000
    assert [r.code for r in result.special_track.reasons] == ["special_student"]
    assert "special.channel" in result.special_track.sources


def test_business_owner_track_cap_is_separate_from_product_ranges(kb: KnowledgeBase) -> None:
    profile = replace(CLEAN, identity=Identity.BUSINESS_OWNER, pay_score=760)
    result = assess(profile, kb, TODAY)
    assert _statuses(kb, profile) == (Y, Y, Y)
    assert result.verdict("partner_bank").limit == Range(50000, 300000)
    assert result.special_track is not None
    assert result.special_track.limit_cap == 500000
    assert [r.code for r in result.special_track.reasons] == ["special_business_owner"]


@pytest.mark.parametrize(
    ("product", "score", "apr", "discounted"),
    [
        ("we2000", 600, (D("14.40"), D("24")), True),
        ("weilidai", 630, (D("14.40"), D("18.25")), True),
        ("weilidai", 700, (D("9.60"), D("18")), True),
        ("partner_bank", 760, (D("6.9"), D("10.8")), True),  # 5.76 floored at 6.9
        ("weilidai", 760, (D("7.2"), D("10.8")), False),  # already at the product floor
        ("we2000", 760, (D("12"), D("12")), False),
    ],
)
def test_new_user_first_loan_discount(
    kb: KnowledgeBase, product: str, score: int, apr: tuple[Decimal, Decimal], discounted: bool
) -> None:
    profile = replace(CLEAN, identity=Identity.NEW_USER, pay_score=score)
    verdict = assess(profile, kb, TODAY).verdict(product)
    assert verdict.apr == Range(*apr)
    assert ("first_loan_discount" in [r.code for r in verdict.pricing]) is discounted
    employee = assess(replace(profile, identity=Identity.EMPLOYEE), kb, TODAY).verdict(product)
    assert employee.apr is not None and employee.apr.high == apr[1]


def test_new_user_track(kb: KnowledgeBase) -> None:
    result = assess(replace(CLEAN, identity=Identity.NEW_USER), kb, TODAY)
    assert result.special_track is not None
    assert result.special_track.limit_cap is None
    assert [dict(r.params) for r in result.special_track.reasons] == [{"discount_pct": 20}]


def test_employee_has_no_special_track(kb: KnowledgeBase) -> None:
    assert assess(replace(EMPLOYEE, pay_score=700), kb, TODAY).special_track is None


# -- risk grade ----------------------------------------------------------------------

A_READY = replace(
    EMPLOYEE, pay_score=750, inquiries_3m=6, payments_per_week=3, pay_history_months=6
)


@pytest.mark.parametrize(
    ("change", "grade", "code"),
    [
        ({}, RiskGrade.A, "top_tier_clean_record"),
        ({"pay_score": 749}, RiskGrade.B, "below_top_tier"),
        ({"overdue": Overdue.PAST}, RiskGrade.B, "past_overdue"),
        ({"payments_per_week": 2}, RiskGrade.B, "low_activity"),
        ({"pay_history_months": 5}, RiskGrade.B, "short_pay_history"),
        ({"payments_per_week": None}, RiskGrade.B, "field_unknown"),
        ({"inquiries_3m": 7}, RiskGrade.C, "too_many_inquiries"),
        ({"pay_score": 579}, RiskGrade.C, "pay_score_below_all"),
        ({"overdue": Overdue.CURRENT}, RiskGrade.C, "overdue_current"),
        ({"purpose": Purpose.HOUSE}, RiskGrade.C, "purpose_banned"),
        ({"account_normal": False}, RiskGrade.C, "account_abnormal"),
    ],
)
def test_risk_grades(
    kb: KnowledgeBase, change: dict[str, object], grade: RiskGrade, code: str
) -> None:
    risk = assess(A_READY.with_values(change), kb, TODAY).risk
    assert risk.grade is grade
    assert risk.reasons[0].code == code
    info = kb.grade(grade)
    assert (risk.effect, risk.limit_change_pct) == (info.effect, info.limit_change_pct)
    assert info.id in risk.sources


def test_grade_effects_are_the_articles(kb: KnowledgeBase) -> None:
    assert [(g.effect, g.limit_change_pct) for g in kb.grades] == [
        ("temporary_raise", 30),
        ("unchanged", 0),
        ("reduce_or_restrict", None),
    ]


def test_risk_grade_unknown_until_pay_score_known(kb: KnowledgeBase) -> None:
    risk = assess(replace(A_READY, pay_score=None), kb, TODAY).risk
    assert risk.grade is None
    assert [r.params["field"] for r in risk.reasons] == ["pay_score"]


# -- channel --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "channel", "code"),
    [
        ({}, "scene", "channel_highest_pass_rate"),
        ({"rejected_before": True}, "mini_program", "channel_preapproval"),
        ({"inquiries_3m": 7}, "mini_program", "channel_preapproval"),
        ({"inquiries_3m": 6}, "scene", "channel_highest_pass_rate"),
        ({"real_name_verified": None}, "wallet", "channel_identity_check"),
        ({"face_verified": None}, "wallet", "channel_identity_check"),
        ({"pay_score": 500}, None, "channel_none"),
    ],
)
def test_channel_recommendation(
    kb: KnowledgeBase, change: dict[str, object], channel: str | None, code: str
) -> None:
    advice = assess(A_READY.with_values(change), kb, TODAY).channel
    assert advice.channel == channel
    assert [r.code for r in advice.reasons] == [code]
    if channel is not None:
        table = kb.channel(channel)
        assert advice.reasons[0].params["pass_rate_pct"] == table.pass_rate_pct
        assert table.id in advice.sources


# -- factors and reminders -------------------------------------------------------------


@pytest.mark.parametrize(("score", "code"), [(649, "below_score_boost"), (650, "score_boost")])
def test_score_boost_edge(kb: KnowledgeBase, score: int, code: str) -> None:
    factors = assess(replace(EMPLOYEE, pay_score=score), kb, TODAY).factors
    (boost,) = [f for f in factors if f.code.endswith("score_boost")]
    assert boost.code == code
    assert dict(boost.params) == {
        "pay_score": score,
        "threshold": 650,
        "success_rate_increase_pct": 42,
    }


@pytest.mark.parametrize(("days_ago", "recent"), [(0, True), (89, True), (90, False), (400, False)])
def test_recent_rejection_factor(kb: KnowledgeBase, days_ago: int, recent: bool) -> None:
    rejected_on = TODAY - timedelta(days=days_ago)
    factors = assess(replace(EMPLOYEE, rejected_on=rejected_on), kb, TODAY).factors
    found = [f for f in factors if f.code == "recent_rejection"]
    assert bool(found) is recent
    if recent:
        assert found[0].params["cooling_until"] == rejected_on + timedelta(days=90)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"inquiries_3m": 7}, "too_many_inquiries"),
        ({"payments_per_week": 2}, "low_activity"),
        ({"pay_history_months": 5}, "short_pay_history"),
    ],
)
def test_caution_factors(kb: KnowledgeBase, change: dict[str, object], code: str) -> None:
    assert code in [f.code for f in assess(A_READY.with_values(change), kb, TODAY).factors]
    assert code not in [f.code for f in assess(A_READY, kb, TODAY).factors]


def test_reminders_carry_the_closing_advice(kb: KnowledgeBase) -> None:
    reminders = assess(ApplicantProfile(), kb, TODAY).reminders
    assert [r.code for r in reminders] == ["repayment_capacity", "stay_active"]
    assert reminders[0].sources == ("closing.repayment_capacity",)
    assert reminders[1].params == {"days": 30}


def test_every_source_can_answer_why(kb: KnowledgeBase) -> None:
    result = assess(
        replace(A_READY, identity=Identity.NEW_USER, rejected_on=date(2025, 2, 1)), kb, TODAY
    )
    entries = kb.explain(result.sources)
    assert len(entries) == len(set(result.sources)) > 10
    assert all(entry.text for entry in entries)
