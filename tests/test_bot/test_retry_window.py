"""A reply that misses the deadline reaches the user exactly once, never twice, never not.

WeChat's protocol, which these tests play out on a scaled clock (deadline 0.2 s instead of
4.5 s, WeChat's timeout 0.6 s instead of 5 s): each delivery of a message waits ``timeout``
for an answer; with no answer WeChat drops the connection and delivers the same message
again, three times in all; after ``success`` (or any answer) it never delivers it again.

Order is forced with events: the handler runs only when the test releases it, and the
stand-in sender holds its send until the test lets it go. Timing decides nothing here
except WeChat's own client timeout, which is three times the server's deadline.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import pytest

from wxloan.handlers.contract import Outcome, Turn
from wxloan.bot.keys import PIPELINE
from tests.conftest import rows

from .support import new_msg_id, router_for, say, text_xml, wait_until

DEADLINE = 0.2
WECHAT_TIMEOUT = 0.6  # WeChat gives up on a delivery after this (5 s in production)


@dataclass
class Gate:
    """A handler that starts, says so, and finishes only when released."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[str] = field(default_factory=list)

    async def handle(self, turn: Turn) -> Outcome:
        self.calls.append(turn.text)
        self.started.set()
        await self.release.wait()
        return turn.stay(say(f"答复：{turn.text}"))


@dataclass
class HeldSender:
    """The customer-service API, holding each send until the test lets it go."""

    delivered: bool = True
    sending: asyncio.Event = field(default_factory=asyncio.Event)
    proceed: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def send_text(
        self, openid: str, text: str, *, msg_key: str, logged: bool = False
    ) -> bool:
        self.calls.append((openid, text, msg_key))
        self.sending.set()
        await self.proceed.wait()
        return self.delivered


@pytest.fixture
def scaled(settings):
    """No AppSecret: no customer-service API, WeChat's own retries are the only way."""
    return settings.with_overrides(reply_deadline=DEADLINE, wechat_timeout=WECHAT_TIMEOUT)


def _late_count(db_path, msg_id: int) -> int:
    found = rows(db_path, "SELECT late FROM delivery_attempts WHERE msg_key = ?", (str(msg_id),))
    return int(found[0][0]) if found else 0


def _stored_reply(db_path, msg_id: int) -> dict[str, str]:
    found = rows(db_path, "SELECT reply FROM processed WHERE msg_key = ?", (str(msg_id),))
    return json.loads(found[0][0]) if found else {}


def _shown_out(db_path, openid: str) -> int:
    return len(rows(db_path, "SELECT id FROM messages WHERE openid = ? AND direction = 'out'",
                    (openid,)))


async def _wechat_delivery(wechat, xml: str):
    """One delivery as WeChat makes it: the reply, or None when WeChat gave up waiting."""
    try:
        return await wechat.post(xml, timeout=WECHAT_TIMEOUT)
    except TimeoutError:
        return None


