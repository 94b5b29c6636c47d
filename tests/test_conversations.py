"""Conversation transcripts (``tests/conversations/*.yaml``) run through the real webhook.

Each file is one conversation with one user::

    name: what this conversation shows
    mode: plain            # or compat / safe (default plain)
    turns:
      - send: 支付分七百二    # or voice: TEXT | click: KEY | event: subscribe | media: image
        after: 60           # optional: seconds the clock moves on before this turn
        expect:
          says: [card_assessment]  # these templates, in this order, make up the reply
          contains: [590≥580分]    # every string must be in the reply (figures, not copy)
          not_contains: [保证]     # none may be
          # a date is written "{today}", "{today+90d}", "{today-7d}": the turn's day
          # (China time) moved by that many days, spelt as the bot spells it (2027年3月2日)
          silent: false            # true: the answer is "success" (no bubble)
          flow: eligibility        # the session's flow afterwards (null = idle)
          step: pay_score          # the pending question afterwards
          slots: {pay_score: 720}  # these slots afterwards (others may exist)
          no_slots: [identity]     # these slots must be absent

Every turn goes through a signed HTTP request to a real app on a real SQLite file; the
session is read back from the database file as an operator would. ``wxloan chat``'s
``/save`` writes this same format.

Turns to the first useful verdict (issue 12's measure): for every transcript with an
eligibility, rejection or limits conversation, the number of user messages from the one
that started it (its reply is the first to carry one of :data:`CONSULTATION` templates)
to the first reply that carries a verdict (:data:`VERDICTS`), counted from the replies
the app actually sent. A conversation that never reaches one counts as one turn more
than it has. The suite fails when the median exceeds :data:`MEDIAN_TURNS_TO_VERDICT`;
the per-transcript table is printed at the end of the run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from wxloan.handlers import CHINA_TZ

from tests.conftest import rows
from tests.wechat import Reply, WeChat, message_xml

CONVERSATIONS = Path(__file__).with_name("conversations")
_ids = itertools.count(7_000_000_000)
_TURN_KEYS = {"send", "voice", "click", "event", "media"}
_DATE = re.compile(r"\{today(?:([+-]\d+)d)?\}")

#: Replies that carry a verdict on the user's own facts (or the plan from the article).
VERDICTS = frozenset({"verdict_eligibility", "verdict_rejection", "card_assessment",
                      "card_diagnosis", "card_limits"})
#: Replies that show a consultation has started (a verdict, a "depends on" brief, a question).
CONSULTATION = VERDICTS | {"brief_eligibility", "brief_rejection", "ask"}
MEDIAN_TURNS_TO_VERDICT = 2
#: transcript name -> turns to the first verdict (filled as the transcripts play).
TURNS_TO_VERDICT: dict[str, int] = {}
#: every transcript played to its end in this run (consultation or not).
PLAYED: set[str] = set()


def _files() -> list[Path]:
    return sorted(CONVERSATIONS.glob("*.yaml"))


async def _send(wechat: WeChat, openid: str, turn: dict[str, Any], mode: str) -> Reply:
    now = int(wechat.clock())
    if "send" in turn:
        xml = message_xml(openid, "text", now, Content=str(turn["send"]), MsgId=next(_ids))
    elif "voice" in turn:
        xml = message_xml(openid, "voice", now, MediaId="m", Format="amr",
                          Recognition=str(turn["voice"]), MsgId=next(_ids))
    elif "click" in turn:
        xml = message_xml(openid, "event", now, Event="CLICK", EventKey=str(turn["click"]))
    elif "event" in turn:
        xml = message_xml(openid, "event", now, Event=str(turn["event"]))
    else:
        xml = message_xml(openid, str(turn["media"]), now, MediaId="m", MsgId=next(_ids))
    return await wechat.post(xml, mode)


def _session(db_path: Path, openid: str) -> tuple[str | None, str | None, dict[str, Any]]:
    found = rows(db_path, "SELECT flow, step, slots FROM sessions WHERE openid = ?", (openid,))
    if not found:
        return None, None, {}
    flow, step, slots = found[0]
    return flow, step, json.loads(slots or "{}")


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _needles(expect: dict[str, Any], key: str, where: str, now: float) -> list[str]:
    """The strings of ``contains``/``not_contains``, dates spelt out.

    Items must be YAML strings (unquoted, ``916.80`` is the number 916.8). Quote anything
    with a comma too: a flow list splits ``[额度5,000元]`` into ``额度5`` and ``000元``.
    """
    value = expect.get(key, [])
    items = value if isinstance(value, list) else [value]
    for item in items:
        assert isinstance(item, str), f"{where}: {key} item {item!r} must be a quoted string"
    return [_dated(item, now) for item in items]


def _dated(needle: str, now: float) -> str:
    """``{today+90d}`` → the date 90 days after ``now``'s day, as the bot writes it."""
    today = dt.datetime.fromtimestamp(now, CHINA_TZ).date()

    def spell(match: re.Match[str]) -> str:
        day = today + dt.timedelta(days=int(match.group(1) or 0))
        return f"{day.year}年{day.month}月{day.day}日"

    return _DATE.sub(spell, needle)


