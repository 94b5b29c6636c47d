"""Slow handlers: answer ``success`` in time, then deliver exactly once."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from dataclasses import dataclass, field

import pytest

from tests.conftest import rows

from .support import echo_router, new_msg_id, text_xml, wait_until

SLOW = 0.6


@pytest.fixture
def fast_settings(settings):
    return settings.with_overrides(reply_deadline=0.2)


@dataclass
class FakeSender:
    """Records late deliveries; ``delivered`` is what the customer-service API would say."""

    delivered: bool = True
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def send_text(self, openid: str, text: str, *, msg_key: str, logged: bool = False) -> bool:
        self.calls.append((openid, text, msg_key))
        return self.delivered


def _stored(db_path, msg_id: int) -> tuple[str, str] | None:
    found = rows(db_path, "SELECT status, reply FROM processed WHERE msg_key = ?", (str(msg_id),))
    return found[0] if found else None


async def test_slow_handler_is_answered_success_before_the_deadline(make_wechat, fast_settings):
    sender = FakeSender(delivered=True)
    wechat = await make_wechat(fast_settings, router=echo_router(delay=SLOW), sender=sender)
    reply = await wechat.text("user-slow", "慢慢想")
    assert reply.status == 200
    assert reply.body == "success"  # the handler takes 0.6 s: only the deadline answers this


async def test_without_api_a_slow_reply_is_held_past_the_deadline_and_stored(
    make_wechat, fast_settings, db_path
):
    """No AppSecret: answering 'success' would lose the reply (WeChat would not retry)."""
    calls: list[str] = []
    wechat = await make_wechat(fast_settings, router=echo_router(delay=SLOW, calls=calls))
    msg_id = new_msg_id()
    xml = text_xml("user-slow", "慢慢想", int(wechat.clock()), msg_id)
    assert (await wechat.post(xml)).content == "慢慢想"  # within WeChat's 5 s
    assert (_stored(db_path, msg_id) or ("",))[0] == "done"
    retry = await wechat.post(xml)
    assert retry.status == 200
    assert retry.content == "慢慢想"
    assert calls == ["慢慢想"]


async def test_late_reply_goes_to_sender_once_and_retry_gets_success(
    make_wechat, fast_settings, db_path
):
    sender = FakeSender(delivered=True)
    wechat = await make_wechat(fast_settings, router=echo_router(delay=SLOW), sender=sender)
    msg_id = new_msg_id()
    xml = text_xml("user-late", "慢慢想", int(wechat.clock()), msg_id)
    assert (await wechat.post(xml)).body == "success"
    await wait_until(lambda: len(sender.calls) == 1)
    assert sender.calls == [("user-late", "慢慢想", str(msg_id))]
    await wait_until(
        lambda: (
            json.loads((_stored(db_path, msg_id) or ("", "null"))[1] or "null")
            == {"kind": "success", "text": ""}
        )
    )
    retry = await wechat.post(xml)
    assert retry.status == 200
    assert retry.body == "success"  # no second copy of what the user already has
    assert len(sender.calls) == 1


async def test_undelivered_late_reply_is_kept_for_the_retry(make_wechat, fast_settings, db_path):
    sender = FakeSender(delivered=False)
    wechat = await make_wechat(fast_settings, router=echo_router(delay=SLOW), sender=sender)
    msg_id = new_msg_id()
    xml = text_xml("user-late", "慢慢想", int(wechat.clock()), msg_id)
    assert (await wechat.post(xml)).body == "success"
    await wait_until(lambda: len(sender.calls) == 1)
    await wait_until(lambda: (_stored(db_path, msg_id) or ("",))[0] == "done")
    retry = await wechat.post(xml)
    assert retry.content == "慢慢想"
    assert len(sender.calls) == 1


async def test_fast_reply_never_uses_the_sender(make_wechat, fast_settings):
    sender = FakeSender()
    wechat = await make_wechat(fast_settings, router=echo_router(), sender=sender)
    reply = await wechat.text("user-fast", "快")
    assert reply.content == "快"
    assert sender.calls == []


class FailingSender:
    """The customer-service API is down."""

    def __init__(self) -> None:
        self.calls = 0

    async def send_text(self, openid: str, text: str, *, msg_key: str, logged: bool = False) -> bool:
        self.calls += 1
        raise ConnectionError("customer-service API unreachable")


async def test_failing_sender_keeps_the_reply_and_is_logged_not_lost(
    make_wechat, fast_settings, db_path, caplog
):
    caplog.set_level(logging.DEBUG)
    sender = FailingSender()
    wechat = await make_wechat(fast_settings, router=echo_router(delay=SLOW), sender=sender)
    msg_id = new_msg_id()
    xml = text_xml("user-late", "慢慢想", int(wechat.clock()), msg_id)
    assert (await wechat.post(xml)).body == "success"
    await wait_until(lambda: sender.calls == 1)
    await asyncio.sleep(0.05)
    gc.collect()  # an unobserved task exception is reported when the task is collected
    retry = await wechat.post(xml)
    assert retry.content == "慢慢想"  # still kept for WeChat's retry
    unobserved = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert unobserved == [], "the delivery failure was left to asyncio's garbage collector"
    assert any(
        r.name.startswith("wxloan")
        and r.levelno >= logging.WARNING
        and "ConnectionError" in (r.getMessage() + str(r.exc_info) + str(getattr(r, "fields", "")))
        for r in caplog.records
    ), "wxloan did not log the failed delivery"