class TestWithoutAppSecret:
    async def test_slow_turn_reaches_the_user_on_the_second_delivery_exactly_once(
        self, make_wechat, scaled, db_path
    ):
        gate = Gate()
        wechat = await make_wechat(scaled, router=router_for(gate.handle))
        pipeline = wechat.client.app[PIPELINE]
        msg_id = new_msg_id()
        xml = text_xml("user-slow", "慢慢想", int(wechat.clock()), msg_id)

        first = await _wechat_delivery(wechat, xml)  # held past the deadline, not 'success'
        assert first is None, "the first delivery must not be answered before the turn ends"
        await wait_until(lambda: _late_count(db_path, msg_id) == 1)
        second = asyncio.create_task(_wechat_delivery(wechat, xml))
        await wait_until(lambda: pipeline.arrivals(str(msg_id)) == 2)
        gate.release.set()  # the turn ends while the second delivery waits on it

        reply = await second
        assert reply is not None and reply.content == "答复：慢慢想"
        assert gate.calls == ["慢慢想"]
        await pipeline.drain()
        assert _shown_out(db_path, "user-slow") == 1
        third = await wechat.post(xml)  # should WeChat deliver it again: the same reply
        assert third.content == "答复：慢慢想"
        assert gate.calls == ["慢慢想"]

    async def test_turn_ending_between_deliveries_is_given_to_the_next_delivery(
        self, make_wechat, scaled, db_path
    ):
        gate = Gate()
        wechat = await make_wechat(scaled, router=router_for(gate.handle))
        pipeline = wechat.client.app[PIPELINE]
        msg_id = new_msg_id()
        xml = text_xml("user-gap", "慢慢想", int(wechat.clock()), msg_id)
        assert await _wechat_delivery(wechat, xml) is None
        gate.release.set()
        await pipeline.drain()  # done while WeChat is between two deliveries
        reply = await _wechat_delivery(wechat, xml)
        assert reply is not None and reply.content == "答复：慢慢想"
        assert gate.calls == ["慢慢想"]

    async def test_only_the_last_expected_delivery_is_answered_success(
        self, make_wechat, scaled, db_path, caplog
    ):
        caplog.set_level(logging.WARNING, logger="wxloan")
        gate = Gate()
        wechat = await make_wechat(scaled, router=router_for(gate.handle))
        msg_id = new_msg_id()
        xml = text_xml("user-stuck", "慢慢想", int(wechat.clock()), msg_id)
        assert await _wechat_delivery(wechat, xml) is None
        assert await _wechat_delivery(wechat, xml) is None
        last = await _wechat_delivery(wechat, xml)
        assert last is not None and last.body == "success"  # before WeChat's own timeout
        assert _late_count(db_path, msg_id) == 3
        gate.release.set()
        await wechat.client.app[PIPELINE].drain()
        assert gate.calls == ["慢慢想"]
        assert _stored_reply(db_path, msg_id)["text"] == "答复：慢慢想"
        assert any("reply not shown" in r.getMessage() for r in caplog.records)

    async def test_deliveries_are_counted_across_workers(self, make_wechat, scaled, db_path):
        gate = Gate()
        worker_a = await make_wechat(scaled, router=router_for(gate.handle))
        worker_b = await make_wechat(scaled, router=router_for(gate.handle))
        msg_id = new_msg_id()
        xml = text_xml("user-two", "慢慢想", int(worker_a.clock()), msg_id)
        assert await _wechat_delivery(worker_a, xml) is None
        assert await _wechat_delivery(worker_b, xml) is None
        last = await _wechat_delivery(worker_a, xml)  # the third, as the store knows
        assert last is not None and last.body == "success"
        assert _late_count(db_path, msg_id) == 3
        gate.release.set()
        await worker_a.client.app[PIPELINE].drain()
        await worker_b.client.app[PIPELINE].drain()
        assert len(rows(db_path, "SELECT msg_key FROM processed WHERE msg_key = ?",
                        (str(msg_id),))) == 1

    async def test_a_store_that_cannot_count_still_holds_the_first_delivery(
        self, make_wechat, scaled, monkeypatch
    ):
        gate = Gate()
        wechat = await make_wechat(scaled, router=router_for(gate.handle))
        pipeline = wechat.client.app[PIPELINE]

        async def broken(*args, **kwargs):
            raise OSError("disk full")

        monkeypatch.setattr(pipeline.store, "count_late_delivery", broken)
        msg_id = new_msg_id()
        xml = text_xml("user-broken", "慢慢想", int(wechat.clock()), msg_id)
        first = asyncio.create_task(wechat.post(xml))
        await gate.started.wait()
        await wait_until(lambda: pipeline.arrivals(str(msg_id)) == 1)
        done, _ = await asyncio.wait({first}, timeout=DEADLINE * 2)
        assert not done, "past the deadline the delivery is held, not answered"
        gate.release.set()
        assert (await first).content == "答复：慢慢想"

    async def test_fast_turn_counts_nothing(self, make_wechat, scaled, db_path):
        gate = Gate()
        gate.release.set()
        wechat = await make_wechat(scaled, router=router_for(gate.handle))
        msg_id = new_msg_id()
        reply = await wechat.post(text_xml("user-fast", "快", int(wechat.clock()), msg_id))
        assert reply.content == "答复：快"
        assert _late_count(db_path, msg_id) == 0


