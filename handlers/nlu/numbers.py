"""Find the quantities in a message: numbers with their unit, range and hedges.

Chinese numerals are converted by ``cn2an`` (normal mode reads the
colloquial 六百八 = 680, 一万五 = 15000, 两千 = 2000 correctly), but it
cannot read ranges or hedges, so those are pre-normalised here first:
六七百 -> (600, 700), 两三次 -> (2, 3), 十几 -> (12, 19), 六百多 -> (600, 700),
俩 -> 两.  cn2an costs ~10 µs per call, so each distinct numeral string is
converted once and cached.  Arabic numbers (650, 1.5万, 2w, 3k, 1万5) and
percentages (18%, 百分之十八, 万分之五, 日息万五) are parsed with Decimal.
The numeral characters themselves come from the lexicon's ``[numbers]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final, NamedTuple

import cn2an

from .lexicon import Lexicon

__all__ = ["Quantity", "QuantityScanner", "numeral_chars"]

_MAX_RUN: Final = 12
_MISSING: Final = object()
_ASCII_MAG: Final = {"w": 10000, "k": 1000}

# value, low, high (a range, or None), and the magnitude written last (万 -> 10000)
_Parsed = tuple[Decimal, Decimal | None, Decimal | None, int]


def numeral_chars(lex: Lexicon) -> frozenset[str]:
    """Every character that can be part of a Chinese number."""
    return frozenset([*lex.digits, *lex.magnitudes, *lex.numeral_aliases, lex.some, lex.half])


class Quantity(NamedTuple):
    """A number in the text and what surrounds it (a tuple: cheap to build, immutable).

    ``unit`` is one of ``money``, ``count``, ``score``, ``period`` (期),
    ``duration`` (with ``time_unit`` day/week/month/year), ``percent``
    (``value`` is then already a fraction), ``per10k`` (likewise),
    ``year_date`` (2024年), ``ignored`` (10号, 22岁, 3点: not a slot), ``points``
    (年化6个点: percentage points) or None.
    """

    start: int
    end: int  # end of the digits, before any unit
    unit_end: int  # end of the unit and suffixes
    value: Decimal
    low: Decimal | None = None
    high: Decimal | None = None
    approx: bool = False
    unit: str | None = None
    time_unit: str | None = None
    scale: int = 1  # multiplier written in the number (万 -> 10000)
    ago: bool = False  # 三天前
    window: bool = False  # 最近三个月 / 三个月内: a time window, not a fact


def _cls(chars: Iterable[str]) -> str:
    """A regex character-class body for ``chars``."""
    return "".join(re.escape(c) for c in sorted(set(chars)))


class QuantityScanner:
    """Scan a normalised, masked string for :class:`Quantity` objects."""

    def __init__(self, lex: Lexicon) -> None:
        self._aliases = str.maketrans(dict(lex.numeral_aliases))
        self._digits = dict(lex.digits)
        self._digit_for = {v: k for k, v in reversed(list(lex.digits.items()))}
        self._magnitudes = dict(lex.magnitudes)
        self._some = lex.some
        self._some_after = tuple(lex.some_after)
        self._a_bit_more = tuple(lex.a_bit_more)
        self._point = lex.point
        self._ji = lex.ji_range
        self._bare_ji = lex.bare_ji_range
        self._fractions = dict(lex.fractions)
        self._numeral = numeral_chars(lex)
        self._digit_chars = frozenset(
            [*lex.digits, *(k for k, v in lex.numeral_aliases.items() if v in lex.digits)]
        )
        self._big = "".join(k for k, v in lex.magnitudes.items() if v >= 1000)

        cn = _cls(self._numeral - {lex.half})
        digits = _cls(
            set(lex.digits) | {k for k, v in lex.numeral_aliases.items() if v in lex.digits}
        )
        nonzero = _cls(k for k, v in lex.digits.items() if v > 0)
        mags = _cls(k for k, v in lex.magnitudes.items() if 100 <= v <= 10000)
        fractions = "|".join(re.escape(f) for f in sorted(lex.fractions, key=len, reverse=True))
        time_words = [*lex.time_units.get("month", ()), *lex.time_units.get("year", ())]
        half_next = "|".join(re.escape(w) for w in sorted(time_words, key=len, reverse=True))
        w = re.escape(lex.per_ten_thousand)
        p = re.escape(lex.point)
        self._token = re.compile(
            rf"(?P<pct>\d{{1,6}}(?:\.\d{{1,6}})?)%"
            rf"|(?P<frac>{fractions or '(?!)'})(?P<fracnum>\d{{1,6}}(?:\.\d{{1,6}})?|[{cn}{p}]{{1,8}})"
            rf"|(?<![\d{cn}]){w}(?P<w>[{nonzero}]|\d(?:\.\d)?)(?![\d{cn}])"
            rf"|(?P<an>\d{{1,12}}(?:\.\d{{1,6}})?)"
            rf"(?:(?P<mag>[{mags}]|[wk](?![a-z]))(?P<tail>\d(?!\d))?)?"
            rf"|(?P<cn>[{cn}]+(?:{p}[{digits}]+[{_cls(self._big)}]?)?)"
            rf"|(?P<half>{re.escape(lex.half)})(?={half_next or '(?!)'})"
        )
        # A character every token starts with: no such character, no quantity
        starts = set(self._numeral) | {f[0] for f in lex.fractions if f}
        if lex.per_ten_thousand:
            starts.add(lex.per_ten_thousand[0])
        self._start = re.compile(rf"[\d{_cls(starts)}]")
        self._range = re.compile(
            rf"^([{nonzero}])([{nonzero}])([{_cls(k for k, v in lex.magnitudes.items() if v <= 10000)}]*)$"
        )
        self._tail_range = re.compile(rf"^(.*[{mags}])([{nonzero}])([{nonzero}])$")

        units: list[tuple[str, str, str | None]] = []
        units += [(u, "money", None) for u in lex.money_units]
        units += [(u, "count", None) for u in lex.count_units]
        units += [(u, "score", None) for u in lex.score_units]
        units += [(u, "period", None) for u in lex.period_units]
        units += [(u, "ignored", None) for u in lex.ignored_units]
        units += [(u, "points", None) for u in lex.point_units]
        for time_unit, words in lex.time_units.items():
            units += [(u, "duration", time_unit) for u in words]
        self._units: dict[str, list[tuple[str, str, str | None]]] = {}
        for unit in sorted(units, key=lambda u: len(u[0]), reverse=True):
            self._units.setdefault(unit[0][0], []).append(unit)
        self._single_month = frozenset(u for u in lex.time_units.get("month", ()) if len(u) == 1)
        self._years = frozenset(lex.time_units.get("year", ()))
        self._month_not_before = tuple(lex.month_not_before)
        self._score_not_before = tuple(lex.score_not_before)
        self._range_suffix = tuple(lex.range_suffix)
        self._not_more = tuple(lex.not_more)
        self._approx_suffix = tuple(lex.approx_suffix)
        self._approx_before = tuple(lex.approx_before)
        self._approx_after = tuple(lex.approx_after)
        self._joiners = frozenset(lex.range_joiners)
        self._window_before = tuple(lex.window_before)
        self._window_after = tuple(lex.window_after)
        self._ago = tuple(lex.ago)
        self._half = lex.half
        self._cache: dict[str, _Parsed | None] = {}

    # --- public ---------------------------------------------------------

    def possible(self, text: str) -> bool:
        """Whether ``text`` has a character a number can start with (else :meth:`scan` finds
        nothing, masked or not: the caller may skip masking too)."""
        return self._start.search(text) is not None

    def scan(self, text: str, masked: str) -> list[Quantity]:
        """Quantities in ``text``; ``masked`` is ``text`` with non-numbers blanked."""
        if self._start.search(masked) is None:
            return []  # most messages: not one numeral
        found: list[Quantity] = []
        for m in self._token.finditer(masked):
            if found and m.start() < found[-1].unit_end:
                continue  # inside the last one's unit (一个半月: 半 is no number of its own)
            q = self._token_value(m, text)
            if q is None:
                continue
            head = self._split_term(m, q, text)
            if head is not None:
                # 借两万六个月 / 借5千3期: the amount, then the term's own number
                found.append(head)
                tail = m.end() - 1
                q = Quantity(tail, m.end(), m.end(), Decimal(self._digit_value(text[tail])))
            found.append(self._surroundings(q, text))
        return self._join_ranges(found, text)

    def _split_term(self, m: re.Match[str], q: Quantity, text: str) -> Quantity | None:
        """两万六 before 个月 / 期 is 两万 and 六: the amount without its last digit, or None."""
        if q.low is not None or q.value < 1000 or not self._term_follows(text, m.end()):
            return None
        last = text[m.end() - 1]
        if m.group("an") is not None:
            if m.group("tail") is None:
                return None
        elif not (
            m.group("cn") is not None
            and len(m.group("cn")) >= 3
            and last in self._digit_chars
            and text[m.end() - 2] in self._big
        ):
            return None
        head = self._number(text[m.start() : m.end() - 1]) if m.group("cn") else None
        if m.group("an") is not None:
            value = Decimal(m.group("an")) * q.scale
        elif head is not None:
            value = head[0]
        else:
            return None
        return Quantity(m.start(), m.end() - 1, m.end() - 1, value, scale=q.scale)

    def _term_follows(self, text: str, pos: int) -> bool:
        return any(
            text.startswith(word, pos) and kind in ("period", "duration") and tu != "day"
            for word, kind, tu in self._units.get(text[pos : pos + 1], ())
        )

    def _digit_value(self, ch: str) -> int:
        return int(ch) if ch.isdigit() else self._digits[ch.translate(self._aliases)]

    # --- tokens ---------------------------------------------------------

    def _token_value(self, m: re.Match[str], text: str) -> Quantity | None:
        start, end = m.start(), m.end()
        if m.group("pct") is not None:
            return Quantity(start, end, end, Decimal(m.group("pct")).scaleb(-2), unit="percent")
        if m.group("frac") is not None:
            if m.group("fracnum") == self._some:
                return None  # 万分之几 asks
            parsed = self._number(m.group("fracnum"))
            if parsed is None:
                return None
            exponent = -self._fractions[m.group("frac")]
            return Quantity(start, end, end, parsed[0].scaleb(exponent), unit="percent")
        if m.group("w") is not None:
            parsed = self._number(m.group("w"))
            return (
                None
                if parsed is None
                else Quantity(start, end, end, parsed[0].scaleb(-4), unit="per10k")
            )
        if m.group("an") is not None:
            value = Decimal(m.group("an"))
            scale = 1
            mag = m.group("mag")
            if mag is not None:
                scale = _ASCII_MAG.get(mag) or self._magnitudes[mag]
                value *= scale
                if m.group("tail") is not None:
                    value += Decimal(m.group("tail")) * scale / 10
            return Quantity(start, end, end, value, scale=scale)
        if m.group("half") is not None:
            return Quantity(start, end, end, Decimal("0.5"))
        run = m.group("cn")
        if text.startswith(self._point, end):
            return None  # 低一点 / 三点: a bit, or a time of day
        if run == self._some and start > 0 and not text.startswith(self._some_after, start - 1):
            return None  # 分几期 / 几个点 / 能借几年: a question, not a quantity
        parsed = self._number(run)
        if parsed is None:
            return None
        value, low, high, scale = parsed
        return Quantity(start, end, end, value, low, high, approx=low is not None, scale=scale)

    def _number(self, raw: str) -> _Parsed | None:
        """Value, optional (low, high) and written scale of a numeral string; cached."""
        hit = self._cache.get(raw, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        if len(self._cache) > 4096:
            self._cache.clear()  # bounded; a rare re-parse is cheaper than an LRU
        result = self._parse(raw)
        self._cache[raw] = result
        return result

    def _parse(self, raw: str) -> _Parsed | None:
        run = raw.translate(self._aliases)
        if not run or len(run) > _MAX_RUN:
            return None
        if run[0].isdigit():
            try:
                return Decimal(run), None, None, 1
            except InvalidOperation:
                return None
        # the unit of the last digit: 六百四十 -> 10, and 一万五 -> 1000 (1.5万), 六百八 -> 10
        scale = self._magnitudes.get(run[-1], 1)
        if scale == 1 and len(run) > 1 and self._magnitudes.get(run[-2], 1) >= 10:
            scale = self._magnitudes[run[-2]] // 10
        if self._some in run:
            if run == self._some:
                lo, hi = Decimal(self._bare_ji[0]), Decimal(self._bare_ji[1])
            else:
                lo_v = _cn2an(run.replace(self._some, self._digit_for[self._ji[0]]))
                hi_v = _cn2an(run.replace(self._some, self._digit_for[self._ji[1]]))
                if lo_v is None or hi_v is None:
                    return None
                lo, hi = lo_v, hi_v
            return (lo + hi) / 2, lo, hi, scale
        rm = self._range.match(run)
        if rm and self._digits[rm.group(2)] == self._digits[rm.group(1)] + 1:
            lo_v = _cn2an(rm.group(1) + rm.group(3))
            hi_v = _cn2an(rm.group(2) + rm.group(3))
            if lo_v is None or hi_v is None:
                return None
            return (lo_v + hi_v) / 2, lo_v, hi_v, scale
        tm = self._tail_range.match(run)
        if tm and self._digits[tm.group(3)] == self._digits[tm.group(2)] + 1:
            # 六百一二 -> 610..620, 一万二三 -> 12000..13000
            lo_v = _cn2an(tm.group(1) + tm.group(2))
            hi_v = _cn2an(tm.group(1) + tm.group(3))
            if lo_v is None or hi_v is None:
                return None
            return (lo_v + hi_v) / 2, lo_v, hi_v, scale
        if self._point in run and run[-1] in self._big:
            base = _cn2an(run[:-1])
            return None if base is None else (base * self._magnitudes[run[-1]], None, None, scale)
        value = _cn2an(run)
        return None if value is None else (value, None, None, scale)

    # --- context --------------------------------------------------------

    def _surroundings(self, q: Quantity, text: str) -> Quantity:
        """Attach unit, 多/来 hedges, 前 (ago) and time-window markers."""
        if q.unit in ("percent", "per10k"):
            return q
        p = q.end
        low, high, approx = q.low, q.high, q.approx
        value = q.value
        suffix = next((s for s in self._range_suffix if text.startswith(s, p)), None)
        if suffix is not None and not text.startswith(self._not_more, p):
            p += len(suffix)
            approx = True
            bit = next((b for b in self._a_bit_more if text.startswith(b, p)), None)
            if bit is not None:
                p += len(bit)  # 六百多一点: just over 600
            else:
                low, high = value, value + _step(q.value, q.scale)
                value = (low + high) / 2
        else:
            suffix = next((s for s in self._approx_suffix if text.startswith(s, p)), None)
            if suffix is not None:
                approx = True
                p += len(suffix)
        unit = time_unit = None
        for word, kind, tu in self._units.get(text[p : p + 1], ()):
            if text.startswith(word, p) and self._unit_ok(word, kind, value, text, p + len(word)):
                unit, time_unit = kind, tu
                p += len(word)
                break
        if unit is None and q.value >= 1000 and any(text.startswith(y, p) for y in self._years):
            unit = "year_date"  # 2024年 is a date, not a duration
        if unit == "duration" and time_unit in ("year", "month") and text.startswith(self._half, p):
            value += Decimal("0.5")
            p += 1
        elif unit == "duration" and self._half in text[q.end : p]:
            value += Decimal("0.5")  # 一个半月
        ago = window = False
        if unit == "duration":
            ago = text.startswith(self._ago, p)
            window = text.startswith(self._window_after, p) or any(
                text.endswith(w, 0, q.start) for w in self._window_before
            )
        before = text[max(0, q.start - 5) : q.start]
        if any(w in before for w in self._approx_before) or text.startswith(self._approx_after, p):
            approx = True
        return Quantity(
            q.start, q.end, p, value, low, high, approx, unit, time_unit, q.scale, ago, window
        )

    def _unit_ok(self, word: str, kind: str, value: Decimal, text: str, after: int) -> bool:
        nxt = text[after : after + 1]
        if kind == "score":
            # 650分 is a score; 1万分12期 and 百分之 are not.
            return not (nxt.isdigit() or nxt in self._numeral) and not text.startswith(
                self._score_not_before, after
            )
        if word in self._single_month:
            return not text.startswith(self._month_not_before, after)
        if word in self._years:
            return value < 1000
        return True

    def _join_ranges(self, found: list[Quantity], text: str) -> list[Quantity]:
        """Merge "4-5次", "两到三次", "1-2万" into one ranged quantity."""
        if len(found) < 2 or not self._joiners:
            return found
        out: list[Quantity] = []
        for q in found:
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.unit in (None, q.unit)
                and q.unit not in ("percent", "per10k")
                and text[prev.unit_end : q.start] in self._joiners
            ):
                low = prev.value
                if q.scale > 1 and prev.scale == 1 and low * q.scale <= q.value:
                    low *= q.scale
                if low < q.value:
                    out[-1] = q._replace(
                        start=prev.start,
                        low=low,
                        high=q.value,
                        value=(low + q.value) / 2,
                        approx=True,
                    )
                    continue
            out.append(q)
        return out


def _step(value: Decimal, scale: int) -> Decimal:
    """The size of "多" after a number: 六百多 -> 100, 二十多 -> 10, 两万多 -> 10000."""
    if scale > 1:
        return Decimal(scale)
    step = Decimal(1)
    v = int(value)
    while v and v % 10 == 0:
        v //= 10
        step *= 10
    return step


def _cn2an(run: str) -> Decimal | None:
    """Convert with cn2an's normal mode; None when it cannot read the string."""
    # Runs are at most 12 characters, so cn2an's only warning (decimals longer
    # than 16 digits) cannot fire.
    try:
        out = cn2an.cn2an(run, "normal")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    try:
        return Decimal(str(out))
    except InvalidOperation:
        return None
