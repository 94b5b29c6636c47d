"""KnowledgeBase: the validated, immutable article data plus lookups.

Built once at start-up by :func:`knowledge.loader.load_knowledge`; every query
function takes it as an argument, so there is no hidden global state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .enums import Identity, Material, RiskGrade
from .errors import UnknownEntryError
from .records import (
    Channel,
    Entry,
    Factor,
    GradeInfo,
    MaterialInfo,
    PriceTier,
    Product,
    Rules,
    Section,
    SpecialGroup,
)

__all__ = ["KnowledgeBase"]


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """All facts of the article, typed and cross-checked.

    :param entries: every citable entry by id (``kb.entry(id)`` answers "为什么?")
    :param products: the products table, in article order
    :param tiers: pay-score pricing tiers, highest first
    """

    sections: tuple[Section, ...]
    entries: Mapping[str, Entry]
    products: tuple[Product, ...]
    channels: tuple[Channel, ...]
    factors: tuple[Factor, ...]
    materials: tuple[MaterialInfo, ...]
    tiers: tuple[PriceTier, ...]
    grades: tuple[GradeInfo, ...]
    groups: tuple[SpecialGroup, ...]
    rules: Rules

    def entry(self, entry_id: str) -> Entry:
        """The entry with this id (section, text, note)."""
        try:
            return self.entries[entry_id]
        except KeyError:
            raise UnknownEntryError(f"unknown knowledge entry {entry_id!r}") from None

    def explain(self, entry_ids: Iterable[str]) -> tuple[Entry, ...]:
        """The entries behind a conclusion's ``sources``, in the given order."""
        return tuple(self.entry(entry_id) for entry_id in entry_ids)

    def section(self, number: int) -> Section:
        """The section with this number."""
        for section in self.sections:
            if section.number == number:
                return section
        raise UnknownEntryError(f"unknown section {number!r}")

    def section_entries(self, number: int) -> tuple[Entry, ...]:
        """Every entry tagged with this section, in load order."""
        return tuple(e for e in self.entries.values() if e.section == number)

    def product(self, key: str) -> Product:
        """The product with this key (``weilidai``, ``we2000``, ``partner_bank``)."""
        for product in self.products:
            if product.key == key:
                return product
        raise UnknownEntryError(f"unknown product {key!r}")

    def channel(self, key: str) -> Channel:
        """The channel with this key (``wallet``, ``mini_program``, ``scene``)."""
        for channel in self.channels:
            if channel.key == key:
                return channel
        raise UnknownEntryError(f"unknown channel {key!r}")

    def material(self, material: Material) -> MaterialInfo:
        """The materials-table row of this material."""
        for info in self.materials:
            if info.material is material:
                return info
        raise UnknownEntryError(f"unknown material {material!r}")

    def grade(self, grade: RiskGrade) -> GradeInfo:
        """What this risk grade means."""
        for info in self.grades:
            if info.grade is grade:
                return info
        raise UnknownEntryError(f"unknown risk grade {grade!r}")

    def group(self, identity: Identity) -> SpecialGroup | None:
        """The special track of this identity, or None (employees have none)."""
        for group in self.groups:
            if group.identity is identity:
                return group
        return None

    def tier_for(self, pay_score: int) -> PriceTier | None:
        """The pricing tier of a pay score, or None below the lowest tier."""
        for tier in self.tiers:
            if tier.contains(pay_score):
                return tier
        return None
