"""What the session remembers between turns, and how a new message updates it.

The session's ``slots`` hold the applicant profile's known fields flat (so transcripts and
``wxloan transcript`` read naturally) plus a few bookkeeping keys starting with ``_``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from typing import Any

from wxloan.knowledge import ApplicantProfile, Material, ProfileError

from .nlu import Understanding

__all__ = ["CALC_SLOTS", "PROFILE_FIELDS", "Memory"]

PROFILE_FIELDS = frozenset(f.name for f in fields(ApplicantProfile))
CALC_SLOTS = frozenset({"amount", "months", "apr", "daily_rate"})
_BOOL_FIELDS = frozenset(
    {"real_name_verified", "face_verified", "account_normal", "rejected_before"}
)


@dataclass(slots=True)
class Memory:
    """The user's known facts and the questionnaire's bookkeeping.

    :param skipped: fields the user skipped (never asked again in this session).
    :param tries: unusable answers per field (three → skipped).
    :param asked: fields asked in the current flow, in order (the question number).
    :param last: the last answer, ``{"topic": …, "sources": […], …}``: what "为什么",
        "更多", "详细评估" and elliptical follow-ups ("换成36期呢") continue from.
    :param calc: calculator inputs collected so far (amount, months, apr, daily_rate).
    :param detailed: the user asked for the detailed assessment ("详细评估"): keep asking
        what still matters instead of stopping after the quick questions.
    :param recent: the profile fields the last fact-bearing message set (a correction,
        "说错了，是710", re-reads its value for them).
    :param shown: a digest of the last verdict shown in this flow, so an unchanged
        verdict is not repeated after every answer.
    :param products: the products the user asked about (their verdicts come first).
    """

    profile: ApplicantProfile = field(default_factory=ApplicantProfile)
    skipped: list[str] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    last: dict[str, Any] | None = None
    calc: dict[str, str] = field(default_factory=dict)
    detailed: bool = False
    recent: list[str] = field(default_factory=list)
    shown: str | None = None
    products: list[str] = field(default_factory=list)

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> Memory:
        """Rebuild from a session's slots (tolerant of old or partial data)."""
        try:
            profile = ApplicantProfile.from_mapping(
                {k: v for k, v in slots.items() if k in PROFILE_FIELDS}
            )
        except ProfileError:
            profile = ApplicantProfile()
        return cls(
            profile=profile,
            skipped=list(slots.get("_skipped", [])),
            tries=dict(slots.get("_tries", {})),
            asked=list(slots.get("_asked", [])),
            last=slots.get("_last"),
            calc=dict(slots.get("_calc", {})),
            detailed=bool(slots.get("_detailed", False)),
            recent=list(slots.get("_recent", [])),
            shown=slots.get("_shown"),
            products=list(slots.get("_products", [])),
        )

    def copy(self) -> Memory:
        """An independent copy (the profile is immutable; the bookkeeping is not)."""
        return Memory(
            profile=self.profile,
            skipped=list(self.skipped),
            tries=dict(self.tries),
            asked=list(self.asked),
            last=None if self.last is None else dict(self.last),
            calc=dict(self.calc),
            detailed=self.detailed,
            recent=list(self.recent),
            shown=self.shown,
            products=list(self.products),
        )

    def to_slots(self) -> dict[str, Any]:
        """The JSON form stored in the session."""
        slots: dict[str, Any] = dict(self.profile.to_mapping())
        for key, value in (
            ("_skipped", self.skipped),
            ("_tries", self.tries),
            ("_asked", self.asked),
            ("_last", self.last),
            ("_calc", self.calc),
            ("_detailed", self.detailed),
            ("_recent", self.recent),
            ("_shown", self.shown),
            ("_products", self.products),
        ):
            if value:
                slots[key] = value
        return slots

    def start_flow(self) -> None:
        """A new questionnaire: forget the previous one's bookkeeping, keep the facts."""
        self.skipped.clear()
        self.tries.clear()
        self.asked.clear()
        self.detailed = False
        self.shown = None

    def absorb(self, understanding: Understanding, today: dt.date, step: str | None) -> set[str]:
        """Take the profile facts of one message; return the fields that changed.

        :param step: the field just asked, so a bare yes/no answers it.
        """
        values: dict[str, Any] = {}
        slots = understanding.slots
        for name, value in slots.items():
            if name in PROFILE_FIELDS and name not in ("materials", "materials_lacking"):
                values[name] = value
        if "rejected_days_ago" in slots:
            values["rejected_on"] = today - dt.timedelta(days=int(str(slots["rejected_days_ago"])))
            values.setdefault("rejected_before", True)
        if "rejection_hint" in slots:
            values.setdefault("rejected_before", True)
        yes_no = understanding.yes_no
        if step in _BOOL_FIELDS and step not in values and yes_no is not None:
            values[step] = yes_no
        if step == "overdue" and "overdue" not in values and yes_no is False:
            values["overdue"] = "none"
        changed: set[str] = set()
        for name, value in values.items():
            try:
                updated = ApplicantProfile.from_mapping({**self.profile.to_mapping(), name: value})
            except ProfileError:
                continue
            if getattr(updated, name) != getattr(self.profile, name):
                changed.add(name)
            self.profile = updated
        changed |= self._absorb_materials(understanding, step)
        if changed:
            self.recent = sorted(changed)
        return changed

    def confirm(self, names: tuple[str, ...]) -> set[str]:
        """Set the yes/no fields ``names`` to True (a "yes" to a grouped question)."""
        self.profile = self.profile.with_values({name: True for name in names})
        return set(names)

    def absorb_calculator(self, understanding: Understanding) -> bool:
        """Take amount, months and rate; True when the message carried any of them."""
        found = {k: str(v) for k, v in understanding.slots.items() if k in CALC_SLOTS}
        if "apr" in found:
            self.calc.pop("daily_rate", None)
        if "daily_rate" in found:
            self.calc.pop("apr", None)
        self.calc.update(found)
        return bool(found)

    def _absorb_materials(self, understanding: Understanding, step: str | None) -> set[str]:
        """"有社保，没有房": held and lacking materials; the newer statement wins.

        A denial without a named material ("都没有", or "没有" to the materials question)
        means every material not already held is lacking, so none is suggested.
        """
        positive = understanding.slots.get("materials")
        held = [str(m) for m in positive] if isinstance(positive, list) else []
        lacking = set(understanding.negated_values.get("materials", frozenset()))
        denied_all = ("materials" in understanding.negated and not lacking) or (
            step == "materials" and not held and understanding.yes_no is False
        )
        if denied_all:
            owned = {m.value for m in self.profile.materials or ()} | set(held)
            lacking = {m.value for m in Material} - owned
        if not held and not lacking:
            return set()
        before = (self.profile.materials, self.profile.materials_lacking)
        try:
            self.profile = self.profile.with_material_facts(held=held, lacking=lacking - set(held))
        except ProfileError:
            return set()
        after = (self.profile.materials, self.profile.materials_lacking)
        return {name for name, old, new in zip(("materials", "materials_lacking"), before, after)
                if old != new}
