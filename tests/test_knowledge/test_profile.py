"""ApplicantProfile: tolerant from_mapping, strict constructor, JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum

import pytest
from hypothesis import given

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


@given(profiles(), profiles())
def test_merge_prefers_other_where_known(first: ApplicantProfile, second: ApplicantProfile) -> None:
    merged = first.merged(second)
    for name in FIELD_NAMES:
        theirs = getattr(second, name)
        expected = getattr(first, name) if theirs is None else theirs
        assert getattr(merged, name) == expected
