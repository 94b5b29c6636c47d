"""Signatures, the three encryption modes, key rotation, the replay window and /healthz."""

from __future__ import annotations

import base64
import os

import pytest
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto

from wxloan.bot import Settings
from wxloan.bot.keys import STORE
from tests.conftest import rows
from tests.wechat import AES_KEY, APP_ID, OLD_AES_KEY, TOKEN, message_xml, sign

from .support import MENU, NOT_UNDERSTOOD, count, echo_router, new_msg_id, text_xml


def _nothing_stored(db_path) -> bool:
    return count(db_path, "messages") == 0 and count(db_path, "processed") == 0


def _random_aes_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()[:-1]  # 43 chars, like the console's


# -- GET: URL verification ---------------------------------------------------------------


async def test_get_with_valid_signature_echoes_echostr(wechat):
    resp = await wechat.client.get("/wechat", params={**wechat.query(), "echostr": "e8231XyZ"})
    assert resp.status == 200
    assert await resp.text() == "e8231XyZ"


async def test_get_with_bad_signature_is_forbidden(wechat):
    query = {**wechat.query(), "echostr": "e8231XyZ"}
    query["signature"] = sign("wrong-token", query["timestamp"], query["nonce"])
    resp = await wechat.client.get("/wechat", params=query)
    assert resp.status == 403
    assert "e8231XyZ" not in await resp.text()


async def test_get_with_missing_signature_is_forbidden(wechat):
    query = {**wechat.query(), "echostr": "e8231XyZ"}
    del query["signature"]
    resp = await wechat.client.get("/wechat", params=query)
    assert resp.status == 403
    assert "e8231XyZ" not in await resp.text()


async def test_get_with_valid_signature_but_no_echostr_is_refused(wechat):
    resp = await wechat.client.get("/wechat", params=wechat.query())
    assert resp.status == 400


async def test_get_signed_for_other_nonce_is_forbidden(wechat):
    query = {**wechat.query(), "echostr": "abc"}
    query["nonce"] = query["nonce"] + "1"
    resp = await wechat.client.get("/wechat", params=query)
    assert resp.status == 403


# -- POST: signatures ----------------------------------------------------------------------


async def test_post_with_bad_signature_is_forbidden_and_nothing_stored(wechat, db_path):
    query, body = wechat.build(text_xml("user-sig", "你好", int(wechat.clock())))
    query["signature"] = "0" * 40
    resp = await wechat.client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 403
    assert _nothing_stored(db_path)


async def test_post_with_missing_signature_is_forbidden_and_nothing_stored(wechat, db_path):
    query, body = wechat.build(text_xml("user-sig", "你好", int(wechat.clock())))
    del query["signature"]
    resp = await wechat.client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 403
    assert _nothing_stored(db_path)


async def test_post_signed_with_another_token_is_forbidden(wechat, db_path):
    wechat.token = "somebody-elses-token"
    reply = await wechat.text("user-sig", "你好")
    assert reply.status == 403
    assert _nothing_stored(db_path)


async def test_post_with_valid_signature_is_answered_and_stored(wechat, db_path):
    reply = await wechat.text("user-sig", "你好")
    assert reply.status == 200
    assert count(db_path, "messages", "direction = 'in'") == 1
    assert count(db_path, "processed") == 1


# -- the three modes -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_reply_comes_back_in_the_mode_of_the_request(wechat, db_path, mode):
    reply = await wechat.text("user-mode", "随便聊聊", mode=mode)
    assert reply.status == 200
    assert NOT_UNDERSTOOD in reply.content and MENU in reply.content
    assert reply.fields["ToUserName"] == "user-mode"
    assert reply.fields["MsgType"] == "text"
    if mode == "plain":
        assert "<Encrypt>" not in reply.body
        assert reply.body == reply.xml
    else:
        # Encrypted envelope only: the plaintext must not be readable on the wire.
        assert "<Encrypt>" in reply.body and "<MsgSignature>" in reply.body
        assert NOT_UNDERSTOOD not in reply.body
    assert rows(db_path, "SELECT content FROM messages WHERE direction = 'in'") == [("随便聊聊",)]


