"""Bind each quantity to the slot it measures, convert units and check limits.

A number alone means nothing; its unit and the nearest anchor word in the
same clause decide: 两次 + 查 -> inquiries, 四五次 + 每周支付 -> payments,
两万 + 零钱通 -> balance, 12期 -> loan term, 两年 + 用了 -> payment history,
三天前 + 被拒 -> days since rejection, 18% + 年化 -> APR.  Time windows
(最近三个月) qualify a fact and are consumed without becoming one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from .lexicon import Lexicon, SlotSpec
from .mentions import Mention
from .model import SLOT_KINDS
from .normalize import Clauses
from .numbers import Quantity

__all__ = ["MeasureReader", "MeasureResult", "to_slot_value"]

_DAYS: Final = {"day": Decimal(1), "week": Decimal(7), "month": Decimal(30), "year": Decimal(365)}
_MONTHS: Final = {
    "day": Decimal(1) / 30,
    "week": Decimal(7) / 30,
    "month": Decimal(1),
    "year": Decimal(12),
}
_PER_WEEK: Final = {"day": Decimal(7), "week": Decimal(1), "month": Decimal(7) / 30}
_AFTER_PENALTY: Final = 3  # an anchor after the number is a weaker cue than one before
_DATE_LEFTOVER: Final = 3  # 半个月前申请的: a date may come with this much else to be an answer
_UNITLESS_GAP: Final = 4  # 支付分是700 / 零钱通里存了5000: a bare number must follow its anchor
_NUMERIC_SLOTS: Final = tuple(
    s for s, k in SLOT_KINDS.items() if k not in ("category", "set", "bool", "rate")
)

_Anchor = tuple[int, int, str]
_MONEY_SLOTS: Final = ("lingqiantong_balance", "amount")
_RATE_SLOTS: Final = ("apr", "daily_rate")


@dataclass
class MeasureResult:
    """Numeric slots plus the numbers left over for a bare answer."""

    slots: dict[str, object] = field(default_factory=dict)
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    approximate: set[str] = field(default_factory=set)
    out_of_range: dict[str, int] = field(default_factory=dict)
    free: list[Quantity] = field(default_factory=list)


@dataclass
class _Clues:
    """The anchor words of one message, grouped by clause."""

    wants_days: bool
    calc_context: bool
    expecting: str | None
    anchors: dict[int, list[_Anchor]] = field(default_factory=dict)
    periods: dict[int, list[_Anchor]] = field(default_factory=dict)
    rates: dict[int, list[_Anchor]] = field(default_factory=dict)
    blockers: dict[int, list[_Anchor]] = field(default_factory=dict)
    days_words: list[tuple[int, bool]] = field(default_factory=list)  # (days, only "just")
    mentions: Sequence[Mention] = ()
    _busy: set[int] | None = None
    counted: int = 0  # quantities in the message
    bare_date: bool = False  # the message is one date and nothing else

    def busy(self, ci: int) -> bool:
        """Whether clause ``ci`` has a word that means something (两年吧 has none)."""
        if self._busy is None:
            self._busy = {m.clause for m in self.mentions if m.negated or m.term.weighty}
        return ci in self._busy

    def add(self, m: Mention) -> None:
        t = m.term
        where = (m.start, m.end)
        for slot in t.anchors:
            self.anchors.setdefault(m.clause, []).append((*where, slot))
        if t.period is not None:
            self.periods.setdefault(m.clause, []).append((*where, t.period))
            self.anchors.setdefault(m.clause, []).append((*where, "payments_per_week"))
        if t.rate is not None:
            self.rates.setdefault(m.clause, []).append((*where, t.rate))
        for slot in t.blocks:
            self.blockers.setdefault(m.clause, []).append((*where, slot))
        if t.days_ago is not None and not m.hypothetical:
            self.days_words.append((t.days_ago, t.just))

    def blocking(self, ci: int, slots: tuple[str, ...]) -> list[_Anchor]:
        """The blockers of clause ``ci`` that block one of ``slots``."""
        return [b for b in self.blockers.get(ci, ()) if b[2] in slots]

    def factor(self, slot: str, q: Quantity, ci: int) -> Decimal:
        """Payments are per week: three a day -> 21, twenty a month -> 5."""
        if slot != "payments_per_week":
            return Decimal(1)
        period = _nearest(q, self.periods.get(ci, []), None)
        return _PER_WEEK[period or "week"]


class MeasureReader:
    """Assign quantities to numeric slots using the lexicon's anchors and limits."""

    def __init__(self, lex: Lexicon) -> None:
        self._specs = lex.slots
        lone = {SLOT_KINDS[s]: s for s, spec in lex.slots.items() if spec.unanchored}
        self._lone_score = lone.get("score")
        self._lone_term = lone.get("term")
        self._habit = {s: frozenset(spec.habit) for s, spec in lex.slots.items() if spec.habit}
        self._habit_words = frozenset(w for words in self._habit.values() for w in words)
        #: the words that give a message without numbers something to read (days ago, habits)
        self._dated = frozenset(lex.days_ago_words) | self._habit_words
        self._apr_max = lex.apr_max
        self._daily_max = lex.daily_max
        self._daily_below = lex.daily_below

    def read(
        self,
        clauses: Clauses,
        mentions: Sequence[Mention],
        quantities: Iterable[Quantity],
        *,
        rejection_context: bool,
        calc_context: bool,
        expecting: str | None,
    ) -> MeasureResult:
        """Fill numeric slots; see the module docstring for the rules."""
        quantities = list(quantities)
        if not quantities and self._dated.isdisjoint([m.term.text for m in mentions]):
            return MeasureResult()  # most messages: no number, no date word, no habit word
        out = MeasureResult()
        clues = _Clues(
            rejection_context or expecting == "rejected_days_ago", calc_context, expecting
        )
        clues.mentions = mentions
        denied: set[int] = set()
        periods: set[tuple[int, int]] = set()
        habits: list[Mention] = []
        for m in mentions:
            t = m.term
            if m.negated or not t.measured:
                continue
            clues.add(m)
            if t.denies_number:
                denied.add(m.end)
            if t.period is not None:
                periods.add((m.start, m.end))
                if t.text in self._habit_words and not m.hypothetical:
                    habits.append(m)
        if not quantities and not clues.days_words and not habits:
            return out
        if denied:
            quantities = [q for q in quantities if q.start not in denied]  # 不是两次
        if periods and len(quantities) > 1:
            quantities = _without_frequencies(quantities, periods, clauses)
        clues.counted = len(quantities)
        dated = bool(clues.days_words) or any(q.ago for q in quantities)
        clues.bare_date = expecting is None and dated and _bare_date(clauses, mentions, quantities)
        if (clues.wants_days or clues.bare_date) and clues.days_words:
            named = [days for days, just in clues.days_words if not just]
            days = named[-1] if named else clues.days_words[-1][0]  # 昨天刚被拒: yesterday
            self._put(out, "rejected_days_ago", Decimal(days))
        for q in quantities:
            if q.unit in ("year_date", "ignored") or q.window:
                continue
            if not self._bind(out, q, clauses.index(q.start), clues):
                out.free.append(q)
        if habits:
            self._habits(out, habits, clues)
        return out

    def _habits(self, out: MeasureResult, habits: Sequence[Mention], clues: _Clues) -> None:
        """A habit word ("every day") beside the slot's anchor, and no number, is once a period."""
        for slot, words in self._habit.items():
            if slot in out.slots or slot in out.out_of_range:
                continue
            for m in habits:
                t = m.term
                if t.period is None or t.text not in words:
                    continue
                anchored = any(
                    label == slot and (start, end) != (m.start, m.end)
                    for start, end, label in clues.anchors.get(m.clause, [])
                )
                if anchored:
                    self._put(out, slot, _PER_WEEK[t.period])
                    break

    # --- binding rules --------------------------------------------------

    def _bind(self, out: MeasureResult, q: Quantity, ci: int, clues: _Clues) -> bool:
        """Store ``q`` in the slot its unit and anchors point to; False if none."""
        here = clues.anchors.get(ci, [])
        if q.unit in ("percent", "per10k"):
            kind = _nearest(q, clues.rates.get(ci, []), None)
            if kind is not None and self._rate_blocked(q, ci, clues):
                return True  # 利率下调20%: a change, not a rate
            return kind is not None and self._rate(out, kind, q.value, already_fraction=True)
        if q.unit == "points":
            kind = _nearest(q, clues.rates.get(ci, []), None)
            if kind is None or self._rate_blocked(q, ci, clues):
                return kind is not None
            return self._rate(out, kind, q.value, already_fraction=False)
        if q.unit == "duration" and (
            q.ago or (q.time_unit in ("day", "week") and clues.wants_days)
        ):
            if not (clues.wants_days or (q.ago and clues.bare_date)):
                return False
            assert q.time_unit is not None
            self._put_q(out, "rejected_days_ago", q, _DAYS[q.time_unit])
            return True
        if q.unit == "score" and q.scale < 1000:
            self._put_q(out, "pay_score", q)
            return True
        if q.unit == "count":
            slot = _nearest(  # 一个号码…征信: an anchor far after a count is not its own
                q,
                here,
                ("inquiries_3m", "payments_per_week", "ontime_periods"),
                after_gap=_UNITLESS_GAP,
            )
            if slot is None:
                return False
            self._put_q(out, slot, q, clues.factor(slot, q, ci))
            return True
        if q.unit == "money" or q.scale >= 1000:
            return self._money(out, q, ci, clues)
        if q.unit == "period":
            slot = _nearest(q, here, ("ontime_periods", "months"))
            self._put_q(out, slot or _default(clues.expecting, ("ontime_periods",), "months"), q)
            return True
        if q.unit == "duration":
            assert q.time_unit is not None
            slot = _nearest(q, here, ("ontime_periods", "pay_history_months", "months"))
            if slot is None and q.time_unit in ("month", "year"):
                if clues.calc_context:
                    slot = "months"
                elif clues.expecting is None and clues.counted == 1 and not clues.busy(ci):
                    slot = self._lone_term  # 两年吧: the loan term, said alone
            if slot is None:
                return False
            self._put_q(out, slot, q, _MONTHS[q.time_unit])
            return True
        if q.unit is None:
            kind = _nearest(q, clues.rates.get(ci, []), None, before_gap=_UNITLESS_GAP)
            if kind is not None:
                if self._rate_blocked(q, ci, clues):
                    return True
                return self._rate(out, kind, q.value, already_fraction=False)
            slot = _nearest(q, here, _NUMERIC_SLOTS, before_gap=_UNITLESS_GAP)
            if slot is None or self._beyond(slot, q):
                lone = self._lone_number(q, ci, clues)  # 680 / 分650: a pay score
                slot = lone or slot
            if slot is None and q.value >= 1000 and q.value == q.value.to_integral_value():
                return self._money(out, q, ci, clues)  # a bare 8000 is money too
            if slot is None:
                return False
            self._put_q(out, slot, q, clues.factor(slot, q, ci))
            return True
        return False

    def _rate_blocked(self, q: Quantity, ci: int, clues: _Clues) -> bool:
        """Whether a change word (下调, 优惠) is nearer to ``q`` than any rate word."""
        block = _distance_to(q, clues.blocking(ci, _RATE_SLOTS))
        own = _distance_to(q, clues.rates.get(ci, []))
        return block is not None and own is not None and block < own

    def _money(self, out: MeasureResult, q: Quantity, ci: int, clues: _Clues) -> bool:
        """An amount, a balance, or money that is neither (income, a fee, a limit)."""
        here = clues.anchors.get(ci, [])
        slot = _nearest(q, here, _MONEY_SLOTS)
        # each slot's own blockers: 零钱通刚转进去一万 is a balance although 转 blocks a loan
        block = _distance_to(q, clues.blocking(ci, (slot or "amount",)))
        if block is not None:
            own = _distance_to(q, [a for a in here if a[2] == slot])
            if own is None or block < own:
                return True  # 月收入一万: a number, but not one we collect
        slot = slot or _default(clues.expecting, ("lingqiantong_balance",), "amount")
        self._put_q(out, slot, q)
        return True

    def _beyond(self, slot: str, q: Quantity) -> bool:
        """Whether ``q`` is too big for ``slot``, or a score-size term (分650, 分才580)."""
        spec = self._specs.get(slot)
        if spec is not None and spec.maximum is not None and q.value > spec.maximum:
            return True
        lone = self._specs.get(self._lone_score) if self._lone_score else None
        return (
            SLOT_KINDS.get(slot) == "term"
            and lone is not None
            and lone.minimum is not None
            and q.value >= lone.minimum
        )

    def _lone_number(self, q: Quantity, ci: int, clues: _Clues) -> str | None:
        """The unanchored slot a bare number fits, if nothing was asked and it fits."""
        slot = self._lone_score
        if slot is None or clues.expecting is not None or clues.calc_context or q.scale >= 1000:
            return None
        if clues.blocking(ci, _MONEY_SLOTS):
            return None  # 转800手续费 / 收八百: money, not a score
        spec = self._specs[slot]
        if q.low is None and q.value != q.value.to_integral_value():
            return None  # 6.5 is no score
        low = spec.minimum if spec.minimum is not None else q.value
        high = spec.maximum if spec.maximum is not None else q.value
        return slot if low <= q.value <= high else None

    def take_bare(self, out: MeasureResult, slot: str, kind: str, q: Quantity) -> bool:
        """Store a bare reply ``q`` as ``slot`` (the field the bot asked about)."""
        if kind == "rate":
            fraction = q.unit in ("percent", "per10k")
            return self._rate(
                out, "annual" if slot == "apr" else "daily", q.value, already_fraction=fraction
            )
        factor = Decimal(1)
        if q.time_unit is not None:
            factor = _DAYS[q.time_unit] if kind == "days_ago" else _MONTHS[q.time_unit]
        self._put_q(out, slot, q, factor)
        return True

    # --- writing --------------------------------------------------------

    def _rate(
        self, out: MeasureResult, kind: str, value: Decimal, *, already_fraction: bool
    ) -> bool:
        """Store a rate; bare numbers after 年化 / 日利率 are read as percentages."""
        if not already_fraction:
            value = value.scaleb(-2) if (kind != "annual" or value >= 1) else value
        if kind == "monthly":
            kind, value = "annual", value * 12
        if kind == "generic":
            kind = "daily" if value <= self._daily_below else "annual"
        slot, limit = (
            ("apr", self._apr_max) if kind == "annual" else ("daily_rate", self._daily_max)
        )
        if not (0 < value <= limit):
            return True  # recognised, implausible: drop (out_of_range holds ints only)
        out.slots[slot] = value.normalize()
        return True

    def _put_q(
        self, out: MeasureResult, slot: str, q: Quantity, factor: Decimal = Decimal(1)
    ) -> None:
        self._put(
            out,
            slot,
            q.value * factor,
            None if q.low is None else q.low * factor,
            None if q.high is None else q.high * factor,
            q.approx,
        )

    def _put(
        self,
        out: MeasureResult,
        slot: str,
        value: Decimal,
        low: Decimal | None = None,
        high: Decimal | None = None,
        approx: bool = False,
    ) -> None:
        put_number(out, self._specs.get(slot), slot, value, low, high, approx)


