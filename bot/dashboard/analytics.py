"""The dashboard's numbers, kept in memory and brought up to date row by row.

Why in memory and incremental: the message log only grows (by id), so the dashboard reads
each row once (:meth:`Analytics.add`) and keeps per-day counters, per-day latency samples,
one funnel record per user and flow, and one summary per user. An answer then costs a
pass over days and users, never over messages, with a million stored messages as with a
hundred. A purge or ``forget`` removes rows; the dashboard notices (fewer rows than it
counted) and rebuilds (see :mod:`.source`).

Days are China Standard Time days, numbered since the epoch (``day_of``), as in
``wxloan stats``. Everything read from ``meta`` is what the pipeline recorded for the turn
(``flow``, ``step``, ``verdict``, ``scam``, ``handoff``, ``error``, ``ms``, ``late``,
``intent``, ``confidence``, ``fallback``, ``clarify``).
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from wxloan.storage import LoggedMessage
from wxloan.storage.feed import CST_OFFSET, FeedRow
from wxloan.storage.privacy import mask_personal_data
from wxloan.storage.reports import NO_VERDICT_FLOWS

from ..logs import user_ref

__all__ = ["Analytics", "day_name", "day_of"]

#: Unsure messages kept for the understanding page, newest last (older ones fall off).
UNSURE_KEPT = 20_000
#: Days kept: the longest period the API answers for, and a day's margin. Older days,
#: their funnel parts and users last active before them are dropped as new days arrive.
DAYS_KEPT = 367


def day_of(timestamp: float) -> int:
    """The CST day number of a Unix time."""
    return int((timestamp + CST_OFFSET) // 86400)


def day_name(day: int) -> str:
    """``YYYY-MM-DD`` of a CST day number."""
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()


@dataclass(slots=True)
class Day:
    """One CST day's counters."""

    messages_in: int = 0
    messages_out: int = 0
    users: int = 0  #: users with at least one message that day
    turns: int = 0  #: inbound messages with a turn record
    fallbacks: int = 0
    unsure: int = 0  #: fell to the fallback, got a clarifying question, or read unsure
    verdicts: int = 0
    handoffs: int = 0
    late: int = 0
    errors: int = 0
    scams: Counter[str] = field(default_factory=Counter)
    intents: Counter[str] = field(default_factory=Counter)
    latency: array[float] = field(default_factory=lambda: array("d"))


@dataclass(slots=True)
class Episode:
    """A user's first time in one flow: until its first verdict, or where they stopped."""

    day: int  #: the day of the first turn in the flow
    turns: int = 0  #: turns in the flow up to and including the first verdict
    verdict: bool = False
    step: str | None = None  #: the question the last turn left them at


@dataclass(slots=True)
class FlowDay:
    """The funnel of the episodes that started on one day in one flow (kept up to date as
    those episodes go on: an episode's contribution moves when it reaches its verdict)."""

    started: int = 0
    reached: int = 0
    turns: Counter[int] = field(default_factory=Counter)
    stopped_at: Counter[str] = field(default_factory=Counter)

    def count(self, episode: Episode, sign: int) -> None:
        """Add (``sign`` 1) or take back (-1) what ``episode`` contributes now."""
        if episode.verdict:
            self.reached += sign
            self.turns[episode.turns] += sign
        else:
            self.stopped_at[episode.step or "(no question)"] += sign


@dataclass(slots=True)
class User:
    """One user as the conversation list shows them."""

    openid: str
    ref: str
    first_seen: float
    last_seen: float
    last_day: int = -1
    messages: int = 0
    flow: str | None = None  #: the flow of the last turn that had one
    verdicts: int = 0
    episodes: dict[str, Episode] = field(default_factory=dict)


