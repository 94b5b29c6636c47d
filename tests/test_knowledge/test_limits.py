"""limit_plan(): the whole article's levers, its figures as given, personalised by what
the user has and what they said they lack."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxloan.knowledge import (
    ApplicantProfile,
    Identity,
    KnowledgeBase,
    Material,
    Overdue,
    limit_plan,
)
from wxloan.knowledge.results import LimitPlan

from .strategies import profiles

#: The article's materials table (三), typed in from the article, not read from the kb.
ARTICLE_MATERIALS = {
    Material.SOCIAL_SECURITY: (71, 45, 3),
    Material.PROPERTY: (89, 82, 5),
    Material.BUSINESS: (67, 58, 2),
}
#: The after-opening levers in the plan's order, each with the entry it cites.
LEVERS = [
    ("keep_ontime", "after.ontime"),
    ("grow_lingqiantong", "after.lingqiantong"),
    ("do_credit_tasks", "after.credit_tasks"),
    ("grade_a_raise", "risk.grade_a"),
    ("stay_active", "risk.inactivity"),
]


def _actions(profile: ApplicantProfile, kb: KnowledgeBase) -> list[tuple[str, object]]:
    return [(a.code, a.params.get("material")) for a in limit_plan(profile, kb).actions]


def _suggested(plan: LimitPlan) -> list[object]:
    return [a.params["material"] for a in plan.actions if a.code == "add_material"]


def test_nothing_known_lists_every_lever_of_the_article(kb: KnowledgeBase) -> None:
    plan = limit_plan(ApplicantProfile(), kb)
    assert _actions(ApplicantProfile(), kb) == [
        ("add_material", "property"),
        ("add_material", "business"),
        ("add_material", "social_security"),
        *((code, None) for code, _ in LEVERS),
    ]
    for action, (code, entry) in zip(plan.actions[3:], LEVERS, strict=True):
        assert action.code == code and entry in action.sources
    assert plan.achieved == () and plan.not_suggested == ()
    assert [(r.code, dict(r.params)) for r in plan.outlook] == [
        ("good_borrower_growth", {"annual_growth_pct": 58}),
        ("supplement_average", {"avg_increase_pct": 63}),
    ]
    assert set(plan.sources) <= kb.entries.keys()


@pytest.mark.parametrize("material", list(Material))
def test_material_params_are_the_articles_figures_as_given(
    kb: KnowledgeBase, material: Material
) -> None:
    (action,) = [
        a
        for a in limit_plan(ApplicantProfile(), kb).actions
        if a.params.get("material") == material.value
    ]
    probability, increase, days = ARTICLE_MATERIALS[material]
    assert dict(action.params) == {
        "material": material.value,
        "probability_pct": probability,
        "avg_increase_pct": increase,
        "effective_working_days": days,
    }
    assert f"material.{material.value}" in action.sources


def test_no_param_is_a_derived_figure(kb: KnowledgeBase) -> None:
    """Probability × increase (72.98, 38.86, 31.95) ranks, but no param carries it."""
    products = {Decimal(p * i) / 100 for p, i, _ in ARTICLE_MATERIALS.values()}
    plan = limit_plan(ApplicantProfile(), kb)
    for item in (*plan.actions, *plan.achieved, *plan.outlook):
        assert "expected_gain_pct" not in item.params
        assert not products & {v for v in item.params.values() if isinstance(v, int | Decimal)}


def test_materials_are_ranked_by_expected_increase(kb: KnowledgeBase) -> None:
    """Our ranking key, probability × increase; the same order as the increase alone."""
    plan = limit_plan(ApplicantProfile(), kb)
    materials = [a for a in plan.actions if a.code == "add_material"]
    keys = [a.expected_gain_pct for a in materials]
    assert keys == [Decimal("72.98"), Decimal("38.86"), Decimal("31.95")]  # 89×82, 67×58, 71×45
    increases = [a.params["avg_increase_pct"] for a in materials]
    assert increases == sorted(increases, reverse=True)
    assert all(a.expected_gain_pct is None for a in plan.actions if a.code != "add_material")


@pytest.mark.parametrize("material", list(Material))
def test_held_material_is_achieved_not_suggested(kb: KnowledgeBase, material: Material) -> None:
    profile = ApplicantProfile(materials=frozenset({material}), identity=Identity.BUSINESS_OWNER)
    plan = limit_plan(profile, kb)
    suggested = _suggested(plan)
    assert material.value not in suggested and len(suggested) == 2
    assert [(r.code, r.params) for r in plan.achieved] == [
        ("material_held", {"material": material.value})
    ]
    assert plan.not_suggested == ()


@pytest.mark.parametrize("material", list(Material))
def test_lacking_material_is_neither_suggested_nor_held(
    kb: KnowledgeBase, material: Material
) -> None:
    """"没有房": 房产证明 is left out, said so, and never reported as held."""
    profile = ApplicantProfile(
        materials_lacking=frozenset({material}), identity=Identity.BUSINESS_OWNER
    )
    plan = limit_plan(profile, kb)
    suggested = _suggested(plan)
    assert material.value not in suggested and len(suggested) == 2
    assert plan.achieved == ()
    assert [(r.code, dict(r.params)) for r in plan.not_suggested] == [
        ("material_lacking", {"material": material.value})
    ]
    assert f"material.{material.value}" in plan.sources


def test_no_house_keeps_the_other_materials_in_order(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(materials_lacking=frozenset({Material.PROPERTY}))
    assert _suggested(limit_plan(profile, kb)) == ["business", "social_security"]


def test_held_and_lacking_together(kb: KnowledgeBase) -> None:
    """"有社保，没有房" from an employee: nothing left to upload, the levers remain."""
    profile = ApplicantProfile(
        identity=Identity.EMPLOYEE,
        materials=frozenset({Material.SOCIAL_SECURITY}),
        materials_lacking=frozenset({Material.PROPERTY}),
    )
    plan = limit_plan(profile, kb)
    assert [a.code for a in plan.actions] == [code for code, _ in LEVERS]
    assert [r.params["material"] for r in plan.achieved] == ["social_security"]
    assert [r.params["material"] for r in plan.not_suggested] == ["property"]
    # no material left to suggest: the materials' 63 % average is not dangled either
    assert [r.code for r in plan.outlook] == ["good_borrower_growth"]


def test_everything_lacking_leaves_the_after_opening_levers(kb: KnowledgeBase) -> None:
    plan = limit_plan(ApplicantProfile(materials_lacking=frozenset(Material)), kb)
    assert [a.code for a in plan.actions] == [code for code, _ in LEVERS]
    assert [r.params["material"] for r in plan.not_suggested] == [
        "social_security",
        "property",
        "business",
    ]  # the table's order


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


def test_grade_a_says_only_what_the_article_says(kb: KnowledgeBase) -> None:
    """+30 % for grade A, graded daily from behaviour: no invented steps toward an A."""
    (action,) = [a for a in limit_plan(ApplicantProfile(), kb).actions if a.code == "grade_a_raise"]
    assert dict(action.params) == {"grade": "A", "limit_change_pct": 30}
    assert action.sources == ("risk.grade_a", "risk.grading")


def test_current_overdue_is_the_whole_plan(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        overdue=Overdue.CURRENT,
        ontime_periods=10,
        lingqiantong_balance=20000,
        materials=frozenset({Material.SOCIAL_SECURITY}),
        materials_lacking=frozenset({Material.PROPERTY}),
    )
    plan = limit_plan(profile, kb)
    assert [a.code for a in plan.actions] == ["repay_overdue"]
    assert plan.achieved == () and plan.outlook == () and plan.not_suggested == ()
    assert plan.sources == ("factor.credit_report",)


@pytest.mark.parametrize("overdue", [None, Overdue.NONE, Overdue.PAST])
def test_no_current_overdue_no_repay_step(kb: KnowledgeBase, overdue: Overdue | None) -> None:
    assert "repay_overdue" not in [c for c, _ in _actions(ApplicantProfile(overdue=overdue), kb)]


def test_everything_done_leaves_the_unquantified_upkeep(kb: KnowledgeBase) -> None:
    profile = ApplicantProfile(
        materials=frozenset(Material), ontime_periods=6, lingqiantong_balance=20000
    )
    plan = limit_plan(profile, kb)
    assert [a.code for a in plan.actions] == ["do_credit_tasks", "grade_a_raise", "stay_active"]
    assert len(plan.achieved) == 5
    assert set(plan.sources) <= kb.entries.keys()


_STATUS = st.sampled_from(["held", "lacking", "unknown"])


@given(profiles(), st.tuples(_STATUS, _STATUS, _STATUS), st.booleans())
def test_what_is_held_or_lacking_is_never_suggested(
    kb: KnowledgeBase,
    profile: ApplicantProfile,
    statuses: tuple[str, str, str],
    said_anything: bool,
) -> None:
    by_status = {s: frozenset(m for m, x in zip(Material, statuses) if x == s) for s in statuses}
    held = by_status.get("held", frozenset())
    lacking = by_status.get("lacking", frozenset())
    profile = profile.with_values(
        {
            "materials": held if said_anything or held else None,
            "materials_lacking": lacking if said_anything or lacking else None,
        }
    )
    plan = limit_plan(profile, kb)
    suggested = set(_suggested(plan))
    reported = {r.params["material"] for r in plan.achieved if r.code == "material_held"}
    left_out = {r.params["material"] for r in plan.not_suggested}
    if profile.overdue is Overdue.CURRENT:
        assert [a.code for a in plan.actions] == ["repay_overdue"]
        return
    assert not suggested & {m.value for m in held | lacking}
    assert reported == {m.value for m in held}
    assert left_out == {m.value for m in lacking}
    unknown = set(Material) - held - lacking
    business_ok = profile.identity in (None, Identity.BUSINESS_OWNER)
    assert suggested == {
        m.value for m in unknown if business_ok or m is not Material.BUSINESS
    }
    keys = [a.expected_gain_pct for a in plan.actions if a.code == "add_material"]
    assert keys == sorted(keys, reverse=True)
    assert set(plan.sources) <= kb.entries.keys()