def put_number(
    out: MeasureResult,
    spec: SlotSpec | None,
    slot: str,
    value: Decimal,
    low: Decimal | None,
    high: Decimal | None,
    approx: bool,
) -> None:
    """Pick from a range, round, check limits, and record the slot or its rejection."""
    rng: tuple[int, int] | None = None
    if low is not None and high is not None:
        pick = spec.pick if spec is not None else "mid"
        value = low if pick == "lower" else high if pick == "upper" else (low + high) / 2
        rng = (to_slot_value(low), to_slot_value(high))
    number = to_slot_value(value)
    if spec is not None and (
        (spec.minimum is not None and number < spec.minimum)
        or (spec.maximum is not None and number > spec.maximum)
    ):
        out.out_of_range[slot] = number
        return
    out.slots[slot] = number
    out.out_of_range.pop(slot, None)
    if rng is not None:
        out.ranges[slot] = rng
    else:
        out.ranges.pop(slot, None)
    if approx or rng is not None:
        out.approximate.add(slot)
    else:
        out.approximate.discard(slot)


def to_slot_value(value: Decimal) -> int:
    """Integer slots round half up: 6.5 periods -> 7, 1.5 weeks of days -> 11."""
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _bare_date(
    clauses: Clauses, mentions: Sequence[Mention], quantities: Sequence[Quantity]
) -> bool:
    """One date said almost alone ("two weeks ago"): the date the bot asks for."""
    dates = [
        (m.start, m.end)
        for m in mentions
        if m.term.days_ago is not None and not m.term.just and not m.negated and not m.hypothetical
    ]
    agos = [(q.start, q.unit_end + 1) for q in quantities if q.unit == "duration" and q.ago]
    if len(dates) + len(agos) != 1 or len(quantities) != len(agos):
        return False
    start, end = (dates or agos)[0]
    for m in mentions:  # 三年前逾期过 dates a fact, it answers nothing
        t = m.term
        if (m.end <= start or m.start >= end) and (t.values or t.negatable or t.phrases):
            return False
    return clauses.spans[-1][1] - clauses.spans[0][0] - (end - start) <= _DATE_LEFTOVER