class Analytics:
    """Everything the dashboard shows, updated by :meth:`add` in id order."""

    def __init__(self, confidence: float) -> None:
        #: below this confidence a reading counts as unsure (the clarify threshold)
        self.confidence = confidence
        self.days: dict[int, Day] = {}
        #: every user, the one active last at the end (moved there on each message: a plain
        #: dict re-inserted, whose reverse walk is ~4x faster than an OrderedDict's)
        self.users: dict[str, User] = {}
        #: how many users were last active on each day (for "users in the period")
        self.last_active: Counter[int] = Counter()
        #: log reference -> openid
        self.refs: dict[str, str] = {}
        #: (start day, flow) -> the funnel of the episodes that started then
        self.funnels: dict[tuple[int, str], FlowDay] = {}
        self.unsure: list[LoggedMessage] = []
        #: the highest id counted, how many rows were counted, the newest time counted
        self.last_id = 0
        self.rows = 0
        self.newest = 0.0
        self.duplicates: dict[int, int] = {}
        #: ids a read passed over (maybe committed later), and when (see .source)
        self.gaps: dict[int, float] = {}

    def add(self, rows: list[FeedRow]) -> None:
        """Count ``rows``: new ids, in any order (each row once; see :class:`.source.Source`)."""
        for row in rows:
            self._add(row)
            self.rows += 1
            self.last_id = max(self.last_id, row.id)
            self.newest = max(self.newest, row.created_at)

    def _add(self, row: FeedRow) -> None:
        day_number = day_of(row.created_at)
        day = self.days.get(day_number)
        if day is None:
            day = self.days[day_number] = Day()
            self._forget_before(day_number - DAYS_KEPT)
        user = self.users.get(row.openid)
        if user is None:
            ref = user_ref(row.openid)
            user = self.users[row.openid] = User(row.openid, ref, row.created_at,
                                                 row.created_at)
            self.refs[ref] = row.openid
        elif next(reversed(self.users)) != row.openid:
            self.users[row.openid] = self.users.pop(row.openid)  # now the last active
        user.first_seen = min(user.first_seen, row.created_at)
        user.last_seen = max(user.last_seen, row.created_at)
        user.messages += 1
        if day_number > user.last_day:
            day.users += 1
            if user.last_day >= 0:
                self.last_active[user.last_day] -= 1
            self.last_active[day_number] += 1
            user.last_day = day_number
        if row.direction != "in":
            day.messages_out += 1
            return
        day.messages_in += 1
        if not row.meta:
            return
        try:
            meta = orjson.loads(row.meta)
        except orjson.JSONDecodeError:
            meta = None
        if not isinstance(meta, dict):  # not a turn record: counted as a message, no more
            return
        if "intent" in meta:
            day.intents[meta["intent"] or "none"] += 1
        unsure = bool(meta.get("fallback")) or bool(meta.get("clarify"))
        confidence = meta.get("confidence")
        if isinstance(confidence, (int, float)) and confidence < self.confidence:
            unsure = True
        day.unsure += unsure
        if unsure and row.content:
            self.unsure.append(LoggedMessage(row.id, row.openid, row.content, row.created_at,
                                             meta))
            if len(self.unsure) > UNSURE_KEPT * 2:
                del self.unsure[:-UNSURE_KEPT]
        day.fallbacks += bool(meta.get("fallback"))
        if not isinstance(meta.get("ms"), (int, float)):  # written before turn records
            return
        day.turns += 1
        day.latency.append(float(meta["ms"]))
        day.late += bool(meta.get("late"))
        day.errors += bool(meta.get("error"))
        day.handoffs += bool(meta.get("handoff"))
        for pattern in meta.get("scam") or ():
            day.scams[str(pattern)] += 1
        flow = meta.get("flow")
        verdict = bool(meta.get("verdict"))
        day.verdicts += verdict
        user.verdicts += verdict
        if flow:
            user.flow = flow
            if flow not in NO_VERDICT_FLOWS:
                episode = user.episodes.get(flow)
                funnel = self.funnels.get((day_number if episode is None else episode.day, flow))
                if funnel is None:
                    funnel = self.funnels[(day_number, flow)] = FlowDay()
                if episode is None:
                    episode = user.episodes[flow] = Episode(day_number)
                    funnel.started += 1
                else:
                    funnel.count(episode, -1)
                if not episode.verdict:
                    episode.turns += 1
                    episode.verdict = verdict
                    # a turn that leaves the flow asks nothing: they stopped at the last question
                    episode.step = meta.get("step") or episode.step
                funnel.count(episode, 1)

    def _forget_before(self, cutoff: int) -> None:
        """Drop what no period can reach any more: days before ``cutoff``, their funnel
        parts, and users last active before it (the oldest are first in :attr:`users`)."""
        for number in [d for d in self.days if d < cutoff]:
            del self.days[number]
            self.last_active.pop(number, None)
        for key in [k for k in self.funnels if k[0] < cutoff]:
            del self.funnels[key]
        while self.users:
            oldest = next(iter(self.users.values()))
            if oldest.last_day >= cutoff:
                break
            del self.users[oldest.openid]
            self.refs.pop(oldest.ref, None)

    # -- the answers --------------------------------------------------------------------

    def period(self, days: int, today: int) -> range:
        """The day numbers of the last ``days`` days, today included."""
        return range(today - days + 1, today + 1)

    def summary(self, days: int, today: int) -> dict[str, Any]:
        """The overview: totals over the period, and one entry per day."""
        span = self.period(days, today)
        series = []
        totals: Counter[str] = Counter()
        scams: Counter[str] = Counter()
        intents: Counter[str] = Counter()
        samples = []
        for number in span:
            day = self.days.get(number) or Day()
            counts = {
                "messages_in": day.messages_in, "messages_out": day.messages_out,
                "users": day.users, "turns": day.turns, "fallbacks": day.fallbacks,
                "verdicts": day.verdicts, "handoffs": day.handoffs, "late": day.late,
                "errors": day.errors, "duplicates": self.duplicates.get(number, 0),
                "scam_warnings": sum(day.scams.values()),
            }
            totals.update(counts)
            scams.update(day.scams)
            intents.update(day.intents)
            if day.latency:
                samples.append(np.frombuffer(day.latency, dtype=np.float64))
            series.append({"day": day_name(number), **counts,
                           "latency_ms": _percentiles([samples[-1]] if day.latency else [])})
        first = span[0]
        active = self.active_users(first)
        return {
            "days": days,
            "from": day_name(first),
            "to": day_name(today),
            "users": active,
            "messages_in": totals["messages_in"],
            "messages_out": totals["messages_out"],
            "turns": totals["turns"],
            "fallbacks": totals["fallbacks"],
            "fallback_rate": _rate(totals["fallbacks"], totals["messages_in"]),
            "verdicts": totals["verdicts"],
            "scam_warnings": totals["scam_warnings"],
            "scam_patterns": dict(scams.most_common()),
            "handoffs": totals["handoffs"],
            "outcomes": {"replies": totals["messages_out"], "duplicates": totals["duplicates"],
                         "late": totals["late"], "errors": totals["errors"]},
            "latency_ms": _percentiles(samples),
            "intents": dict(intents.most_common()),
            "per_day": series,
        }

    def active_users(self, first: int) -> int:
        """Users with a message on day ``first`` or later."""
        return sum(n for day, n in self.last_active.items() if day >= first)

    def funnel(self, days: int, today: int) -> dict[str, Any]:
        """Per flow: users who started it in the period, how many reached a first verdict,
        after how many turns, and the question the others stopped at."""
        first = self.period(days, today)[0]
        flows: dict[str, FlowDay] = {}
        for (day, name), part in self.funnels.items():
            if first <= day <= today:
                total = flows.setdefault(name, FlowDay())
                total.started += part.started
                total.reached += part.reached
                total.turns.update(part.turns)
                total.stopped_at.update(part.stopped_at)
        result = []
        for name, total in sorted(flows.items(), key=lambda item: (-item[1].started, item[0])):
            turns = +total.turns  # unary plus drops the zero counts
            result.append({
                "flow": name, "started": total.started, "reached": total.reached,
                "rate": _rate(total.reached, total.started),
                "turns_to_verdict": [{"turns": n, "users": turns[n]} for n in sorted(turns)],
                "median_turns": _median_of_counts(turns),
                "stopped_at": [{"step": step, "users": n}
                               for step, n in (+total.stopped_at).most_common()],
            })
        return {"days": days, "from": day_name(first), "to": day_name(today), "flows": result}

    def unsure_count(self, days: int, today: int) -> int:
        """How many unsure messages the period had (all of them, kept or not)."""
        return sum(self.days[d].unsure for d in self.period(days, today) if d in self.days)

    def unsure_since(self, days: int, today: int) -> list[LoggedMessage]:
        """The unsure messages of the period that are kept (the newest UNSURE_KEPT and
        more), oldest first, masked again on read."""
        first = self.period(days, today)[0]
        return [LoggedMessage(m.id, m.openid, mask_personal_data(m.content).text,
                              m.created_at, m.meta)
                for m in self.unsure if day_of(m.created_at) >= first]

    def find(self, user: str) -> str | None:
        """The openid ``user`` names: an openid, or a log reference."""
        if user in self.users:
            return user
        return self.refs.get(user.lower())

    def conversations(self, days: int, today: int, query: str, page: int,
                      per_page: int) -> dict[str, Any]:
        """Users active in the period whose openid or log reference contains ``query``,
        last active first, one page of them (a walk from the most recent user back, so a
        page costs what it skips, never a sort of every user)."""
        first = self.period(days, today)[0]
        needle = query.strip()
        if needle:
            named = self.find(needle)
            if named is not None:
                hits = {named}
            else:  # two scans of strings only (an attribute read per user costs 3x)
                lowered = needle.lower()
                hits = {openid for openid in self.users if needle in openid}
                if _HEX.fullmatch(lowered):  # a log reference is 12 hex digits
                    hits.update(openid for ref, openid in self.refs.items() if lowered in ref)
            found = sorted((self.users[k] for k in hits if self.users[k].last_day >= first),
                           key=lambda u: (-u.last_seen, u.openid))
            total = len(found)
            chosen = found[(page - 1) * per_page:page * per_page]
        else:
            total = self.active_users(first)
            chosen = []
            skip = (page - 1) * per_page
            for user in reversed(self.users.values()):
                if user.last_day < first or len(chosen) == per_page:
                    break
                if skip:
                    skip -= 1
                else:
                    chosen.append(user)
        return {
            "total": total, "page": page, "per_page": per_page,
            "items": [{"openid": user.openid, "ref": user.ref,
                       "first_seen": user.first_seen, "last_seen": user.last_seen,
                       "messages": user.messages, "flow": user.flow,
                       "verdict": user.verdicts > 0}
                      for user in chosen],
        }


_HEX = re.compile(r"[0-9a-f]{1,12}")


def _rate(part: int, whole: int) -> float | None:
    """A share rounded to a tenth of a percent (None when there is nothing to divide)."""
    return round(100 * part / whole, 1) if whole else None


def _percentiles(samples: list[np.ndarray[Any, Any]]) -> dict[str, float | None]:
    """p50 and p99 in whole milliseconds (finer would be false precision)."""
    if not samples:
        return {"p50": None, "p99": None, "count": 0}
    values = np.concatenate(samples) if len(samples) > 1 else samples[0]
    p50, p99 = np.percentile(values, [50, 99])
    return {"p50": round(float(p50)), "p99": round(float(p99)), "count": int(values.size)}


def _median_of_counts(counts: Counter[int]) -> int | None:
    """The median of a histogram given as value → how many (the lower middle)."""
    total = sum(counts.values())
    if not total:
        return None
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if 2 * seen >= total:
            return value
    return None
