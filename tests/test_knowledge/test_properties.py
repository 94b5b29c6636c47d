"""Property tests: never raise on unknowns; ranges stay in the table and improve with score."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from wxloan.knowledge import (
    ApplicantProfile,
    Questionnaire,
    KnowledgeBase,
    Status,
    assess,
    diagnose_rejection,
    limit_plan,
    next_questions,
)

from .strategies import profiles, today_dates

_RANK = {Status.NO: 0, Status.UNKNOWN: 1, Status.YES: 2}


@given(profiles(), today_dates)
def test_assess_never_raises_and_ranges_stay_in_table(
    kb: KnowledgeBase, profile: ApplicantProfile, today: date
) -> None:
    result = assess(profile, kb, today)
    assert [v.product for v in result.verdicts] == [p.key for p in kb.products]
    for verdict in result.verdicts:
        product = kb.product(verdict.product)
        if verdict.status is Status.NO:
            assert verdict.limit is None and verdict.apr is None
            continue
        assert verdict.limit is not None and verdict.apr is not None
        assert product.limit_min <= verdict.limit.low <= verdict.limit.high <= product.limit_max
        assert product.apr_min <= verdict.apr.low <= verdict.apr.high <= product.apr_max
    if result.decided:
        assert {v.status for v in result.verdicts} == {Status.NO}
    assert set(result.sources) <= kb.entries.keys()


@given(profiles(), st.integers(300, 850), st.integers(300, 850))
def test_nothing_gets_worse_as_the_pay_score_rises(
    kb: KnowledgeBase, profile: ApplicantProfile, first: int, second: int
) -> None:
    low, high = sorted((first, second))
    today = date(2025, 3, 1)
    worse = assess(profile.with_values({"pay_score": low}), kb, today)
    better = assess(profile.with_values({"pay_score": high}), kb, today)
    for before, after in zip(worse.verdicts, better.verdicts, strict=True):
        assert _RANK[after.status] >= _RANK[before.status]
        if before.apr is not None and after.apr is not None:
            assert after.apr.low <= before.apr.low and after.apr.high <= before.apr.high
        if before.limit is not None and after.limit is not None:
            assert after.limit.low <= before.limit.low and after.limit.high >= before.limit.high
    grades = "CBA"
    if worse.risk.grade is not None and better.risk.grade is not None:
        assert grades.index(better.risk.grade.value) >= grades.index(worse.risk.grade.value)


@given(profiles(), today_dates)
def test_diagnosis_never_raises_and_dates_are_sane(
    kb: KnowledgeBase, profile: ApplicantProfile, today: date
) -> None:
    diagnosis = diagnose_rejection(profile, kb, today)
    assert diagnosis.causes
    if diagnosis.reapply_on is None:
        assert diagnosis.causes[0].code == "overdue_current"
    else:
        assert diagnosis.reapply_on >= today
    assert set(diagnosis.sources) <= kb.entries.keys()


@given(profiles())
def test_limit_plan_never_raises_and_is_ranked(
    kb: KnowledgeBase, profile: ApplicantProfile
) -> None:
    plan = limit_plan(profile, kb)
    gains = [a.expected_gain_pct for a in plan.actions if a.expected_gain_pct is not None]
    assert gains == sorted(gains, reverse=True)
    quantified = [a.expected_gain_pct is not None for a in plan.actions]
    first_unquantified = quantified.index(False) if False in quantified else len(quantified)
    assert not any(quantified[first_unquantified:])  # figures first, then the rest
    held = profile.materials or frozenset()
    assert not {a.params["material"] for a in plan.actions if a.code == "add_material"} & {
        m.value for m in held
    }
    assert set(plan.sources) <= kb.entries.keys()


@settings(max_examples=50)
@given(profiles(), st.sampled_from(list(Questionnaire)))
def test_next_questions_never_raise_and_ask_only_unknowns(
    kb: KnowledgeBase, profile: ApplicantProfile, flow: Questionnaire
) -> None:
    questions = next_questions(profile, kb, flow)
    fields = [q.field for q in questions]
    assert len(fields) == len(set(fields))
    assert all(getattr(profile, f) is None for f in fields)


@settings(max_examples=60, deadline=None)
@given(profiles(), st.sampled_from(list(Questionnaire)), st.sets(st.sampled_from(
    ["overdue", "pay_score", "real_name_verified", "purpose", "identity", "materials",
     "inquiries_3m", "rejection_hint"])))
def test_next_question_is_the_first_of_next_questions(
    kb: KnowledgeBase, profile: ApplicantProfile, flow: Questionnaire, exclude: set[str]
) -> None:
    from wxloan.knowledge import next_question

    expected = [q for q in next_questions(profile, kb, flow) if q.field not in exclude]
    found = next_question(profile, kb, flow, frozenset(exclude))
    assert found == (expected[0] if expected else None)
