"""ApplicantProfile: tolerant from_mapping, strict constructor, JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxloan.knowledge import (
    ApplicantProfile,
    Identity,
    KnowledgeError,
    Material,
    Overdue,
    ProfileError,
    Purpose,
    RejectionHint,
)
from wxloan.knowledge.profile import FIELD_NAMES

from .strategies import profiles


def test_field_names_are_the_contract() -> None:
    assert FIELD_NAMES == (
        "real_name_verified",
        "face_verified",
        "account_normal",
        "pay_score",
        "overdue",
        "inquiries_3m",
        "payments_per_week",
        "pay_history_months",
        "identity",
        "materials",
        "materials_lacking",
        "lingqiantong_balance",
        "ontime_periods",
        "purpose",
        "rejected_before",
        "rejected_on",
        "rejection_hint",
    )


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        (Overdue, ["none", "past", "current"]),
        (Identity, ["employee", "student", "business_owner", "new_user"]),
        (Material, ["social_security", "property", "business"]),
        (Purpose, ["consumption", "house", "investment", "business", "other"]),
        (RejectionHint, ["score_insufficient", "too_many_inquiries", "other"]),
    ],
)
def test_enum_wire_values(enum: type[StrEnum], values: list[str]) -> None:
    assert [m.value for m in enum] == values


def test_empty_profile_is_all_unknown() -> None:
    assert ApplicantProfile().unknown_fields() == FIELD_NAMES
    assert ApplicantProfile.from_mapping({}) == ApplicantProfile()


def test_from_mapping_converts_plain_values_and_ignores_unknown_keys() -> None:
    profile = ApplicantProfile.from_mapping(
        {
            "real_name_verified": "true",
            "face_verified": 1,
            "account_normal": False,
            "pay_score": "650",
            "overdue": "past",
            "inquiries_3m": 2.0,
            "identity": " Student ",
            "materials": ["property", "social_security"],
            "purpose": "consumption",
            "rejected_on": "2025-01-31",
            "rejection_hint": "score_insufficient",
            "favourite_colour": "blue",
        }
    )
    assert profile.real_name_verified is True
    assert profile.face_verified is True
    assert profile.account_normal is False
    assert profile.pay_score == 650
    assert profile.overdue is Overdue.PAST
    assert profile.inquiries_3m == 2
    assert profile.identity is Identity.STUDENT
    assert profile.materials == frozenset({Material.PROPERTY, Material.SOCIAL_SECURITY})
    assert profile.purpose is Purpose.CONSUMPTION
    assert profile.rejected_on == date(2025, 1, 31)
    assert profile.rejection_hint is RejectionHint.SCORE_INSUFFICIENT


def test_materials_empty_list_means_holds_none() -> None:
    assert ApplicantProfile.from_mapping({"materials": []}).materials == frozenset()
    assert ApplicantProfile.from_mapping({"materials": None}).materials is None
    assert ApplicantProfile.from_mapping({"materials": "property"}).materials == frozenset(
        {Material.PROPERTY}
    )


def test_materials_lacking_is_apart_from_unknown() -> None:
    """"没有房" is a fact, not "unknown": it reads and writes like ``materials``."""
    profile = ApplicantProfile.from_mapping({"materials_lacking": ["property"]})
    assert profile.materials_lacking == frozenset({Material.PROPERTY})
    assert profile.materials is None
    assert ApplicantProfile.from_mapping({"materials_lacking": "business"}).materials_lacking == (
        frozenset({Material.BUSINESS})
    )
    assert ApplicantProfile.from_mapping({"materials_lacking": []}).materials_lacking == frozenset()
    assert ApplicantProfile.from_mapping({}).materials_lacking is None
    both = ApplicantProfile(
        materials=frozenset({Material.SOCIAL_SECURITY}),
        materials_lacking=frozenset({Material.PROPERTY, Material.BUSINESS}),
    )
    assert both.to_mapping() == {
        "materials": ["social_security"],
        "materials_lacking": ["business", "property"],
    }
    assert ApplicantProfile.from_mapping(json.loads(json.dumps(both.to_mapping()))) == both


@pytest.mark.parametrize(
    "data",
    [
        {"materials": ["property"], "materials_lacking": ["property"]},
        {"materials": ["property", "business"], "materials_lacking": ["business"]},
    ],
)
def test_a_material_is_not_both_held_and_lacking(data: dict[str, object]) -> None:
    with pytest.raises(ProfileError, match="materials and materials_lacking both hold"):
        ApplicantProfile.from_mapping(data)


@pytest.mark.parametrize(
    ("before", "held", "lacking", "materials", "materials_lacking"),
    [
        # 没有房, nothing said before: only the lacking side becomes known
        (ApplicantProfile(), (), ("property",), None, {"property"}),
        # 有社保，没有房
        (
            ApplicantProfile(),
            ("social_security",),
            ("property",),
            {"social_security"},
            {"property"},
        ),
        # 有房 after 没有房 (a correction): the newer word wins
        (
            ApplicantProfile(materials_lacking=frozenset({Material.PROPERTY})),
            (Material.PROPERTY,),
            (),
            {"property"},
            set(),
        ),
        # 没有社保 after 有社保和房产证
        (
            ApplicantProfile(materials=frozenset({Material.SOCIAL_SECURITY, Material.PROPERTY})),
            (),
            ("social_security",),
            {"property"},
            {"social_security"},
        ),
        # nothing said: unchanged
        (ApplicantProfile(), (), (), None, None),
    ],
)
def test_with_material_facts_newest_word_wins(
    before: ApplicantProfile,
    held: tuple[str, ...],
    lacking: tuple[str, ...],
    materials: set[str] | None,
    materials_lacking: set[str] | None,
) -> None:
    after = before.with_material_facts(held=held, lacking=lacking)

    def values(field: frozenset[Material] | None) -> set[str] | None:
        return None if field is None else {m.value for m in field}

    assert values(after.materials) == materials
    assert values(after.materials_lacking) == materials_lacking


def test_with_material_facts_rejects_a_contradiction() -> None:
    with pytest.raises(ProfileError, match="both held and lacking: property"):
        ApplicantProfile().with_material_facts(held=["property"], lacking=["property"])
    with pytest.raises(ProfileError, match="expected one of"):
        ApplicantProfile().with_material_facts(lacking=["car"])


def test_merged_lets_the_newer_material_fact_win() -> None:
    no_house = ApplicantProfile(materials_lacking=frozenset({Material.PROPERTY}))
    has_house = ApplicantProfile(materials=frozenset({Material.PROPERTY}))
    assert no_house.merged(has_house) == ApplicantProfile(
        materials=frozenset({Material.PROPERTY}), materials_lacking=frozenset()
    )
    assert has_house.merged(no_house) == ApplicantProfile(
        materials=frozenset(), materials_lacking=frozenset({Material.PROPERTY})
    )


def test_datetime_becomes_date() -> None:
    moment = datetime(2025, 1, 2, 13, 30)
    assert ApplicantProfile.from_mapping({"rejected_on": moment}).rejected_on == date(2025, 1, 2)
    assert ApplicantProfile.from_mapping(
        {"rejected_on": "2025-01-02T08:00:00"}
    ).rejected_on == date(2025, 1, 2)


def test_rejected_days_ago_needs_today() -> None:
    data = {"rejected_days_ago": 10}
    assert ApplicantProfile.from_mapping(data).rejected_on is None
    assert ApplicantProfile.from_mapping(data, today=date(2025, 3, 1)).rejected_on == date(
        2025, 2, 19
    )
    both = {"rejected_days_ago": 10, "rejected_on": "2024-12-01"}
    assert ApplicantProfile.from_mapping(both, today=date(2025, 3, 1)).rejected_on == date(
        2024, 12, 1
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pay_score": 900}, "pay_score: must be in 300..850, got 900"),
        ({"pay_score": 299}, "pay_score: must be in 300..850, got 299"),
        ({"pay_score": "abc"}, "pay_score: expected a whole number"),
        ({"pay_score": 650.5}, "pay_score: expected a whole number"),
        ({"pay_score": True}, "pay_score: expected a whole number"),
        ({"inquiries_3m": -1}, "inquiries_3m: must be in 0.."),
        ({"ontime_periods": "-2"}, "ontime_periods: must be in 0.."),
        ({"overdue": "sometimes"}, "overdue: expected one of none, past, current"),
        ({"identity": 3}, "identity: expected one of"),
        ({"materials": ["car"]}, "materials: expected one of social_security, property, business"),
        ({"materials": 5}, "materials: expected a list of materials"),
        ({"materials_lacking": ["car"]}, "materials_lacking: expected one of social_security"),
        ({"materials_lacking": 5}, "materials_lacking: expected a list of materials"),
        ({"real_name_verified": "maybe"}, "real_name_verified: expected a yes/no value"),
        ({"real_name_verified": 2}, "real_name_verified: expected a yes/no value"),
        ({"rejected_on": "31/01/2025"}, "rejected_on: expected an ISO date"),
        ({"rejected_on": 20250131}, "rejected_on: expected an ISO date"),
    ],
)
def test_from_mapping_rejects_bad_values(data: dict[str, object], message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        ApplicantProfile.from_mapping(data)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, KnowledgeError)


@pytest.mark.parametrize(
    "changes",
    [
        {"overdue": "current"},
        {"pay_score": 1000},
        {"pay_score": "700"},
        {"real_name_verified": 1},
        {"materials": {"property"}},
        {"materials_lacking": ["property"]},
        {
            "materials": frozenset({Material.PROPERTY}),
            "materials_lacking": frozenset({Material.PROPERTY}),
        },
        {"rejected_on": datetime(2025, 1, 1)},
    ],
)
def test_constructor_is_strict(changes: dict[str, object]) -> None:
    with pytest.raises(ProfileError):
        ApplicantProfile().with_values(changes)


def test_with_values_rejects_unknown_field() -> None:
    with pytest.raises(ProfileError, match="unknown profile field"):
        ApplicantProfile().with_values({"salary": 1})


def test_merged_keeps_known_and_takes_other_known() -> None:
    old = ApplicantProfile(pay_score=600, identity=Identity.STUDENT)
    new = ApplicantProfile(pay_score=700, overdue=Overdue.NONE)
    merged = old.merged(new)
    assert merged == ApplicantProfile(
        pay_score=700, identity=Identity.STUDENT, overdue=Overdue.NONE
    )
    assert old.merged(ApplicantProfile()) is old
    assert replace(old, pay_score=650).pay_score == 650


def test_to_mapping_shape() -> None:
    profile = ApplicantProfile(
        pay_score=650,
        materials=frozenset({Material.PROPERTY, Material.BUSINESS}),
        rejected_on=date(2025, 1, 31),
        overdue=Overdue.NONE,
        face_verified=False,
    )
    assert profile.to_mapping() == {
        "face_verified": False,
        "pay_score": 650,
        "overdue": "none",
        "materials": ["business", "property"],
        "rejected_on": "2025-01-31",
    }


@given(profiles())
def test_json_round_trip(profile: ApplicantProfile) -> None:
    data = json.loads(json.dumps(profile.to_mapping()))
    assert ApplicantProfile.from_mapping(data) == profile


@given(profiles(), st.frozensets(st.sampled_from(Material)) | st.none())
def test_json_round_trip_with_materials_lacking(
    profile: ApplicantProfile, lacking: frozenset[Material] | None
) -> None:
    held = profile.materials
    if held is not None and lacking is not None:
        held -= lacking
    profile = profile.with_values({"materials": held, "materials_lacking": lacking})
    data = json.loads(json.dumps(profile.to_mapping()))
    assert ApplicantProfile.from_mapping(data) == profile


@given(profiles(), profiles())
def test_merge_prefers_other_where_known(first: ApplicantProfile, second: ApplicantProfile) -> None:
    merged = first.merged(second)
    for name in FIELD_NAMES:
        theirs = getattr(second, name)
        expected = getattr(first, name) if theirs is None else theirs
        assert getattr(merged, name) == expected
