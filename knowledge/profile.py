"""ApplicantProfile: what we know about the user; every field may be unknown (None).

Materials are two fields, because "not told yet" and "said no" lead to different
advice: ``materials`` is what the user holds, ``materials_lacking`` what the user said
they do not have (没有房 → ``{property}``). A material in neither is unknown and may
still be suggested; one the user lacks never is. No material is in both.

The language-understanding module hands us plain dicts and the dialogue stores the
profile as JSON, so :meth:`ApplicantProfile.from_mapping` is tolerant (unknown keys
ignored, strings converted to enums and dates, lists to frozensets) while the
constructor itself is strict (right types, values in range), so a bad value never
reaches the rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from .enums import Identity, Material, Overdue, Purpose, RejectionHint
from .errors import ProfileError

__all__ = ["ApplicantProfile", "FIELD_NAMES", "INT_RANGES", "JsonValue"]

#: Valid range of every integer field, inclusive.
INT_RANGES: Mapping[str, tuple[int, int]] = {
    "pay_score": (300, 850),
    "inquiries_3m": (0, 1000),
    "payments_per_week": (0, 10000),
    "pay_history_months": (0, 1200),
    "lingqiantong_balance": (0, 10**12),
    "ontime_periods": (0, 1200),
}
_INPUT_RANGES: Mapping[str, tuple[int, int]] = {**INT_RANGES, "rejected_days_ago": (0, 36500)}

_BOOL_FIELDS = ("real_name_verified", "face_verified", "account_normal", "rejected_before")
_ENUM_FIELDS: Mapping[str, type[StrEnum]] = {
    "overdue": Overdue,
    "identity": Identity,
    "purpose": Purpose,
    "rejection_hint": RejectionHint,
}
#: Machine spellings of a boolean (JSON, form values). Words a user types (是, 没有...)
#: are the understander's: ``knowledge/data/lexicon.toml`` ``[answers]`` lists them.
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})

JsonValue = bool | int | str | list[str]
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class ApplicantProfile:
    """What the user told us; None everywhere means "not known yet".

    ``materials`` None means unknown, an empty frozenset means "holds none".
    ``materials_lacking``: the materials the user said they do not have; None means
    nothing was said, and it never shares a material with ``materials``.
    Update with :meth:`merged`, :meth:`with_material_facts` (what a message said about
    materials) or ``dataclasses.replace(profile, pay_score=700)``.
    """

    real_name_verified: bool | None = None
    face_verified: bool | None = None
    account_normal: bool | None = None
    pay_score: int | None = None
    overdue: Overdue | None = None
    inquiries_3m: int | None = None
    payments_per_week: int | None = None
    pay_history_months: int | None = None
    identity: Identity | None = None
    materials: frozenset[Material] | None = None
    materials_lacking: frozenset[Material] | None = None
    lingqiantong_balance: int | None = None
    ontime_periods: int | None = None
    purpose: Purpose | None = None
    rejected_before: bool | None = None
    rejected_on: date | None = None
    rejection_hint: RejectionHint | None = None

    def __post_init__(self) -> None:
        for name in _BOOL_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ProfileError(f"{name}: expected bool, got {type(value).__name__}")
        for name, (lo, hi) in INT_RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise ProfileError(f"{name}: expected int, got {type(value).__name__}")
            if not lo <= value <= hi:
                raise ProfileError(f"{name}: must be in {lo}..{hi}, got {value}")
        for name, enum in _ENUM_FIELDS.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, enum):
                raise ProfileError(f"{name}: expected {enum.__name__}, got {value!r}")
        for name in ("materials", "materials_lacking"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, frozenset) and all(isinstance(m, Material) for m in value)
            ):
                raise ProfileError(f"{name}: expected frozenset of Material, got {value!r}")
        both = (self.materials or frozenset()) & (self.materials_lacking or frozenset())
        if both:
            listing = ", ".join(sorted(m.value for m in both))
            raise ProfileError(f"materials and materials_lacking both hold {listing}")
        if self.rejected_on is not None and (
            not isinstance(self.rejected_on, date) or isinstance(self.rejected_on, datetime)
        ):
            raise ProfileError(f"rejected_on: expected date, got {self.rejected_on!r}")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], *, today: date | None = None
    ) -> ApplicantProfile:
        """Build a profile from plain values; unknown keys are ignored.

        :param today: lets a ``rejected_days_ago`` int (what the language module
            extracts) stand in for ``rejected_on``; ignored when ``rejected_on`` is given
        :raises ProfileError: a value cannot be converted or is out of range
        """
        rejected_on = _to_date(data, "rejected_on")
        if rejected_on is None and today is not None:
            days_ago = _to_int(data, "rejected_days_ago")
            if days_ago is not None:
                rejected_on = today - timedelta(days=days_ago)
        return cls(
            real_name_verified=_to_bool(data, "real_name_verified"),
            face_verified=_to_bool(data, "face_verified"),
            account_normal=_to_bool(data, "account_normal"),
            pay_score=_to_int(data, "pay_score"),
            overdue=_to_enum(data, "overdue", Overdue),
            inquiries_3m=_to_int(data, "inquiries_3m"),
            payments_per_week=_to_int(data, "payments_per_week"),
            pay_history_months=_to_int(data, "pay_history_months"),
            identity=_to_enum(data, "identity", Identity),
            materials=_to_materials(data, "materials"),
            materials_lacking=_to_materials(data, "materials_lacking"),
            lingqiantong_balance=_to_int(data, "lingqiantong_balance"),
            ontime_periods=_to_int(data, "ontime_periods"),
            purpose=_to_enum(data, "purpose", Purpose),
            rejected_before=_to_bool(data, "rejected_before"),
            rejected_on=rejected_on,
            rejection_hint=_to_enum(data, "rejection_hint", RejectionHint),
        )

    def to_mapping(self) -> dict[str, JsonValue]:
        """JSON-serialisable dict of the known fields (unknown ones are left out)."""
        out: dict[str, JsonValue] = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, frozenset):
                out[name] = sorted(m.value for m in value)
            elif isinstance(value, date):
                out[name] = value.isoformat()
            elif isinstance(value, StrEnum):
                out[name] = value.value
            else:
                out[name] = value
        return out

    def merged(self, other: ApplicantProfile) -> ApplicantProfile:
        """This profile updated with every field ``other`` knows.

        The two material fields are replaced too, except that a material ``other``
        states in one of them leaves the other field of this profile (``other`` is the
        newer word: "有房" after "没有房"), so the result never holds a material twice.
        """
        changes = {n: getattr(other, n) for n in FIELD_NAMES if getattr(other, n) is not None}
        if not changes:
            return self
        held, lacking = other.materials, other.materials_lacking
        if held is not None and lacking is None and self.materials_lacking:
            changes["materials_lacking"] = self.materials_lacking - held
        if lacking is not None and held is None and self.materials:
            changes["materials"] = self.materials - lacking
        return self.with_values(changes)

    def with_material_facts(
        self, held: Iterable[Material | str] = (), lacking: Iterable[Material | str] = ()
    ) -> ApplicantProfile:
        """Add what one message said about materials; it overrides what was said before.

        ``held`` joins ``materials`` and leaves ``materials_lacking``; ``lacking`` the
        reverse ("有社保，没有房" → ``held=["social_security"], lacking=["property"]``).
        A field nothing was ever said about stays None.

        :raises ProfileError: a material is both held and lacking in the same call, or
            is not a material key
        """
        has = frozenset(_enum_value("materials", m, Material) for m in held)
        lacks = frozenset(_enum_value("materials_lacking", m, Material) for m in lacking)
        if has & lacks:
            listing = ", ".join(sorted(m.value for m in has & lacks))
            raise ProfileError(f"a material cannot be both held and lacking: {listing}")
        materials = self.materials
        if materials is not None or has:
            materials = ((materials or frozenset()) - lacks) | has
        missing = self.materials_lacking
        if missing is not None or lacks:
            missing = ((missing or frozenset()) - has) | lacks
        return replace(self, materials=materials, materials_lacking=missing)

    def with_values(self, changes: Mapping[str, object]) -> ApplicantProfile:
        """A copy with these fields set (typed values; checked like the constructor's).

        :raises ProfileError: an unknown field name or a wrong-typed value
        """
        unknown = sorted(set(changes) - set(FIELD_NAMES))
        if unknown:
            raise ProfileError(f"unknown profile field(s): {', '.join(unknown)}")
        # Types are checked at run time by __post_init__, not statically here.
        loose: dict[str, Any] = dict(changes)
        return replace(self, **loose)

    def unknown_fields(self) -> tuple[str, ...]:
        """Names of the fields still unknown, in declaration order."""
        return tuple(n for n in FIELD_NAMES if getattr(self, n) is None)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ApplicantProfile))


def _to_bool(data: Mapping[str, object], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ProfileError(f"{key}: expected a yes/no value, got {value!r}")


def _to_int(data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    number: int
    if isinstance(value, bool):
        raise ProfileError(f"{key}: expected a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    else:
        raise ProfileError(f"{key}: expected a whole number, got {value!r}")
    lo, hi = _INPUT_RANGES[key]
    if not lo <= number <= hi:
        raise ProfileError(f"{key}: must be in {lo}..{hi}, got {number}")
    return number


def _enum_value(key: str, value: object, enum: type[_E]) -> _E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return enum(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in enum)
    raise ProfileError(f"{key}: expected one of {allowed}, got {value!r}")


def _to_enum(data: Mapping[str, object], key: str, enum: type[_E]) -> _E | None:
    value = data.get(key)
    return None if value is None else _enum_value(key, value, enum)


def _to_materials(data: Mapping[str, object], key: str) -> frozenset[Material] | None:
    value = data.get(key)
    if value is None:
        return None
    items: Iterable[object]
    if isinstance(value, str | Material):
        items = (value,)
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        raise ProfileError(f"{key}: expected a list of materials, got {value!r}")
    return frozenset(_enum_value(key, item, Material) for item in items)


def _to_date(data: Mapping[str, object], key: str) -> date | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).date()
        except ValueError:
            pass
    raise ProfileError(f"{key}: expected an ISO date (YYYY-MM-DD), got {value!r}")