async def test_compat_mode_trusts_the_encrypted_copy_not_the_plaintext_fields(make_wechat):
    wechat = await make_wechat(router=echo_router())
    now = int(wechat.clock())
    msg_id = new_msg_id()
    genuine = text_xml("user-compat", "加密里的内容", now, msg_id)
    query, body = wechat.build(genuine, mode="compat")
    forged = body.replace("加密里的内容", "明文里伪造的内容")
    assert forged != body
    reply = await wechat.post(genuine, mode="compat", query=query, body=forged.encode())
    assert reply.status == 200
    assert reply.content == "加密里的内容"


@pytest.mark.parametrize("mode", ["compat", "safe"])
async def test_wrong_msg_signature_is_forbidden(wechat, db_path, mode):
    xml = text_xml("user-msgsig", "你好", int(wechat.clock()))
    query, body = wechat.build(xml, mode=mode)
    query["msg_signature"] = sign(TOKEN, query["timestamp"], query["nonce"], "other-ciphertext")
    reply = await wechat.post(xml, mode=mode, query=query, body=body.encode())
    assert reply.status == 403
    assert _nothing_stored(db_path)


@pytest.mark.parametrize("mode", ["compat", "safe"])
async def test_missing_msg_signature_is_forbidden(wechat, db_path, mode):
    xml = text_xml("user-msgsig", "你好", int(wechat.clock()))
    query, body = wechat.build(xml, mode=mode)
    del query["msg_signature"]
    reply = await wechat.post(xml, mode=mode, query=query, body=body.encode())
    assert reply.status == 403
    assert _nothing_stored(db_path)


async def test_encrypted_message_to_app_without_aes_key_is_forbidden(make_wechat, db_path):
    wechat = await make_wechat(Settings(token=TOKEN, db_path=db_path))
    reply = await wechat.text("user-nokey", "你好", mode="safe")
    assert reply.status == 403
    assert _nothing_stored(db_path)
    # ...while plaintext still works on that app.
    assert (await wechat.text("user-nokey", "你好")).status == 200


async def test_message_encrypted_with_unconfigured_key_is_forbidden(wechat, db_path):
    # The default app has only AES_KEY; OLD_AES_KEY is not configured there.
    xml = text_xml("user-oldkey", "你好", int(wechat.clock()))
    reply = await wechat.post(xml, mode="safe", aes_key=OLD_AES_KEY)
    assert reply.status == 403
    assert _nothing_stored(db_path)


# -- key rotation ------------------------------------------------------------------------


@pytest.fixture
def rotating_settings(db_path):
    return Settings(
        token=TOKEN,
        app_id=APP_ID,
        aes_key=AES_KEY,
        aes_key_previous=OLD_AES_KEY,
        db_path=db_path,
    )


@pytest.mark.parametrize("mode", ["compat", "safe"])
async def test_message_under_previous_key_is_answered_with_previous_key(
    make_wechat, rotating_settings, mode
):
    wechat = await make_wechat(rotating_settings)
    xml = text_xml("user-rot", "你好", int(wechat.clock()))
    # post() decrypts the reply with OLD_AES_KEY and verifies its MsgSignature.
    reply = await wechat.post(xml, mode=mode, aes_key=OLD_AES_KEY)
    assert reply.status == 200
    assert MENU in reply.content


async def test_reply_under_previous_key_cannot_be_read_with_current_key(
    make_wechat, rotating_settings
):
    wechat = await make_wechat(rotating_settings)
    xml = text_xml("user-rot", "你好", int(wechat.clock()))
    query, body = wechat.build(xml, mode="safe", aes_key=OLD_AES_KEY)
    resp = await wechat.client.post("/wechat", params=query, data=body.encode())
    assert resp.status == 200
    text = await resp.text()
    envelope = fromstring(text.encode())
    args = (
        envelope.find("MsgSignature").text,
        envelope.find("TimeStamp").text,
        envelope.find("Nonce").text,
    )
    plain = WeChatCrypto(TOKEN, OLD_AES_KEY, APP_ID).decrypt_message(text, *args)
    assert MENU in plain
    with pytest.raises(Exception):  # noqa: B017 - wechatpy raises various errors on a wrong key
        WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(text, *args)


