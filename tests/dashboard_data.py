"""Generated conversations for the dashboard's tests and benchmark.

:func:`plan` makes a seeded list of turns, each with the ``meta`` the pipeline records
(flow, step, verdict, scam, hand-off, error, latency, lateness, and for text what the
dialogue made of it); :func:`write` stores them through the real store (``finish_turn``,
so the rows are what ``serve`` writes), :func:`write_bulk` inserts them straight into a
migrated SQLite file (for a million rows). The plan is the ledger the tests compute their
expected numbers from, independently of the dashboard's code.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from wxloan.storage import OutboundRecord, Session, TurnRecord, open_database

#: "Now" for the fixture: 2026-11-20 12:00 China time.
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()
DAY = 86400.0
SCAM_PATTERNS = ("upfront_fee", "internal_channel", "fake_flow", "verification_code")
UNSURE_TEXTS = ("嗯嗯那个啥", "额度那个怎么弄啊", "我手机13912345678能借吗", "你们是不是骗子",
                "那个那个", "能不能快点放款", "嗯嗯那个啥啊")


@dataclass(frozen=True, slots=True)
class PlannedTurn:
    """One inbound message, its reply (if any) and the meta recorded with it."""

    openid: str
    at: float
    text: str
    meta: dict[str, Any] | None
    replies: int = 1
    msg_type: str = "text"


@dataclass
class Plan:
    turns: list[PlannedTurn] = field(default_factory=list)
    #: (msg_key index into turns, how many repeated deliveries)
    duplicates: list[tuple[int, int]] = field(default_factory=list)


def _meta(rng: random.Random, *, flow: str | None = None, step: str | None = None,
          verdict: bool = False, scam: tuple[str, ...] = (), handoff: bool = False,
          intent: str | None = "eligibility", fallback: bool = False, clarify: bool = False,
          confidence: float = 0.9, text: bool = True) -> dict[str, Any]:
    late = rng.random() < 0.02
    ms = round(rng.uniform(4800, 6000) if late else rng.lognormvariate(3.5, 0.6), 1)
    meta: dict[str, Any] = {"flow": flow, "step": step, "verdict": verdict, "scam": list(scam),
                            "handoff": handoff, "error": rng.random() < 0.01, "ms": ms,
                            "late": late}
    if text:
        meta.update({"intent": intent, "confidence": confidence, "source": "model",
                     "fallback": fallback, "clarify": clarify})
    return meta


#: Characters of made-up unsure messages (``plan(..., varied=True)``).
_VARIED = "我你他的是了不在有人这中大为上个说们到要以时和会可也就能对那得着下过么多天后都好看"\
          "没成只如事把还用样道想开总从无面最但现前些所同日手又行意动方期头长回位分老因很给名"\
          "借钱额度利率逾期征信微粒贷开通提还款"


def plan(users: int, *, days: int = 10, seed: int = 7, now: float = NOW,
         varied: bool = False) -> Plan:
    """``users`` conversations spread over the ``days`` days up to ``now``; ``varied``:
    the unsure messages are made-up texts, nearly all distinct (as real ones are), not
    a handful of repeated ones."""
    rng = random.Random(seed)
    result = Plan()
    for n in range(users):
        openid = f"fx-{seed}-{n:06d}"
        start = now - rng.uniform(0, days - 1) * DAY - rng.uniform(0, 3600)
        at = [start + 40 * i for i in range(6)]
        kind = rng.choices(("first", "asked", "dropped", "quit", "rejection", "calculator",
                            "scam", "handoff", "unsure", "event"),
                           weights=(25, 15, 12, 5, 10, 8, 8, 5, 12, 5))[0]
        turns: list[tuple[str, dict[str, Any] | None, str]] = []
        if kind == "first":  # the first message held the decisive fact: a verdict at once
            turns.append(("支付分720没有逾期能开通微粒贷吗",
                          _meta(rng, flow="eligibility", verdict=True), "text"))
        elif kind == "asked":
            turns += [("微粒贷能开通吗", _meta(rng, flow="eligibility", step="pay_score"), "text"),
                      ("六百八", _meta(rng, flow="eligibility", step="overdue",
                                      intent=None), "text"),
                      ("没有逾期", _meta(rng, flow="eligibility", verdict=True, intent=None),
                       "text")]
        elif kind == "dropped":
            step = rng.choice(("pay_score", "overdue"))
            turns.append(("我能不能借钱", _meta(rng, flow="eligibility", step=step), "text"))
        elif kind == "quit":  # asked, then left the flow without answering ("算了")
            turns += [("微粒贷能开通吗", _meta(rng, flow="eligibility", step="pay_score"), "text"),
                      ("算了", _meta(rng, flow="eligibility", intent="cancel"), "text")]
        elif kind == "rejection":
            turns += [("我被拒了", _meta(rng, flow="rejection", step="rejected_on",
                                       intent="rejection"), "text"),
                      ("上周", _meta(rng, flow="rejection", verdict=True, intent=None), "text")]
        elif kind == "calculator":
            turns += [("帮我算算月供", _meta(rng, flow="calculator", step="calc",
                                          intent="calculator"), "text"),
                      ("借一万12期年化18%", _meta(rng, flow="calculator", verdict=True,
                                               intent="calculator"), "text")]
        elif kind == "scam":
            pattern = rng.choice(SCAM_PATTERNS)
            turns.append(("先交保证金才能放款吗", _meta(rng, scam=(pattern,), intent="scam"), "text"))
        elif kind == "handoff":
            turns.append(("转人工", _meta(rng, flow="handoff", handoff=True, intent="human"),
                          "text"))
        elif kind == "unsure":
            text = (rng.choice(UNSURE_TEXTS) if not varied else
                    "".join(rng.choice(_VARIED) for _ in range(rng.randint(4, 14))))
            fallback = rng.random() < 0.6
            turns.append((text, _meta(rng, intent=None if fallback else "rates",
                                      fallback=fallback, clarify=not fallback,
                                      confidence=0.2 if fallback else 0.35), "text"))
        else:
            turns.append(("subscribe", _meta(rng, intent=None, text=False), "event"))
        for i, (text, meta, msg_type) in enumerate(turns):
            result.turns.append(PlannedTurn(openid, at[i], text, meta, msg_type=msg_type))
            if rng.random() < 0.03:
                result.duplicates.append((len(result.turns) - 1, rng.choice((1, 2))))
    # as serve writes them: in the order they arrive (ids follow time)
    order = sorted(range(len(result.turns)), key=lambda i: result.turns[i].at)
    position = {old: new for new, old in enumerate(order)}
    result.turns = [result.turns[i] for i in order]
    result.duplicates = [(position[i], n) for i, n in result.duplicates]
    return result


def _record(key: str, index: int, turn: PlannedTurn, version: int | None) -> TurnRecord:
    return TurnRecord(
        msg_key=f"{key}{index}", openid=turn.openid, now=turn.at, inbound_type=turn.msg_type,
        inbound_content=turn.text, reply='{"kind": "text", "text": "答"}',
        outbound=tuple(OutboundRecord("text", f"答{index}") for _ in range(turn.replies)),
        session=Session(turn.openid, flow=(turn.meta or {}).get("flow")),
        expected_version=version, inbound_meta=turn.meta)


async def write(target: Any, fixture: Plan, key: str = "k") -> None:
    """Store every planned turn through the real store, then the repeated deliveries
    (``key`` prefixes the MsgIds: another plan written later needs another)."""
    store = await open_database(target)
    try:
        versions: dict[str, int | None] = {}
        for index, turn in enumerate(fixture.turns):
            commit = await store.finish_turn(
                _record(key, index, turn, versions.get(turn.openid)))
            versions[turn.openid] = commit.version
        for index, times in fixture.duplicates:
            turn = fixture.turns[index]
            for _ in range(times):
                await store.count_duplicate(f"{key}{index}", turn.openid, turn.at + 5)
    finally:
        await store.close()


async def write_bulk(path: Path, fixture: Plan) -> None:
    """Insert the planned messages straight into a migrated SQLite file (fast)."""
    store = await open_database(path)
    await store.close()
    conn = sqlite3.connect(path)
    try:
        rows: list[tuple[Any, ...]] = []
        for turn in fixture.turns:
            meta = orjson.dumps(turn.meta).decode() if turn.meta is not None else None
            rows.append((turn.openid, "in", turn.msg_type, turn.text, turn.at, meta))
            rows.extend((turn.openid, "out", "text", "答", turn.at + 0.1, None)
                        for _ in range(turn.replies))
        conn.executemany("INSERT INTO messages (openid, direction, msg_type, content,"
                         " created_at, meta) VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO users (openid, first_seen, last_seen) VALUES (?, ?, ?)"
                         " ON CONFLICT(openid) DO UPDATE SET last_seen = excluded.last_seen",
                         [(t.openid, t.at, t.at) for t in fixture.turns])
        conn.commit()
    finally:
        conn.close()