def _without_frequencies(
    quantities: list[Quantity], periods: set[tuple[int, int]], clauses: Clauses
) -> list[Quantity]:
    """Drop the "a week" of "three times a week": a frequency word before a count is no duration."""
    out: list[Quantity] = []
    for i, q in enumerate(quantities):
        nxt = quantities[i + 1] if i + 1 < len(quantities) else None
        if (
            q.unit == "duration"
            and not q.ago
            and (q.start, q.unit_end) in periods
            and nxt is not None
            and nxt.unit == "count"
            and clauses.index(nxt.start) == clauses.index(q.start)
        ):
            continue
        out.append(q)
    return out


def _default(expecting: str | None, allowed: tuple[str, ...], fallback: str) -> str:
    """An unanchored 两万 / 6期 answers the question just asked, if it fits."""
    return expecting if expecting in allowed else fallback


def _gap(q: Quantity, start: int, end: int) -> int:
    if end <= q.start:
        return q.start - end
    if start >= q.unit_end:
        return start - q.unit_end + _AFTER_PENALTY
    return 0


def _nearest(
    q: Quantity,
    anchors: Sequence[_Anchor],
    wanted: Sequence[str] | None,
    before_gap: int | None = None,
    after_gap: int | None = None,
) -> str | None:
    """The label of the closest anchor (optionally only ones just before ``q``, or
    within ``after_gap`` characters after it)."""
    best: str | None = None
    best_d = 1 << 30
    for start, end, label in anchors:
        if wanted is not None and label not in wanted:
            continue
        if before_gap is not None and not (end <= q.start and q.start - end <= before_gap):
            continue
        if after_gap is not None and start >= q.unit_end and start - q.unit_end > after_gap:
            continue
        d = _gap(q, start, end)
        if d < best_d:
            best, best_d = label, d
    return best


def _distance_to(q: Quantity, anchors: Sequence[_Anchor]) -> int | None:
    return min((_gap(q, s, e) for s, e, _ in anchors), default=None)
