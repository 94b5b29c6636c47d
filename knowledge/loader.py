"""load_knowledge(): read the package's own TOML files, validate, build a KnowledgeBase.

Only the files in :data:`FILES` are read, by name; other files in the data directory
(``lexicon.toml``, ``menu.toml``, owned by other packages) are ignored. Any missing
file, TOML syntax error, missing or wrong-typed field, unexpected field, duplicate id
or inconsistent table raises :class:`~knowledge.errors.DataError` naming the file and
the field, so start-up stops with a message that says what to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from . import ids
from .enums import Identity, Material, Purpose, RiskGrade
from .errors import DataError
from .kb import KnowledgeBase
from .reader import TableReader
from .records import (
    AntiFraud,
    AprSpan,
    BannedPurposes,
    Channel,
    Entry,
    Factor,
    Figure,
    GradeInfo,
    MaterialInfo,
    PriceTier,
    Product,
    Rules,
    ScoreBoost,
    Section,
    SpecialGroup,
)

__all__ = ["DATA_DIR", "FILES", "data_files", "data_fingerprint", "load_knowledge"]

DATA_DIR = Path(__file__).with_name("data")

FILES: tuple[str, ...] = (
    "sections.toml",
    "overview.toml",
    "admission.toml",
    "products.toml",
    "channels.toml",
    "limits.toml",
    "risk.toml",
    "pricing.toml",
    "special_groups.toml",
    "rejections.toml",
    "after_opening.toml",
    "policy.toml",
)

_PAY_SCORE_MIN, _PAY_SCORE_MAX = 300, 850
_APR_MAX = Decimal(36)

_E = TypeVar("_E", bound=StrEnum)


#: what a data folder holds that changes an answer (the knowledge, lexicon, menu, NLU data)
_FINGERPRINTED = ("*.toml", "nlu/*.toml", "nlu/*.json", "nlu/examples/*.yml")


def data_files(path: Path | None = None) -> list[Path]:
    """Every data file of a folder laid out as ``data/``, relative to it, sorted."""
    directory = DATA_DIR if path is None else Path(path)
    return sorted({f.relative_to(directory) for p in _FINGERPRINTED for f in directory.glob(p)})


def data_fingerprint(path: Path | None = None) -> str:
    """The first 12 hex digits of a sha256 over every data file's name and bytes.

    Why: an operator (and ``/healthz``) can tell which data a running bot answers from,
    and that a reload took effect, without comparing files by hand.
    """
    directory = DATA_DIR if path is None else Path(path)
    digest = hashlib.sha256()
    for relative in data_files(directory):
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update((directory / relative).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def load_knowledge(path: Path | None = None) -> KnowledgeBase:
    """Load and validate the knowledge data.

    Every file is checked even after one fails, so the error lists every problem found
    (one ``file: field: message`` per line, also in ``DataError.problems``).

    :param path: directory holding the data files; defaults to the packaged ``data/``
    :raises DataError: on any invalid, missing or inconsistent data
    """
    directory = DATA_DIR if path is None else Path(path)
    docs: dict[str, TableReader] = {}
    problems: list[str] = []
    for name in FILES:
        try:
            docs[name] = _read_file(directory, name)
        except DataError as exc:
            problems.append(str(exc))
    builder = _Builder(docs, problems)
    kb = builder.build()
    if problems or kb is None:
        raise DataError("\n".join(problems), problems=tuple(problems))
    return kb


def _read_file(directory: Path, name: str) -> TableReader:
    try:
        text = (directory / name).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"{name}: file not found in {directory}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot read: {exc}") from None
    return TableReader.parse(name, text, parse_float=Decimal)


_T = TypeVar("_T")


class _Builder:
    """Turns the parsed files into records, tracking ids and sections across files."""

    def __init__(self, docs: dict[str, TableReader], problems: list[str]) -> None:
        self._docs = docs
        self._problems = problems
        self._sections: dict[int, Section] = {}
        self._entries: dict[str, Entry] = {}
        self._origin: dict[str, str] = {}

    def _attempt(self, name: str, step: Callable[[TableReader], _T]) -> _T | None:
        """Run one file's step; a problem is recorded and the next file still checked."""
        doc = self._docs.get(name)
        if doc is None:
            return None
        try:
            return step(doc)
        except DataError as exc:
            self._problems.append(str(exc))
            return None

    def _rejections(self, doc: TableReader) -> tuple[Figure, ...]:
        figures = (
            self._figure(doc, "inquiry_wait", "months", 1, 24),
            self._figure(doc, "min_activity", "payments_per_week", 1, 100),
            self._figure(doc, "payment_effect", "pass_rate_increase_pct", 0, 100),
            self._figure(doc, "materials_effect", "pass_rate_increase_pct", 0, 100),
            self._figure(doc, "cooling", "days", 1, 3650),
        )
        self._facts(doc)
        doc.finish()
        return figures

    def _after_opening(self, doc: TableReader) -> tuple[Figure, ...]:
        figures = (
            self._figure(doc, "ontime", "periods", 1, 360),
            self._figure(doc, "lingqiantong", "threshold_yuan", 1, 10**9),
            self._figure(doc, "growth", "annual_growth_pct", 0, 1000),
        )
        self._facts(doc)
        doc.finish()
        return figures

    def _policy(self, doc: TableReader) -> tuple[AntiFraud, Figure]:
        anti_fraud = self._read_anti_fraud(doc)  # before the file's finish
        return anti_fraud, self._read_policy(doc)

    def _sections_read(self, doc: TableReader) -> bool:
        self._read_sections(doc)
        return True

    def build(self) -> KnowledgeBase | None:
        """The knowledge base, or None when a problem was recorded."""
        a = self._attempt
        if a("sections.toml", self._sections_read) is None:
            return None  # every other file refers to the sections
        overall_apr = a("overview.toml", self._read_overview)
        admission = a("admission.toml", self._read_admission)
        products = a("products.toml", self._read_products)
        channels = a("channels.toml", self._read_channels)
        limits = a("limits.toml", self._read_limits)
        risk = a("risk.toml", self._read_risk)
        pricing = a("pricing.toml", self._read_pricing)
        groups = a("special_groups.toml", self._read_groups)
        rejections = a("rejections.toml", self._rejections)
        after = a("after_opening.toml", self._after_opening)
        policy = a("policy.toml", self._policy)
        if (
            overall_apr is None or admission is None or products is None or channels is None
            or limits is None or risk is None or pricing is None or groups is None
            or rejections is None or after is None or policy is None
        ):
            return None
        for entry_id in sorted(ids.REQUIRED_ENTRY_IDS - self._entries.keys()):
            self._problems.append(f"knowledge data: required entry {entry_id!r} is missing")
        if self._problems:
            return None
        pay_history, score_boost = admission
        channel_list, spread = channels
        factors, materials, variables, supplement = limits
        grades, banned, inactivity = risk
        tiers, discount = pricing
        wait, activity, payment_effect, materials_effect, cooling = rejections
        ontime, lingqiantong, growth = after
        anti_fraud, max_inquiries = policy
        rules = Rules(
            overall_apr=overall_apr,
            pay_history_months=pay_history,
            score_boost=score_boost,
            channel_spread_pct=spread,
            model_variables=variables,
            supplement_increase_pct=supplement,
            banned_purposes=banned,
            inactivity_days=inactivity,
            first_loan_discount_pct=discount,
            inquiry_wait_months=wait,
            min_payments_per_week=activity,
            payment_effect_pct=payment_effect,
            materials_effect_pct=materials_effect,
            cooling_days=cooling,
            ontime_periods=ontime,
            lingqiantong_threshold_yuan=lingqiantong,
            annual_growth_pct=growth,
            max_inquiries_3m=max_inquiries,
            anti_fraud=anti_fraud,
        )
        return KnowledgeBase(
            sections=tuple(self._sections[n] for n in sorted(self._sections)),
            entries=MappingProxyType(dict(self._entries)),
            products=products,
            channels=channel_list,
            factors=factors,
            materials=materials,
            tiers=tiers,
            grades=grades,
            groups=groups,
            rules=rules,
        )

    # -- shared pieces -------------------------------------------------------

    def _entry(self, r: TableReader) -> Entry:
        """Read id/section/text/note and register the entry."""
        entry_id = r.string("id")
        section = r.integer("section")
        if section not in self._sections:
            raise r.error("section", f"unknown section {section}")
        entry = Entry(entry_id, section, r.string("text"), r.optional_string("note"))
        if entry_id in self._entries:
            first = self._origin[entry_id]
            raise r.error("id", f"duplicate id {entry_id!r} (first defined at {first})")
        self._entries[entry_id] = entry
        self._origin[entry_id] = r.where("id")
        return entry

    def _facts(self, doc: TableReader) -> None:
        """Plain ``[[facts]]`` entries: text only, no figures."""
        for r in doc.tables("facts", required=False):
            self._entry(r)
            r.finish()

    def _figure(self, doc: TableReader, table: str, field: str, lo: int, hi: int) -> Figure:
        """An entry table holding one integer figure."""
        r = doc.table(table)
        entry = self._entry(r)
        figure = Figure(entry.id, _int_in(r, field, lo, hi))
        r.finish()
        return figure

    # -- one method per file ---------------------------------------------------

    def _read_sections(self, doc: TableReader) -> None:
        for r in doc.tables("sections"):
            number = r.integer("number")
            if number in self._sections:
                raise r.error("number", f"duplicate section {number}")
            self._sections[number] = Section(number, r.string("title"), r.string("article_heading"))
            r.finish()
        doc.finish()

    def _read_overview(self, doc: TableReader) -> AprSpan:
        r = doc.table("overall_apr")
        entry = self._entry(r)
        lo, hi = _apr_pair(r)
        r.finish()
        self._facts(doc)
        doc.finish()
        return AprSpan(entry.id, lo, hi)

    def _read_admission(self, doc: TableReader) -> tuple[Figure, ScoreBoost]:
        pay_history = self._figure(doc, "pay_history", "months", 1, 120)
        r = doc.table("score_boost")
        entry = self._entry(r)
        boost = ScoreBoost(
            entry.id,
            _int_in(r, "pay_score", _PAY_SCORE_MIN, _PAY_SCORE_MAX),
            _int_in(r, "success_rate_increase_pct", 0, 1000),
        )
        r.finish()
        self._facts(doc)
        doc.finish()
        return pay_history, boost

    def _read_products(self, doc: TableReader) -> tuple[Product, ...]:
        products: list[Product] = []
        for r in doc.tables("products"):
            entry = self._entry(r)
            key = _unique_key(r, [p.key for p in products])
            name = r.string("name")
            min_score = _int_in(r, "min_pay_score", _PAY_SCORE_MIN, _PAY_SCORE_MAX)
            limit_min = _int_in(r, "limit_min", 1, 10**9)
            limit_max = _int_in(r, "limit_max", limit_min, 10**9)
            apr_min, apr_max = _apr_pair(r)
            products.append(
                Product(entry.id, key, name, min_score, limit_min, limit_max, apr_min, apr_max)
            )
            r.finish()
        self._facts(doc)
        doc.finish()
        return tuple(products)

    def _read_channels(self, doc: TableReader) -> tuple[tuple[Channel, ...], Figure]:
        spread = self._figure(doc, "spread", "pass_rate_spread_pct", 0, 100)
        channels: list[Channel] = []
        for r in doc.tables("channels"):
            entry = self._entry(r)
            key = _unique_key(r, [c.key for c in channels])
            if key not in ids.CHANNEL_KEYS:
                raise r.error("key", f"expected one of {_listing(ids.CHANNEL_KEYS)}, got {key!r}")
            review_min = _int_in(r, "review_minutes_min", 0, 1440)
            channels.append(
                Channel(
                    id=entry.id,
                    key=key,
                    name=r.string("name"),
                    path=r.string("path"),
                    feature=r.string("feature"),
                    review_minutes_min=review_min,
                    review_minutes_max=_int_in(r, "review_minutes_max", review_min, 1440),
                    instant=r.boolean("instant"),
                    pass_rate_pct=_int_in(r, "pass_rate_pct", 0, 100),
                    limit_error_pct=_int_in(r, "limit_error_pct", 0, 100),
                )
            )
            r.finish()
        missing = ids.CHANNEL_KEYS - {c.key for c in channels}
        if missing:
            raise doc.error("channels", f"missing channel(s) {_listing(missing)}")
        self._facts(doc)
        doc.finish()
        return tuple(channels), spread

    def _read_limits(
        self, doc: TableReader
    ) -> tuple[tuple[Factor, ...], tuple[MaterialInfo, ...], Figure, Figure]:
        variables = self._figure(doc, "model", "variables", 1, 100000)
        supplement = self._figure(doc, "supplement", "avg_increase_pct", 0, 1000)
        factors: list[Factor] = []
        for r in doc.tables("factors"):
            entry = self._entry(r)
            key = _unique_key(r, [f.key for f in factors])
            weight = _int_in(r, "weight_pct", 0, 100)
            lookback = r.optional_integer("lookback_months")
            factors.append(Factor(entry.id, key, weight, lookback))
            r.finish()
        total = sum(f.weight_pct for f in factors)
        if total != 100:
            raise doc.error("factors", f"weights must add up to 100, got {total}")
        materials: list[MaterialInfo] = []
        for r in doc.tables("materials"):
            entry = self._entry(r)
            material = _enum(r, "key", Material)
            if any(m.material is material for m in materials):
                raise r.error("key", f"duplicate key {material.value!r}")
            materials.append(
                MaterialInfo(
                    id=entry.id,
                    material=material,
                    name=r.string("name"),
                    probability_pct=_int_in(r, "probability_pct", 0, 100),
                    avg_increase_pct=_int_in(r, "avg_increase_pct", 0, 1000),
                    effective_working_days=_int_in(r, "effective_working_days", 0, 365),
                )
            )
            r.finish()
        missing = set(Material) - {m.material for m in materials}
        if missing:
            raise doc.error("materials", f"missing material(s) {_listing(missing)}")
        self._facts(doc)
        doc.finish()
        return tuple(factors), tuple(materials), variables, supplement

    def _read_risk(self, doc: TableReader) -> tuple[tuple[GradeInfo, ...], BannedPurposes, Figure]:
        r = doc.table("banned_purposes")
        entry = self._entry(r)
        purposes: set[Purpose] = set()
        for index, value in enumerate(r.strings("purposes")):
            try:
                purposes.add(Purpose(value))
            except ValueError:
                raise r.error(
                    f"purposes[{index}]", f"expected one of {_listing(Purpose)}, got {value!r}"
                ) from None
        banned = BannedPurposes(entry.id, frozenset(purposes))
        r.finish()
        inactivity = self._figure(doc, "inactivity", "days", 1, 3650)
        grades: list[GradeInfo] = []
        for r in doc.tables("grades"):
            entry = self._entry(r)
            grade = _enum(r, "grade", RiskGrade)
            if any(g.grade is grade for g in grades):
                raise r.error("grade", f"duplicate grade {grade.value!r}")
            effect = r.string("effect")
            change = r.optional_integer("limit_change_pct")
            grades.append(GradeInfo(entry.id, grade, effect, change))
            r.finish()
        missing = set(RiskGrade) - {g.grade for g in grades}
        if missing:
            raise doc.error("grades", f"missing grade(s) {_listing(missing)}")
        self._facts(doc)
        doc.finish()
        return tuple(sorted(grades, key=lambda g: g.grade.value)), banned, inactivity

    def _read_pricing(self, doc: TableReader) -> tuple[tuple[PriceTier, ...], Figure]:
        discount = self._figure(doc, "first_loan_discount", "discount_pct", 0, 100)
        tiers: list[PriceTier] = []
        for r in doc.tables("tiers"):
            entry = self._entry(r)
            key = _unique_key(r, [t.key for t in tiers])
            label = r.string("label")
            lo = _int_in(r, "min_pay_score", _PAY_SCORE_MIN, _PAY_SCORE_MAX)
            hi = r.optional_integer("max_pay_score")
            if hi is not None and not lo <= hi <= _PAY_SCORE_MAX:
                raise r.error("max_pay_score", f"must be in {lo}..{_PAY_SCORE_MAX}, got {hi}")
            if tiers:
                above = tiers[-1].min_pay_score - 1
                if hi != above:
                    raise r.error(
                        "max_pay_score",
                        f"tiers must be contiguous, highest first: expected {above}, got {hi}",
                    )
            elif hi is not None:
                raise r.error("max_pay_score", "the first (highest) tier must be open-ended")
            apr_min, apr_max = _apr_pair(r)
            tiers.append(PriceTier(entry.id, key, label, lo, hi, apr_min, apr_max))
            r.finish()
        self._facts(doc)
        doc.finish()
        return tuple(tiers), discount

    def _read_groups(self, doc: TableReader) -> tuple[SpecialGroup, ...]:
        groups: list[SpecialGroup] = []
        for r in doc.tables("groups"):
            entry = self._entry(r)
            identity = _enum(r, "identity", Identity)
            if any(g.identity is identity for g in groups):
                raise r.error("identity", f"duplicate identity {identity.value!r}")
            cap = r.optional_integer("limit_cap")
            if cap is not None and cap <= 0:
                raise r.error("limit_cap", f"must be positive, got {cap}")
            groups.append(SpecialGroup(entry.id, identity, cap))
            r.finish()
        self._facts(doc)
        doc.finish()
        return tuple(groups)

    def _read_policy(self, doc: TableReader) -> Figure:
        r = doc.table("max_inquiries_3m")
        basis = r.string("basis")
        if basis not in self._entries:
            raise r.error("basis", f"unknown entry {basis!r}")
        value = _int_in(r, "value", 0, 1000)
        r.string("note")
        r.finish()
        doc.finish()
        return Figure(basis, value)

    # -- anti-fraud numbers (policy.toml [anti_fraud]) -------------------------------

    def _read_anti_fraud(self, doc: TableReader) -> AntiFraud:
        """Public phone numbers, not article figures: digits only, and a note saying so."""
        r = doc.table("anti_fraud")
        numbers = {key: r.string(key) for key in ("police", "hotline")}
        for key, number in numbers.items():
            if not (number.isascii() and number.isdigit() and 3 <= len(number) <= 8):
                raise r.error(key, f"expected a phone number of 3 to 8 digits, got {number!r}")
        r.string("note")
        r.finish()
        return AntiFraud(police=numbers["police"], hotline=numbers["hotline"])


def _int_in(r: TableReader, key: str, lo: int, hi: int) -> int:
    value = r.integer(key)
    if not lo <= value <= hi:
        raise r.error(key, f"must be in {lo}..{hi}, got {value}")
    return value


def _apr_pair(r: TableReader) -> tuple[Decimal, Decimal]:
    lo = r.number("apr_min")
    if not 0 <= lo <= _APR_MAX:
        raise r.error("apr_min", f"must be in 0..{_APR_MAX}, got {lo}")
    hi = r.number("apr_max")
    if not lo <= hi <= _APR_MAX:
        raise r.error("apr_max", f"must be in {lo}..{_APR_MAX}, got {hi}")
    return lo, hi


def _unique_key(r: TableReader, seen: list[str]) -> str:
    key = r.string("key")
    if key in seen:
        raise r.error("key", f"duplicate key {key!r}")
    return key


def _enum(r: TableReader, key: str, enum: type[_E]) -> _E:
    value = r.string(key)
    try:
        return enum(value)
    except ValueError:
        raise r.error(key, f"expected one of {_listing(enum)}, got {value!r}") from None


def _listing(values: Iterable[object]) -> str:
    return ", ".join(sorted(str(v) for v in values))
