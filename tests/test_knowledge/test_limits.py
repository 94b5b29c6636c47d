"""limit_plan(): ranked by expected gain, personalised by what the user has."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wxloan.knowledge import ApplicantProfile, Identity, KnowledgeBase, Material, Overdue, limit_plan


def _actions(profile: ApplicantProfile, kb: KnowledgeBase) -> list[tuple[str, object]]:
    return [(a.code, a.params.get("material")) for a in limit_plan(profile, kb).actions]


def test_nothing_known_ranks_materials_by_expected_gain(kb: KnowledgeBase) -> None:
    plan = limit_plan(ApplicantProfile(), kb)
    assert _actions(ApplicantProfile(), kb) == [
        ("add_material", "property"),
        ("add_material", "business"),
        ("add_material", "social_security"),
        ("keep_ontime", None),
        ("grow_lingqiantong", None),
        ("do_credit_tasks", None),
        ("stay_active", None),
    ]
    gains = [a.expected_gain_pct for a in plan.actions[:3]]
    assert gains == [Decimal("72.98"), Decimal("38.86"), Decimal("31.95")]  # 89×82, 67×58, 71×45
    assert all(a.expected_gain_pct is None for a in plan.actions[3:])
    assert dict(plan.actions[0].params) == {
        "material": "property",
        "probability_pct": 89,
        "avg_increase_pct": 82,
        "expected_gain_pct": Decimal("72.98"),
        "effective_working_days": 5,
    }
    assert [r.code for r in plan.outlook] == ["good_borrower_growth", "supplement_average"]
    assert plan.outlook[0].params == {"annual_growth_pct": 58}


@pytest.mark.parametrize("material", list(Material))
def test_held_material_is_not_suggested(kb: KnowledgeBase, material: Material) -> None:
    profile = ApplicantProfile(materials=frozenset({material}), identity=Identity.BUSINESS_OWNER)
    plan = limit_plan(profile, kb)
    suggested = [a.params["material"] for a in plan.actions if a.code == "add_material"]
    assert material.value not in suggested and len(suggested) == 2
    assert [(r.code, r.params) for r in plan.achieved] == [
        ("material_held", {"material": material.value})
    ]


@pytest.mark.parametrize(
    ("identity", "business_offered"),
    [
        (None, True),
        (Identity.BUSINESS_OWNER, True),
        (Identity.EMPLOYEE, False),
        (Identity.STUDENT, False),
        (Identity.NEW_USER, False),
    ],
)
def test_enterprise_certification_only_for_business_owners(
    kb: KnowledgeBase, identity: Identity | None, business_offered: bool
) -> None:
    suggested = [
        m for c, m in _actions(ApplicantProfile(identity=identity), kb) if c == "add_material"
    ]
    assert ("business" in suggested) is business_offered


@pytest.mark.parametrize(("done", "remaining"), [(0, 6), (4, 2), (5, 1)])
def test_ontime_counts_remaining_periods(kb: KnowledgeBase, done: int, remaining: int) -> None:
    (action,) = [
        a
        for a in limit_plan(ApplicantProfile(ontime_periods=done), kb).actions
        if a.code == "keep_ontime"
    ]
    assert dict(action.params) == {
        "done_periods": done,
        "remaining_periods": remaining,
        "target_periods": 6,
    }


@pytest.mark.parametrize("done", [6, 12])
def test_ontime_target_reached_is_achieved(kb: KnowledgeBase, done: int) -> None:
    plan = limit_plan(ApplicantProfile(ontime_periods=done), kb)
    assert "keep_ontime" not in [a.code for a in plan.actions]
    assert [(r.code, dict(r.params)) for r in plan.achieved] == [
        ("ontime_target_reached", {"done_periods": done, "target_periods": 6})
    ]


@pytest.mark.parametrize(
    ("balance", "shortfall"), [(0, 10000), (3000, 7000), (10000, 0), (10001, None)]
)
def test_lingqiantong_must_exceed_10000(
    kb: KnowledgeBase, balance: int, shortfall: int | None
) -> None:
    plan = limit_plan(ApplicantProfile(lingqiantong_balance=balance), kb)
    actions = [a for a in plan.actions if a.code == "grow_lingqiantong"]
    if shortfall is None:
        assert not actions
        assert [r.code for r in plan.achieved] == ["lingqiantong_above_threshold"]
    else:
        assert dict(actions[0].params) == {
            "threshold_yuan": 10000,
            "balance_yuan": balance,
            "shortfall_yuan": shortfall,
        }


def test_current_overdue_comes_first_and_alone(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(overdue=Overdue.CURRENT, ontime_periods=10, materials=frozenset())
    plan = limit_plan(profile, kb)
    assert [a.code for a in plan.actions] == ["repay_overdue", "keep_ontime"]
    assert plan.actions[1].params["remaining_periods"] == 6
    assert plan.achieved == ()


def test_everything_done_leaves_unquantified_upkeep(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        materials=frozenset(Material), ontime_periods=6, lingqiantong_balance=20000
    )
    plan = limit_plan(profile, kb)
    assert [a.code for a in plan.actions] == ["do_credit_tasks", "stay_active"]
    assert len(plan.achieved) == 5
    assert set(plan.sources) <= kb.entries.keys()