async def test_message_under_current_key_still_works_during_rotation(
    make_wechat, rotating_settings
):
    wechat = await make_wechat(rotating_settings)
    reply = await wechat.text("user-rot", "你好", mode="safe")
    assert reply.status == 200
    assert MENU in reply.content


async def test_message_under_unknown_third_key_is_forbidden(
    make_wechat, rotating_settings, db_path
):
    wechat = await make_wechat(rotating_settings)
    for _ in range(20):  # a fresh random key (and random IV) each time: no lucky pass
        xml = text_xml("user-rot", "你好", int(wechat.clock()))
        reply = await wechat.post(xml, mode="safe", aes_key=_random_aes_key())
        assert reply.status == 403
    assert _nothing_stored(db_path)


async def test_message_for_another_app_id_is_forbidden(wechat, db_path):
    wechat.app_id = "wx_some_other_app"
    reply = await wechat.text("user-appid", "你好", mode="safe")
    assert reply.status == 403
    assert _nothing_stored(db_path)


# -- replay window -------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-301, 301, -3600])
async def test_timestamp_outside_replay_window_is_forbidden(wechat, db_path, offset):
    now = int(wechat.clock())
    xml = text_xml("user-replay", "你好", now)
    reply = await wechat.post(xml, timestamp=now + offset)
    assert reply.status == 403
    assert _nothing_stored(db_path)


@pytest.mark.parametrize("offset", [-299, 0, 299])
async def test_timestamp_inside_replay_window_is_accepted(wechat, offset):
    now = int(wechat.clock())
    reply = await wechat.post(text_xml("user-replay", "你好", now), timestamp=now + offset)
    assert reply.status == 200


async def test_replay_window_applies_to_url_verification(wechat):
    query = wechat.query(timestamp=int(wechat.clock()) - 1000)
    resp = await wechat.client.get("/wechat", params={**query, "echostr": "x1"})
    assert resp.status == 403


async def test_replay_window_follows_the_app_clock(wechat, clock):
    stamp = int(clock())
    xml = text_xml("user-replay", "你好", stamp)
    clock.advance(400)  # the request was signed 400 s ago by the app's clock
    assert (await wechat.post(xml, timestamp=stamp)).status == 403


async def test_replay_window_is_configurable(make_wechat, settings):
    wechat = await make_wechat(settings.with_overrides(replay_window=10.0))
    now = int(wechat.clock())
    assert (await wechat.post(text_xml("u", "你好", now), timestamp=now - 11)).status == 403
    assert (await wechat.post(text_xml("u", "你好", now), timestamp=now - 9)).status == 200


@pytest.mark.parametrize("bad", ["", "abc", "-5", "1e9", "99999999999999"])
async def test_malformed_timestamp_is_forbidden(wechat, bad):
    query = {"timestamp": bad, "nonce": "123", "signature": sign(TOKEN, bad, "123")}
    xml = message_xml("u", "text", int(wechat.clock()), Content="hi", MsgId=new_msg_id())
    resp = await wechat.client.post("/wechat", params=query, data=xml.encode())
    assert resp.status == 403


# -- health --------------------------------------------------------------------------------


async def test_healthz_reports_status_and_database(wechat):
    resp = await wechat.client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["in_flight"] == 0


async def test_healthz_reports_a_broken_database(wechat):
    await wechat.client.app[STORE].close()  # the database went away
    resp = await wechat.client.get("/healthz")
    assert resp.status == 503
    body = await resp.json()
    assert body["status"] != "ok"
    assert body["database"] == "error"


async def test_healthz_needs_no_signature_but_wechat_does(wechat):
    assert (await wechat.client.get("/healthz")).status == 200
    assert (await wechat.client.get("/wechat", params={"echostr": "x"})).status == 403