async def play(script: dict[str, Any], wechat: WeChat, db_path: Path, clock: Any,
               openid: str, label: str) -> int | None:
    """Play one transcript against a running app and check every expectation.

    :returns: the turns to its first verdict (:func:`turns_to_verdict`).
    """
    assert script.get("turns"), f"{label}: no turns"
    mode = script.get("mode", "plain")
    replies: list[tuple[str, ...]] = []
    for number, turn in enumerate(script["turns"], start=1):
        where = f"{label} turn {number}"
        assert len(_TURN_KEYS & set(turn)) == 1, f"{where}: needs exactly one of {_TURN_KEYS}"
        clock.advance(float(turn.get("after", 1)))
        reply = await _send(wechat, openid, turn, mode)
        assert reply.status == 200, f"{where}: HTTP {reply.status} {reply.body[:200]}"
        expect = turn.get("expect", {})
        text = reply.content
        replies.append(tuple(reply.templates))
        if expect.get("silent"):
            assert reply.body == "success", f"{where}: expected no reply, got {text!r}"
        elif "silent" in expect or "contains" in expect or "says" in expect:
            assert reply.body != "success", f"{where}: expected a reply, got success"
            assert len(text.encode("utf-8")) <= 2048, f"{where}: reply over 2048 bytes"
        if "says" in expect:
            says = list(reply.templates)
            assert says == _as_list(expect["says"]), f"{where}: templates {says}:\n{text}"
        for needle in _needles(expect, "contains", where, clock()):
            assert needle in text, f"{where}: {needle!r} not in reply:\n{text}"
        for needle in _needles(expect, "not_contains", where, clock()):
            assert needle not in text, f"{where}: {needle!r} must not be in reply:\n{text}"
        if {"flow", "step", "slots", "no_slots"} & set(expect):
            flow, step, slots = _session(db_path, openid)
            if "flow" in expect:
                assert flow == expect["flow"], f"{where}: flow {flow!r}:\n{text}"
            if "step" in expect:
                assert step == expect["step"], f"{where}: step {step!r}:\n{text}"
            for key, value in expect.get("slots", {}).items():
                assert slots.get(key) == value, f"{where}: slot {key}={slots.get(key)!r}"
            for key in expect.get("no_slots", []):
                assert key not in slots, f"{where}: slot {key} should be absent"
    return turns_to_verdict(replies)


def turns_to_verdict(replies: list[tuple[str, ...]]) -> int | None:
    """User messages from the one that started a consultation to the first verdict.

    :param replies: the templates of each reply, in order.
    :returns: None when no consultation started; one more than the turns played when
        none ever reached a verdict.
    """
    started = next((i for i, names in enumerate(replies) if set(names) & CONSULTATION), None)
    if started is None:
        return None
    verdict = next((i for i, names in enumerate(replies)
                    if i >= started and set(names) & VERDICTS), len(replies))
    return verdict - started + 1


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
async def test_conversation(path: Path, make_wechat, settings, db_path, clock):
    script = yaml.safe_load(path.read_text(encoding="utf-8"))
    wechat = await make_wechat(settings.with_overrides(expose_templates=True))
    turns = await play(script, wechat, db_path, clock, f"o_{path.stem}", path.name)
    if path.parent != CONVERSATIONS:
        return  # a transcript replayed by another test (a simulator recording)
    if turns is not None:
        TURNS_TO_VERDICT[path.name] = turns
    PLAYED.add(path.name)


def test_there_are_enough_conversations():
    assert len(_files()) >= 50


@pytest.mark.parametrize(
    ("replies", "turns"),
    [
        ([("welcome",), ("greeting", "menu")], None),  # no consultation
        ([("ack", "verdict_eligibility", "ask")], 1),  # the verdict in the first reply
        ([("brief_eligibility", "ask"), ("ack", "verdict_eligibility", "ask")], 2),
        ([("welcome",), ("brief_rejection", "ask"), ("ack", "ask"), ("card_diagnosis",)], 3),
        ([("brief_eligibility", "ask"), ("ask",), ("ask",)], 4),  # never: one more than played
        ([("card_limits", "ask")], 1),
    ],
)
def test_turns_to_verdict_counts_from_the_consultation(replies, turns):
    assert turns_to_verdict(replies) == turns


def test_median_turns_to_the_first_verdict():
    """Answer first: half the consultations get their verdict within two turns."""
    missing = {p.name for p in _files()} - PLAYED
    if missing:
        pytest.skip(f"measured over the whole set of transcripts only ({len(missing)} not played)")
    turns = sorted(TURNS_TO_VERDICT.values())
    assert len(turns) >= 30, "too few consultations to measure"
    median = statistics.median(turns)
    worst = max(TURNS_TO_VERDICT, key=lambda name: TURNS_TO_VERDICT[name])
    assert median <= MEDIAN_TURNS_TO_VERDICT, (
        f"median {median} turns to the first verdict; worst {worst}: {TURNS_TO_VERDICT[worst]}")


def verdict_report() -> list[str]:
    """The per-transcript table printed at the end of the run (tests/conftest.py)."""
    if not TURNS_TO_VERDICT:
        return []
    turns = sorted(TURNS_TO_VERDICT.values())
    lines = [f"{turns_:>3}  {name}" for name, turns_ in sorted(TURNS_TO_VERDICT.items())]
    within = sum(1 for t in turns if t <= MEDIAN_TURNS_TO_VERDICT)
    lines.append(
        f"{len(turns)} consultations: median {statistics.median(turns)} turns to the first "
        f"verdict, worst {turns[-1]}, {within} within {MEDIAN_TURNS_TO_VERDICT}")
    return lines
