"""The mini-program channel and the outbound sender, against a local stand-in WeChat API.

Every test runs a real wxloan app and a real stand-in API server (``bot.standin``) on
loopback; ``WECHAT_API_BASE`` points wxloan at the stand-in.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto

from wxloan.bot import Settings, create_app
from wxloan.bot.keys import PIPELINE
from wxloan.bot.standin import StandIn, create_standin_app
from tests.conftest import rows
from tests.test_bot.support import MENU, WELCOME, echo_router, wait_until
from tests.wechat import AES_KEY, APP_ID, TOKEN, WeChat, cdata, message_xml, sign

WXA_TOKEN = "wxa-token-9b1"
WXA_APP_ID = "wxa0123456789abcd"
WXA_SECRET = "wxa-secret"
OA_SECRET = "oa-secret"
_ids = itertools.count(9_100_000_000)


@pytest.fixture
def standin(clock) -> StandIn:
    return StandIn(apps={WXA_APP_ID: WXA_SECRET, APP_ID: OA_SECRET}, clock=clock)


@pytest.fixture
async def api_base(aiohttp_server, standin) -> str:
    server = await aiohttp_server(create_standin_app(standin))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def mp_settings(db_path, api_base) -> Settings:
    return Settings(
        token=TOKEN, app_id=APP_ID, app_secret=OA_SECRET, aes_key=AES_KEY, db_path=db_path,
        api_base=api_base,
        wxa_token=WXA_TOKEN, wxa_app_id=WXA_APP_ID, wxa_app_secret=WXA_SECRET,
        wxa_aes_key=AES_KEY,
    )


@pytest.fixture
async def mp(make_wechat, mp_settings) -> WeChat:
    wechat = await make_wechat(mp_settings)
    return WeChat(wechat.client, token=WXA_TOKEN, app_id=WXA_APP_ID, clock=wechat.clock,
                  path="/miniprogram")


def _json_push(openid: str, msg_type: str, now: int, **fields: Any) -> str:
    body = {"ToUserName": "gh_mini", "FromUserName": openid, "CreateTime": now,
            "MsgType": msg_type, **fields}
    return json.dumps(body, ensure_ascii=False)


async def post_json(mp: WeChat, payload: str, mode: str = "plain") -> tuple[int, str]:
    """POST a JSON push as WeChat does in the JSON data format; decrypt a JSON answer."""
    query = mp.query()
    body = payload
    if mode != "plain":
        crypto = WeChatCrypto(mp.token, AES_KEY, mp.app_id)
        envelope = crypto.encrypt_message(payload, query["nonce"], query["timestamp"])
        encrypt = fromstring(envelope).find("Encrypt").text
        query.update(encrypt_type="aes",
                     msg_signature=sign(mp.token, query["timestamp"], query["nonce"], encrypt))
        data = json.loads(payload) if mode == "compat" else {"ToUserName": "gh_mini"}
        data["Encrypt"] = encrypt
        body = json.dumps(data, ensure_ascii=False)
    resp = await mp.client.post("/miniprogram", params=query, data=body.encode(),
                                headers={"Content-Type": "application/json"})
    text = await resp.text()
    if mode != "plain" and resp.status == 200 and text != "success":
        sealed = json.loads(text)
        assert sealed["MsgSignature"] == sign(mp.token, str(sealed["TimeStamp"]),
                                              sealed["Nonce"], sealed["Encrypt"])
        crypto = WeChatCrypto(mp.token, AES_KEY, mp.app_id)
        xml = (f"<xml><Encrypt>{cdata(sealed['Encrypt'])}</Encrypt></xml>")
        text = crypto.decrypt_message(xml, sealed["MsgSignature"], str(sealed["TimeStamp"]),
                                      sealed["Nonce"])
    return resp.status, text


async def text_json(mp: WeChat, openid: str, content: str, mode: str = "plain") -> tuple[int, str]:
    now = int(mp.clock())
    payload = _json_push(openid, "text", now, Content=content, MsgId=next(_ids))
    return await post_json(mp, payload, mode)


# -- the push endpoint ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_json_text_is_answered_success_then_through_the_api(mp, standin, mode):
    status, body = await text_json(mp, "mp-json", "你好", mode)
    assert (status, body) == (200, "success")
    await wait_until(lambda: len(standin.texts_to("mp-json")) == 1)
    assert MENU in standin.texts_to("mp-json")[0]


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_xml_text_is_answered_success_then_through_the_api(mp, standin, mode):
    xml = message_xml("mp-xml", "text", int(mp.clock()), Content="你好", MsgId=next(_ids))
    reply = await mp.post(xml, mode)
    assert (reply.status, reply.body) == (200, "success")
    await wait_until(lambda: len(standin.texts_to("mp-xml")) == 1)


async def test_typing_is_shown_before_the_answer(mp, standin):
    await text_json(mp, "mp-typing", "怎么提额")
    await wait_until(lambda: standin.texts_to("mp-typing"))
    assert ("mp-typing", "Typing") in standin.typing


async def test_entering_the_session_gets_the_welcome(mp, standin):
    payload = _json_push("mp-enter", "event", int(mp.clock()), Event="user_enter_tempsession",
                         SessionFrom="loan-page")
    assert await post_json(mp, payload) == (200, "success")
    await wait_until(lambda: standin.texts_to("mp-enter"))
    assert WELCOME in standin.texts_to("mp-enter")[0]


@pytest.mark.parametrize(("msg_type", "extra"), [
    ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m"}),
    ("miniprogrampage", {"Title": "t", "AppId": "wx", "PagePath": "p", "ThumbUrl": "u"}),
])
async def test_image_and_card_get_a_polite_text(mp, standin, msg_type, extra):
    payload = _json_push("mp-media", msg_type, int(mp.clock()), MsgId=next(_ids), **extra)
    assert await post_json(mp, payload) == (200, "success")
    await wait_until(lambda: standin.texts_to("mp-media"))
    assert "文字" in standin.texts_to("mp-media")[0]


async def test_unknown_type_gets_success_and_nothing_is_sent(mp, standin):
    payload = _json_push("mp-unknown", "hologram", int(mp.clock()), MsgId=next(_ids))
    assert await post_json(mp, payload) == (200, "success")
    await asyncio.sleep(0.2)
    assert standin.texts_to("mp-unknown") == []


async def test_signature_and_echostr(mp):
    query = mp.query()
    resp = await mp.client.get("/miniprogram", params={**query, "echostr": "abc123"})
    assert (resp.status, await resp.text()) == (200, "abc123")
    bad = {**query, "signature": "0" * 40}
    assert (await mp.client.post("/miniprogram", params=bad, data=b"{}")).status == 403


async def test_bad_json_is_400_and_nothing_stored(mp, db_path):
    resp = await mp.client.post("/miniprogram", params=mp.query(), data=b"{not json")
    assert resp.status == 400
    assert rows(db_path, "SELECT COUNT(*) FROM messages") == [(0,)]


async def test_channel_is_off_without_wxa_token(make_wechat, settings):
    wechat = await make_wechat(settings)
    assert (await wechat.client.post("/miniprogram", data=b"{}")).status == 404


async def test_duplicate_push_is_not_answered_twice(mp, standin):
    payload = _json_push("mp-dup", "text", int(mp.clock()), Content="你好", MsgId=next(_ids))
    await post_json(mp, payload)
    await post_json(mp, payload)
    await wait_until(lambda: standin.texts_to("mp-dup"))
    await asyncio.sleep(0.2)
    assert len(standin.texts_to("mp-dup")) == 1


async def test_answers_leave_in_order_and_are_logged_as_out(mp, standin, db_path):
    questions = ["日利率怎么算", "在哪开通", "学生能开吗", "冻结了怎么办"]
    for question in questions:
        await text_json(mp, "mp-order", question)
    await wait_until(lambda: len(standin.texts_to("mp-order")) == len(questions))
    count = "SELECT COUNT(*) FROM deliveries WHERE openid = 'mp-order'"
    await wait_until(lambda: rows(db_path, count) == [(len(questions),)])
    sent = standin.texts_to("mp-order")
    logged = [r[0] for r in rows(db_path, "SELECT content FROM messages WHERE openid = ?"
                                 " AND direction = 'out' ORDER BY id", ("mp-order",))]
    assert sent == logged
    statuses = rows(db_path, "SELECT status FROM deliveries WHERE openid = ?", ("mp-order",))
    assert statuses == [("sent",)] * len(questions)


# -- the sender's error handling --------------------------------------------------------


async def test_token_is_cached_and_shared(mp, standin):
    for n in range(3):
        await text_json(mp, f"mp-cache-{n}", "你好")
    await wait_until(lambda: len(standin.sent) == 3)
    assert standin.token_requests == 1


async def test_token_expiry_in_the_middle_of_a_burst(mp, standin):
    await text_json(mp, "mp-burst-0", "你好")
    await wait_until(lambda: len(standin.sent) == 1)
    standin.expire_tokens()
    await asyncio.gather(*(text_json(mp, f"mp-burst-{n}", "你好") for n in range(1, 8)))
    await wait_until(lambda: len(standin.sent) == 8)
    assert standin.token_requests == 2  # one refresh for the whole burst
    assert sorted(m.touser for m in standin.sent) == sorted(f"mp-burst-{n}" for n in range(8))


async def test_40001_refreshes_once_and_retries(mp, standin):
    await text_json(mp, "mp-40001", "你好")
    await wait_until(lambda: len(standin.sent) == 1)
    standin.expire_tokens()
    await text_json(mp, "mp-40001", "怎么提额")
    await wait_until(lambda: len(standin.sent) == 2)
    assert standin.token_requests == 2


async def test_busy_is_retried_with_backoff(mp, standin, db_path):
    standin.fail_next_sends(-1, times=2)
    started = time.monotonic()
    await text_json(mp, "mp-busy", "你好")
    await wait_until(lambda: standin.texts_to("mp-busy"), timeout=5)
    assert standin.send_attempts == 3
    assert time.monotonic() - started >= 0.2 + 0.4  # two backoff sleeps
    query = "SELECT status FROM deliveries WHERE openid = 'mp-busy'"
    await wait_until(lambda: rows(db_path, query) != [])  # recorded after WeChat answered
    assert rows(db_path, query) == [("sent",)]


@pytest.mark.parametrize("errcode", [45047, 45015])
async def test_window_errors_are_not_retried_and_are_recorded(mp, standin, db_path, errcode):
    standin.fail_next_sends(errcode)
    await text_json(mp, "mp-45047", "你好")
    await wait_until(lambda: rows(db_path, "SELECT COUNT(*) FROM deliveries") == [(1,)])
    await asyncio.sleep(0.1)
    assert standin.send_attempts == 1
    assert rows(db_path, "SELECT status, errcode FROM deliveries") == [("failed", errcode)]


# -- the quota ledger -----------------------------------------------------------------


async def test_quota_ledger_windows(mp_settings, api_base, clock, standin, db_path):
    """5 per user message within 48 h; 2 a minute after entering; none without a window."""
    from aiohttp import ClientSession

    from wxloan.bot.inbound import Inbound, Kind
    from wxloan.bot.outbound import CustomerServiceSender
    from wxloan.bot.wechat_api import WeChatApi
    from wxloan.storage import open_store

    store = await open_store(db_path)
    try:
        async with ClientSession() as http:
            api = WeChatApi(session=http, store=store, api_base=api_base, app_id=WXA_APP_ID,
                            app_secret=WXA_SECRET, clock=clock)
            sender = CustomerServiceSender(api, store, clock)
            assert not await sender.send_text("q-user", "no window", msg_key="k0")
            message = Inbound(openid="q-user", account="gh", kind=Kind.TEXT, msg_type="text",
                              msg_key="k1", create_time=0, text="hi", channel="miniprogram")
            await sender.note_inbound(message, clock())
            results = [await sender.send_text("q-user", f"m{n}", msg_key="k1") for n in range(6)]
            assert results == [True] * 5 + [False]
            enter = Inbound(openid="q-user", account="gh", kind=Kind.EVENT, msg_type="event",
                            msg_key="k2", create_time=0, event="user_enter_tempsession",
                            channel="miniprogram")
            await sender.note_inbound(enter, clock())
            clock.advance(30)
            assert [await sender.send_text("q-user", "e", msg_key="k2") for _ in range(3)] == [
                True, True, False]
            await sender.note_inbound(enter, clock())
            clock.advance(61)  # the enter-session window closed unused
            assert not await sender.send_text("q-user", "late", msg_key="k3")
            await sender.note_inbound(message, clock())
            clock.advance(48 * 3600 + 1)  # the 48-hour window closed too
            assert not await sender.send_text("q-user", "too late", msg_key="k4")
    finally:
        await store.close()
    statuses = [r[0] for r in rows(db_path, "SELECT status FROM deliveries ORDER BY id")]
    assert statuses.count("sent") == 7 and statuses.count("quota") == 5


async def test_official_account_click_and_message_open_windows(make_wechat, mp_settings,
                                                                db_path):
    oa = await make_wechat(mp_settings)
    await oa.event("oa-click", "CLICK", EventKey="ELIGIBILITY")
    await oa.text("oa-click", "没有")
    grants = rows(db_path, "SELECT kind, allowance FROM quota_grants WHERE openid = 'oa-click'"
                           " ORDER BY id")
    assert grants == [("menu_or_subscribe", 3), ("user_message", 5)]


# -- hand-off to a human ----------------------------------------------------------------


async def test_handoff_json_announced_then_transferred_then_back(mp, standin, clock):
    # A mini-program has no online list: the bot says it cannot tell who is online, then
    # transfers the user's next message (handlers/handoff.py).
    status, body = await text_json(mp, "mp-human", "转人工")
    assert (status, body) == (200, "success")
    await wait_until(lambda: standin.texts_to("mp-human"))
    assert "转接人工客服" in standin.texts_to("mp-human")[0]
    assert standin.agent_checks == 0
    status, body = await text_json(mp, "mp-human", "还在吗")
    assert json.loads(body)["MsgType"] == "transfer_customer_service"
    await asyncio.sleep(0.1)
    assert len(standin.texts_to("mp-human")) == 1  # quiet while a person handles it
    clock.advance(31 * 60)
    status, body = await text_json(mp, "mp-human", "你好")
    assert body == "success"
    await wait_until(lambda: len(standin.texts_to("mp-human")) == 2)


async def test_handoff_xml_in_safe_mode(mp, standin):
    asked = message_xml("mp-human-x", "text", int(mp.clock()), Content="人工", MsgId=next(_ids))
    assert (await mp.post(asked, "safe")).body == "success"  # announced through the API
    xml = message_xml("mp-human-x", "text", int(mp.clock()), Content="额度没了",
                      MsgId=next(_ids))
    reply = await mp.post(xml, "safe")
    assert reply.fields["MsgType"] == "transfer_customer_service"
    assert reply.fields["ToUserName"] == "mp-human-x"


async def test_official_account_handoff_and_close_session(make_wechat, mp_settings, standin):
    oa = await make_wechat(mp_settings)
    reply = await oa.text("oa-human", "人工")
    assert reply.fields["MsgType"] == "transfer_customer_service"
    again = await oa.text("oa-human", "在吗")
    assert again.fields["MsgType"] == "transfer_customer_service"
    closed = await oa.event("oa-human", "kf_close_session", KfAccount="kf@gh")
    assert closed.body == "success"
    back = await oa.text("oa-human", "你好")
    assert MENU in back.content


# -- the Official Account deadline fallback -----------------------------------------------


async def test_late_official_account_reply_goes_through_the_api(
    make_wechat, mp_settings, standin, db_path
):
    from dataclasses import replace

    slow = replace(mp_settings, reply_deadline=0.2)
    oa = await make_wechat(slow, router=echo_router(delay=0.6))
    await oa.event("oa-late", "subscribe")  # opens the window a real user would have
    msg_id = next(_ids)
    xml = message_xml("oa-late", "text", int(oa.clock()), Content="慢慢想", MsgId=msg_id)
    assert (await oa.post(xml)).body == "success"  # the deadline's answer (handler: 0.6 s)
    await wait_until(lambda: standin.texts_to("oa-late") == ["慢慢想"])
    retry = await oa.post(xml)
    assert retry.body == "success"  # delivered already: the retry must not repeat it
    await oa.client.app[PIPELINE].drain()
    assert standin.texts_to("oa-late") == ["慢慢想"]
    out = rows(db_path, "SELECT content FROM messages WHERE openid = 'oa-late' AND"
                        " direction = 'out' AND content = '慢慢想'")
    assert len(out) == 1
