"""Each turn's record in the message log (``messages.meta``) and what ``wxloan stats`` makes
of it: the flow a turn ran in, its verdict, scam warnings, hand-offs, errors, lateness and
latency; WeChat's repeated deliveries counted once each.

Through the real app (signed requests, the production dialogue or a stand-in, SQLite in a
temp dir); a slow turn is held on an event the test releases, never on a sleep.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import rows
from wxloan.bot.cli import main
from wxloan.bot.keys import PIPELINE
from wxloan.handlers import Outcome, Turn

from .support import new_msg_id, router_for, say, text_xml

pytestmark = pytest.mark.usefixtures("clean_env", "restore_logging")


def _metas(db_path: Path, openid: str) -> list[dict[str, Any]]:
    found = rows(db_path, "SELECT meta FROM messages WHERE openid = ? AND direction = 'in'"
                          " ORDER BY id", (openid,))
    return [json.loads(meta) for (meta,) in found]


def _stats(db_path: Path, capsys: Any) -> dict[str, Any]:
    assert main(["stats", "--json", "--db", str(db_path)]) == 0
    activity: dict[str, Any] = json.loads(capsys.readouterr().out)["activity"]
    return activity


async def test_a_conversation_records_its_flow_verdict_scam_and_handoff(wechat, db_path, capsys):
    await wechat.text("rec-a", "支付分七百二，没有逾期，最近三个月查了两次征信，我是上班族")
    await wechat.text("rec-a", "有人说先交两千保证金就能放款，是真的吗")
    await wechat.text("rec-b", "微粒贷能开通吗")
    await wechat.text("rec-b", "转人工")
    first, scam = _metas(db_path, "rec-a")
    assert first["flow"] == "eligibility" and first["verdict"] is True
    assert first["ms"] >= 0 and first["late"] is False and first["error"] is False
    assert scam["scam"] and scam["verdict"] is False
    asked, handed = _metas(db_path, "rec-b")
    assert asked["flow"] == "eligibility" and asked["verdict"] is False and asked["step"]
    assert handed["handoff"] is True and handed["flow"] == "handoff"

    activity = _stats(db_path, capsys)
    assert activity["turns"] == 4 and activity["handoffs"] == 1
    assert sum(activity["scam_warnings"].values()) == 1
    assert activity["funnel"] == [{"flow": "eligibility", "started": 2, "reached_verdict": 1}]
    assert activity["errors"] == activity["late"] == activity["duplicates"] == 0


async def test_the_calculators_plan_is_its_verdict(wechat, db_path):
    await wechat.text("rec-c", "帮我算算月供")
    await wechat.text("rec-c", "借一万，分12期，年化18%")
    ask, plan = _metas(db_path, "rec-c")
    assert ask["flow"] == plan["flow"] == "calculator"
    assert (ask["verdict"], plan["verdict"]) == (False, True)


async def test_menu_events_have_a_record_without_understanding(wechat, db_path):
    await wechat.event("rec-e", "subscribe")
    (meta,) = _metas(db_path, "rec-e")
    assert meta["error"] is False and "intent" not in meta and "fallback" not in meta


async def test_a_retry_is_counted_as_a_duplicate(wechat, db_path, capsys):
    msg_id = new_msg_id()
    xml = text_xml("rec-d", "微粒贷利息多少", int(wechat.clock()), msg_id)
    first = await wechat.post(xml)
    for _ in range(2):  # WeChat's two retries of an answer it did not get
        assert (await wechat.post(xml)).content == first.content
    await wechat.client.app[PIPELINE].drain()
    assert rows(db_path, "SELECT duplicates, late FROM delivery_attempts WHERE msg_key = ?",
                (str(msg_id),)) == [(2, 0)]
    activity = _stats(db_path, capsys)
    assert activity["turns"] == 1 and activity["duplicates"] == 2


@dataclass
class Gate:
    """A handler held until the test opens it (to make a turn late without a sleep)."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, turn: Turn) -> Outcome:
        await self.opened.wait()
        return turn.stay(say(turn.text))


@dataclass
class Sender:
    sent: list[str] = field(default_factory=list)

    async def send_text(self, openid: str, text: str, *, msg_key: str,
                        logged: bool = False) -> bool:
        self.sent.append(text)
        return True


async def test_a_turn_past_the_deadline_is_recorded_late(make_wechat, settings, db_path, capsys):
    gate = Gate()
    wechat = await make_wechat(settings.with_overrides(reply_deadline=0.05),
                               router=router_for(gate.handle), sender=Sender())
    assert (await wechat.text("rec-l", "慢慢想")).body == "success"  # the deadline answered
    gate.opened.set()
    await wechat.client.app[PIPELINE].drain()
    (meta,) = _metas(db_path, "rec-l")
    assert meta["late"] is True and meta["ms"] >= 50
    assert _stats(db_path, capsys)["late"] == 1


async def test_a_failing_handler_is_recorded_as_an_error(make_wechat, db_path, capsys):
    async def broken(turn: Turn) -> Outcome:
        raise RuntimeError("handler bug")

    wechat = await make_wechat(router=router_for(broken))
    reply = await wechat.text("rec-x", "你好")
    assert reply.status == 200
    (meta,) = _metas(db_path, "rec-x")
    assert meta["error"] is True
    assert _stats(db_path, capsys)["errors"] == 1
