"""next_questions(): ask only what could change the outcome, most important first."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wxloan.knowledge import (
    ApplicantProfile,
    Questionnaire,
    Identity,
    KnowledgeBase,
    Material,
    Overdue,
    Purpose,
    assess,
    next_questions,
)
from wxloan.knowledge.questions import PRIORITY, _eligibility, _limits, _rejection

from .conftest import CLEAN, TODAY
from .strategies import profiles


def _fields(profile: ApplicantProfile, kb: KnowledgeBase, flow: str) -> list[str]:
    return [q.field for q in next_questions(profile, kb, flow)]


@pytest.mark.parametrize("flow", list(Questionnaire))
def test_current_overdue_leaves_nothing_to_ask(kb: KnowledgeBase, flow: Questionnaire) -> None:
    assert next_questions(ApplicantProfile(overdue=Overdue.CURRENT), kb, flow) == ()


@pytest.mark.parametrize(
    "profile",
    [
        ApplicantProfile(real_name_verified=False),
        ApplicantProfile(face_verified=False),
        ApplicantProfile(account_normal=False),
        ApplicantProfile(purpose=Purpose.INVESTMENT),
    ],
)
def test_hard_stops_end_the_eligibility_questionnaire(
    kb: KnowledgeBase, profile: ApplicantProfile
) -> None:
    assert next_questions(profile, kb, "eligibility") == ()


def test_empty_profile_eligibility_order(kb: KnowledgeBase) -> None:
    assert _fields(ApplicantProfile(), kb, "eligibility") == list(PRIORITY[Questionnaire.ELIGIBILITY])


def test_pay_score_then_overdue_then_group_then_the_other_hard_stops(kb: KnowledgeBase) -> None:
    """The pay score decides which products fit; a current overdue closes all three."""
    fields = _fields(ApplicantProfile(), kb, "eligibility")
    assert fields[:7] == [
        "pay_score",
        "overdue",
        "identity",
        "real_name_verified",
        "face_verified",
        "account_normal",
        "purpose",
    ]


def test_high_score_asks_what_grade_a_needs(kb: KnowledgeBase) -> None:
    profile = replace(CLEAN, pay_score=760, identity=Identity.EMPLOYEE)
    assert _fields(profile, kb, "eligibility") == [
        "inquiries_3m",
        "rejected_before",
        "payments_per_week",
        "pay_history_months",
    ]


def test_mid_score_does_not_ask_what_only_grade_a_needs(kb: KnowledgeBase) -> None:
    profile = replace(CLEAN, pay_score=700, identity=Identity.EMPLOYEE)
    assert _fields(profile, kb, "eligibility") == ["inquiries_3m", "rejected_before"]


def test_identity_matters_only_where_the_student_cap_bites(kb: KnowledgeBase) -> None:
    # at 600 only We2000 is possible; identity still changes its limit (student cap)
    assert "identity" in _fields(replace(CLEAN, pay_score=600), kb, "eligibility")


def test_fully_known_profile_has_nothing_to_ask(kb: KnowledgeBase) -> None:
    profile = replace(
        CLEAN,
        pay_score=760,
        identity=Identity.EMPLOYEE,
        inquiries_3m=0,
        rejected_before=False,
        payments_per_week=5,
        pay_history_months=24,
    )
    assert next_questions(profile, kb, "eligibility") == ()


def test_limits_flow(kb: KnowledgeBase) -> None:
    assert _fields(ApplicantProfile(), kb, "limits") == [
        "materials",
        "ontime_periods",
        "overdue",
        "identity",
        "lingqiantong_balance",
    ]
    holds_business = ApplicantProfile(
        overdue=Overdue.NONE, materials=frozenset({Material.BUSINESS})
    )
    assert _fields(holds_business, kb, "limits") == ["ontime_periods", "lingqiantong_balance"]


def test_rejection_flow(kb: KnowledgeBase) -> None:
    fields = _fields(ApplicantProfile(), kb, "rejection")
    assert fields[:3] == ["rejection_hint", "rejected_on", "overdue"]
    assert set(fields) <= set(PRIORITY[Questionnaire.REJECTION])


def test_questions_carry_sources(kb: KnowledgeBase) -> None:
    for flow in Questionnaire:
        for question in next_questions(ApplicantProfile(), kb, flow):
            assert question.sources and all(kb.entry(s) for s in question.sources)


def test_unknown_flow_is_rejected(kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError):
        next_questions(ApplicantProfile(), kb, "gossip")


_OUTCOME = {Questionnaire.ELIGIBILITY: _eligibility, Questionnaire.REJECTION: _rejection, Questionnaire.LIMITS: _limits}


@settings(max_examples=80)
@given(profiles(), profiles(), st.sampled_from(list(Questionnaire)))
def test_a_field_not_asked_cannot_change_the_outcome(
    kb: KnowledgeBase, profile: ApplicantProfile, donor: ApplicantProfile, flow: Questionnaire
) -> None:
    """Any value (not just threshold values) of an unasked field leaves the outcome alone."""
    decided = profile.overdue is Overdue.CURRENT or (
        flow is Questionnaire.ELIGIBILITY and assess(profile, kb, TODAY).decided
    )
    if decided:
        return  # nothing is asked, by design
    asked = {q.field for q in next_questions(profile, kb, flow)}
    outcome = _OUTCOME[flow]
    before = outcome(profile, kb)
    for field in PRIORITY[flow]:
        value = getattr(donor, field)
        if getattr(profile, field) is None and field not in asked and value is not None:
            assert outcome(profile.with_values({field: value}), kb) == before, field