class TestWithTheApi:
    """A late reply goes out through the customer-service API, claimed before it is sent."""

    @pytest.fixture
    def fast(self, settings):
        return settings.with_overrides(reply_deadline=DEADLINE, wechat_timeout=WECHAT_TIMEOUT)

    async def _late(self, make_wechat, fast, sender, openid, **kwargs):
        gate = Gate()
        wechat = await make_wechat(fast, router=router_for(gate.handle), sender=sender, **kwargs)
        msg_id = new_msg_id()
        xml = text_xml(openid, "慢慢想", int(wechat.clock()), msg_id)
        first = await wechat.post(xml)
        assert first.body == "success"  # answered at the deadline: WeChat will not retry
        gate.release.set()
        await sender.sending.wait()  # the send has started and is held
        return wechat, xml, msg_id, gate

    async def test_retry_during_the_send_gets_success_not_a_second_copy(
        self, make_wechat, fast, db_path
    ):
        sender = HeldSender()
        wechat, xml, msg_id, gate = await self._late(make_wechat, fast, sender, "user-late")
        retry = await wechat.post(xml)
        assert retry.body == "success"
        assert _stored_reply(db_path, msg_id) == {"kind": "success", "text": ""}
        sender.proceed.set()
        await wechat.client.app[PIPELINE].drain()
        again = await wechat.post(xml)
        assert again.body == "success"
        assert sender.calls == [("user-late", "答复：慢慢想", str(msg_id))]
        assert gate.calls == ["慢慢想"]

    async def test_retry_on_another_worker_during_the_send_gets_success(
        self, make_wechat, fast, db_path
    ):
        sender = HeldSender()
        worker_a, xml, msg_id, _ = await self._late(make_wechat, fast, sender, "user-far")
        worker_b = await make_wechat(fast, router=router_for(Gate().handle))
        retry = await worker_b.post(xml)
        assert retry.body == "success"
        sender.proceed.set()
        await worker_a.client.app[PIPELINE].drain()
        assert len(sender.calls) == 1

    async def test_failed_send_puts_the_reply_back_for_the_next_delivery(
        self, make_wechat, fast, db_path
    ):
        sender = HeldSender(delivered=False)
        wechat, xml, msg_id, _ = await self._late(make_wechat, fast, sender, "user-down")
        sender.proceed.set()
        await wechat.client.app[PIPELINE].drain()
        assert _stored_reply(db_path, msg_id) == {"kind": "text", "text": "答复：慢慢想"}
        retry = await wechat.post(xml)
        assert retry.content == "答复：慢慢想"
        assert len(sender.calls) == 1

    async def test_retry_waiting_on_the_turn_takes_the_reply_and_nothing_is_pushed(
        self, make_wechat, fast, db_path
    ):
        sender = HeldSender()
        gate = Gate()
        wechat = await make_wechat(fast, router=router_for(gate.handle), sender=sender)
        pipeline = wechat.client.app[PIPELINE]
        msg_id = new_msg_id()
        xml = text_xml("user-wait", "慢慢想", int(wechat.clock()), msg_id)
        assert (await wechat.post(xml)).body == "success"
        retry = asyncio.create_task(wechat.post(xml))
        await wait_until(lambda: pipeline.arrivals(str(msg_id)) == 2)
        gate.release.set()
        assert (await retry).content == "答复：慢慢想"
        await pipeline.drain()
        assert sender.calls == []
        # the passive text is what later deliveries get too (it was not pushed)
        assert _stored_reply(db_path, msg_id) == {"kind": "text", "text": "答复：慢慢想"}
