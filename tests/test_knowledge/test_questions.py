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


# -- limits: materials the user said they hold or lack (materials_lacking)


def test_limits_still_asks_materials_after_no_house(kb: KnowledgeBase) -> None:
    """"没有房" leaves 社保/公积金 and 企业认证 open: the materials question can still help."""
    profile = ApplicantProfile(materials_lacking=frozenset({Material.PROPERTY}))
    assert _fields(profile, kb, "limits")[0] == "materials"


@pytest.mark.parametrize(
    "profile",
    [
        ApplicantProfile(materials_lacking=frozenset(Material)),
        # an employee is never offered 企业认证, so only two materials can be open
        ApplicantProfile(
            identity=Identity.EMPLOYEE,
            materials_lacking=frozenset({Material.PROPERTY, Material.SOCIAL_SECURITY}),
        ),
        ApplicantProfile(materials=frozenset({Material.PROPERTY})),
        ApplicantProfile(
            materials=frozenset(), materials_lacking=frozenset({Material.SOCIAL_SECURITY})
        ),
    ],
)
def test_limits_never_asks_about_known_materials(
    kb: KnowledgeBase, profile: ApplicantProfile
) -> None:
    fields = _fields(profile, kb, "limits")
    assert "materials" not in fields and "materials_lacking" not in fields
    assert fields  # the other levers are still worth asking about


@pytest.mark.parametrize("flow", list(Questionnaire))
def test_materials_lacking_is_never_a_question(kb: KnowledgeBase, flow: Questionnaire) -> None:
    for profile in (ApplicantProfile(), ApplicantProfile(materials_lacking=frozenset())):
        assert "materials_lacking" not in _fields(profile, kb, flow)


@settings(max_examples=60)
@given(
    profiles(),
    profiles(),
    st.frozensets(st.sampled_from(Material)),
)
def test_limits_unasked_field_cannot_change_the_plan_with_materials_lacking(
    kb: KnowledgeBase,
    profile: ApplicantProfile,
    donor: ApplicantProfile,
    lacking: frozenset[Material],
) -> None:
    """As above, for the limits flow with some materials said to be lacking."""
    held = None if profile.materials is None else profile.materials - lacking
    profile = profile.with_values({"materials": held, "materials_lacking": lacking})
    if profile.overdue is Overdue.CURRENT:
        return
    asked = {q.field for q in next_questions(profile, kb, "limits")}
    before = _limits(profile, kb)
    for field in PRIORITY[Questionnaire.LIMITS]:
        value = getattr(donor, field)
        if field == "materials" and value is not None:
            # a consistent answer never names a lacking material; 企业认证 is offered to
            # business owners only, so another user holding it changes no advice (the
            # question is not asked for it, though the plan would list it as held)
            value = value - lacking
            if profile.identity not in (None, Identity.BUSINESS_OWNER):
                value = value - {Material.BUSINESS}
        if getattr(profile, field) is None and field not in asked and value is not None:
            assert _limits(profile.with_values({field: value}), kb) == before, field
