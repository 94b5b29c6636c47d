"""diagnose_rejection(): each rejection reason, ranking, remedies, effects, re-apply dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from wxloan.knowledge import (
    ApplicantProfile,
    Evidence,
    Identity,
    KnowledgeBase,
    Material,
    Overdue,
    RejectionHint,
    diagnose_rejection,
)

from .conftest import TODAY


def _codes(profile: ApplicantProfile, kb: KnowledgeBase) -> list[str]:
    return [c.code for c in diagnose_rejection(profile, kb, TODAY).causes]


def test_too_many_inquiries_stated(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(rejection_hint=RejectionHint.TOO_MANY_INQUIRIES)
    (cause,) = diagnose_rejection(profile, kb, TODAY).causes
    assert (cause.code, cause.evidence) == ("too_many_inquiries", Evidence.STATED)
    assert dict(cause.params) == {"inquiries_3m": None, "wait_months": 3}
    (remedy,) = cause.remedies
    assert (remedy.code, dict(remedy.params)) == ("wait_before_reapply", {"months": 3})
    assert remedy.effect is not None
    assert (remedy.effect.code, dict(remedy.effect.params)) == (
        "pass_rate_back_to_baseline",
        {"days": 90},
    )


@pytest.mark.parametrize(("count", "found"), [(6, False), (7, True)])
def test_too_many_inquiries_observed_edge(kb: KnowledgeBase, count: int, found: bool) -> None:
    diagnosis = diagnose_rejection(ApplicantProfile(inquiries_3m=count), kb, TODAY)
    match = [c for c in diagnosis.causes if c.code == "too_many_inquiries"]
    assert bool(match) is found
    if found:
        assert match[0].evidence is Evidence.OBSERVED
        assert match[0].params["inquiries_3m"] == count


@pytest.mark.parametrize(
    ("rejected_on", "reapply_on"),
    [
        # 3 months and 90 days differ; the later date wins
        (date(2025, 1, 31), date(2025, 5, 1)),  # +90 d = May 1, +3 m = Apr 30
        (date(2025, 2, 28), date(2025, 5, 29)),  # +90 d = May 29, +3 m = May 28
        (date(2025, 3, 1), date(2025, 6, 1)),  # +90 d = May 30, +3 m = Jun 1
        (date(2024, 1, 1), TODAY),  # long ago: now
    ],
)
def test_inquiries_reapply_date(kb: KnowledgeBase, rejected_on: date, reapply_on: date) -> None:
    profile = ApplicantProfile(
        rejection_hint=RejectionHint.TOO_MANY_INQUIRIES, rejected_on=rejected_on
    )
    diagnosis = diagnose_rejection(profile, kb, date(2025, 3, 1))
    assert diagnosis.reapply_on == reapply_on
    assert [r.code for r in diagnosis.reapply] == [
        "reapply_after_cooling",
        "reapply_after_inquiry_interval",
    ]


def test_unknown_rejection_date_counts_from_today(kb: KnowledgeBase) -> None:
    diagnosis = diagnose_rejection(ApplicantProfile(), kb, TODAY)
    assert diagnosis.reapply_on == TODAY + timedelta(days=90)
    assert [r.code for r in diagnosis.reapply] == [
        "rejection_date_assumed",
        "reapply_after_cooling",
    ]
    assert diagnosis.reapply[0].params == {"assumed_date": TODAY}


def test_future_rejection_date_is_treated_as_today(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(rejected_on=TODAY + timedelta(days=30))
    assert diagnose_rejection(profile, kb, TODAY).reapply_on == TODAY + timedelta(days=90)


def test_cooling_only_without_inquiries(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(rejected_on=date(2025, 1, 1), payments_per_week=1)
    diagnosis = diagnose_rejection(profile, kb, TODAY)
    assert diagnosis.reapply_on == date(2025, 4, 1)
    assert [r.code for r in diagnosis.reapply] == ["reapply_after_cooling"]


def test_score_insufficient_stated(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        rejection_hint=RejectionHint.SCORE_INSUFFICIENT,
        materials=frozenset({Material.PROPERTY}),
        identity=Identity.EMPLOYEE,
    )
    (cause,) = diagnose_rejection(profile, kb, TODAY).causes
    assert (cause.code, cause.evidence) == ("score_insufficient", Evidence.STATED)
    bills, materials = cause.remedies
    assert bills.code == "pay_utility_bills"
    assert bills.effect is not None and dict(bills.effect.params) == {"pct": 27}
    assert materials.code == "add_credit_materials"
    assert materials.params == {"materials": ("social_security",)}  # holds property; not a business
    assert materials.effect is not None and dict(materials.effect.params) == {"pct": 39}
    assert "effect.credit_materials" in cause.all_sources


def test_material_remedy_dropped_when_all_held(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        rejection_hint=RejectionHint.SCORE_INSUFFICIENT, materials=frozenset(Material)
    )
    (cause,) = diagnose_rejection(profile, kb, TODAY).causes
    assert [r.code for r in cause.remedies] == ["pay_utility_bills"]


@pytest.mark.parametrize(("score", "found"), [(649, True), (650, False)])
def test_pay_score_low_edge(kb: KnowledgeBase, score: int, found: bool) -> None:
    assert ("pay_score_low" in _codes(ApplicantProfile(pay_score=score), kb)) is found


@pytest.mark.parametrize(("per_week", "found"), [(2, True), (3, False)])
def test_low_activity_edge(kb: KnowledgeBase, per_week: int, found: bool) -> None:
    diagnosis = diagnose_rejection(ApplicantProfile(payments_per_week=per_week), kb, TODAY)
    match = [c for c in diagnosis.causes if c.code == "low_activity"]
    assert bool(match) is found
    if found:
        (remedy,) = match[0].remedies
        assert (remedy.code, dict(remedy.params)) == ("pay_regularly", {"min_payments_per_week": 3})
        assert remedy.effect is not None and remedy.effect.params == {"pct": 27}


@pytest.mark.parametrize(("months", "found"), [(5, True), (6, False)])
def test_short_history_edge(kb: KnowledgeBase, months: int, found: bool) -> None:
    assert ("short_pay_history" in _codes(ApplicantProfile(pay_history_months=months), kb)) is found


def test_past_overdue_waits_for_cooling(kb: KnowledgeBase) -> None:
    (cause,) = diagnose_rejection(ApplicantProfile(overdue=Overdue.PAST), kb, TODAY).causes
    assert cause.code == "past_overdue"
    assert [(r.code, dict(r.params)) for r in cause.remedies] == [("wait_cooling", {"days": 90})]


def test_nothing_known_is_unexplained_with_generic_remedies(kb: KnowledgeBase) -> None:
    (cause,) = diagnose_rejection(
        ApplicantProfile(rejection_hint=RejectionHint.OTHER), kb, TODAY
    ).causes
    assert (cause.code, cause.evidence) == ("unexplained", Evidence.ASSUMED)
    assert [r.code for r in cause.remedies] == ["add_credit_materials", "wait_cooling"]
    assert cause.remedies[0].params == {"materials": ("property", "business", "social_security")}


def test_current_overdue_ranks_first_and_blocks_reapply(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        overdue=Overdue.CURRENT, rejection_hint=RejectionHint.TOO_MANY_INQUIRIES, pay_score=500
    )
    diagnosis = diagnose_rejection(profile, kb, TODAY)
    assert [c.code for c in diagnosis.causes] == [
        "overdue_current",
        "too_many_inquiries",
        "pay_score_low",
    ]
    assert diagnosis.causes[0].remedies[0].code == "repay_overdue"
    assert diagnosis.reapply_on is None
    assert [r.code for r in diagnosis.reapply] == ["reapply_after_overdue_cleared"]


def test_stated_causes_rank_before_observed(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        rejection_hint=RejectionHint.SCORE_INSUFFICIENT,
        inquiries_3m=9,
        payments_per_week=1,
        pay_score=600,
    )
    causes = diagnose_rejection(profile, kb, TODAY).causes
    assert [(c.code, c.evidence.value) for c in causes] == [
        ("score_insufficient", "stated"),
        ("too_many_inquiries", "observed"),
        ("pay_score_low", "observed"),
        ("low_activity", "observed"),
    ]


def test_diagnosis_sources_resolve(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        rejection_hint=RejectionHint.TOO_MANY_INQUIRIES, pay_score=600, pay_history_months=2
    )
    diagnosis = diagnose_rejection(profile, kb, TODAY)
    sources = diagnosis.sources
    assert {
        "reject.inquiries",
        "effect.cooling",
        "reject.pay_score",
        "admission.pay_behaviour",
    } <= set(sources)
    assert len(kb.explain(sources)) == len(sources)
