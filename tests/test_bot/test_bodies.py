"""Hostile or broken bodies are refused before anything is parsed or stored."""

from __future__ import annotations

import base64
import logging

import pytest
from wechatpy.crypto import PrpCrypto

from wxloan.handlers.contract import Outcome, Turn
from wxloan.bot.errors import BadRequest
from wxloan.bot.inbound import from_fields
from wxloan.bot.webhook import _parse_json_fields
from tests.wechat import AES_KEY, APP_ID, message_xml, sign

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


# -- QA findings: shapes that crashed the old double parse (a 500) are refused or answered


def _nested(tag: str, depth: int, text: str = "x") -> str:
    return f"<{tag}>" + "<a>" * depth + text + "</a>" * depth + f"</{tag}>"


def _push(openid: str, msg_type: str, when: int, *raw_fields: str, **fields) -> str:
    """``message_xml`` with some fields given as raw XML (nested, odd) instead of text."""
    xml = message_xml(openid, msg_type, when, **fields)
    return xml.replace("</xml>", "".join(raw_fields) + "</xml>")


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("depth", [1, 1000, 2000])
async def test_content_nested_in_elements_is_bad_request(wechat, db_path, depth, mode):
    xml = _push("u-deep", "text", int(wechat.clock()), _nested("Content", depth),
                MsgId=new_msg_id())
    reply = await wechat.post(xml, mode=mode)
    assert reply.status == 400
    assert _nothing_stored(db_path)
    await _still_answers(wechat)


@pytest.mark.parametrize("depth", [1, 1000, 2000])
async def test_recognition_nested_in_elements_is_bad_request(wechat, db_path, depth):
    xml = _push("u-deep", "voice", int(wechat.clock()), _nested("Recognition", depth),
                MediaId="m", Format="amr", MsgId=new_msg_id())
    reply = await wechat.post(xml)
    assert reply.status == 400
    assert _nothing_stored(db_path)


@pytest.mark.parametrize("tag", ["FromUserName", "MsgType", "Event", "EventKey", "MsgId"])
async def test_any_field_read_as_text_holding_elements_is_bad_request(wechat, tag):
    fields = {"FromUserName": "u", "MsgType": "event", "Event": "CLICK", "EventKey": "K",
              "MsgId": "1"}
    raw = "".join(_nested(t, 3) if t == tag else f"<{t}>{v}</{t}>" for t, v in fields.items())
    xml = f"<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime>{raw}</xml>"
    assert (await wechat.post(xml)).status == 400


@pytest.mark.parametrize("content", ["!!!", "/w==", "=", "abc", "中文", ""])
@pytest.mark.parametrize("msg_type", ["device_text", "device_event"])
async def test_device_message_with_bad_base64_is_answered_success(wechat, msg_type, content):
    # The dialogue does not handle device messages: their Content is never decoded, so
    # bad base64 (or base64 of bytes that are not UTF-8, "/w==") cannot fail; the push
    # is answered like any unknown type, so WeChat does not retry it.
    xml = message_xml("u-dev", msg_type, int(wechat.clock()), Event="bind", DeviceType="gh_d",
                      DeviceID="d1", SessionID=1, OpenID="u-dev", Content=content,
                      MsgId=new_msg_id())
    reply = await wechat.post(xml)
    assert (reply.status, reply.body) == (200, "success")


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType>"
        "<Content>caf\xe9</Content></xml>".encode("latin-1"),
        '<?xml version="1.0" encoding="latin-1"?><xml><ToUserName>gh</ToUserName>'
        "<FromUserName>u</FromUserName><MsgType>text</MsgType><Content>\xe9</Content></xml>"
        .encode("latin-1"),
        "<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName><MsgType>text</MsgType>"
        "<Content>你好</Content></xml>".encode("utf-16"),
        b"<xml><ToUserName>gh</ToUserName><FromUserName>u</FromUserName>"
        b"<MsgType>text</MsgType><Content>\xed\xa0\x80</Content></xml>",  # a UTF-8 surrogate
    ],
    ids=["latin-1", "declared-latin-1", "utf-16", "encoded-surrogate"],
)
async def test_body_that_is_not_utf8_is_bad_request(wechat, db_path, body):
    reply = await wechat.post("", body=body)
    assert reply.status == 400
    assert _nothing_stored(db_path)


async def test_encrypted_payload_that_is_not_utf8_is_refused_by_the_decryption(wechat, db_path):
    # wechatpy's PrpCrypto decodes the plaintext as UTF-8 before it checks the AppID, so
    # a payload that is not UTF-8 cannot be told from a wrong key: 403 (bot.security).
    crypto = PrpCrypto(base64.b64decode(AES_KEY + "="))

    async def post_encrypted(plaintext: bytes):
        query = wechat.query()
        encrypt = crypto.encrypt(plaintext, APP_ID).decode()
        query.update(encrypt_type="aes",
                     msg_signature=sign(wechat.token, query["timestamp"], query["nonce"],
                                        encrypt))
        body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        return await wechat.post("", query=query, body=body)

    xml = text_xml("u-enc", "x", int(wechat.clock())).encode()
    assert (await post_encrypted(xml.replace(b"[x]]>", b"[\xff]]>"))).status == 403
    assert _nothing_stored(db_path)
    assert (await post_encrypted(xml)).status == 200  # the same construction, valid UTF-8


async def test_undeclarable_encoding_is_ignored_not_a_crash(make_wechat):
    # An encoding declaration (even an unknown one) is not honoured: the body is UTF-8.
    wechat = await make_wechat(router=echo_router())
    xml = text_xml("u-enc", "你好", int(wechat.clock()))
    reply = await wechat.post('<?xml version="1.0" encoding="no-such-codec"?>' + xml)
    assert (reply.status, reply.content) == (200, "你好")


async def test_duplicated_top_level_tag_is_bad_request(wechat, db_path):
    xml = text_xml("u-dup", "one", int(wechat.clock()))
    xml = xml.replace("</xml>", "<Content><![CDATA[two]]></Content></xml>")
    assert (await wechat.post(xml)).status == 400
    assert _nothing_stored(db_path)


async def test_structured_fields_we_do_not_read_are_fine_unless_absurdly_deep(wechat):
    pics = ("<SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum><![CDATA[1b5f7c]]>"
            "</PicMd5Sum></item></PicList></SendPicsInfo>")
    when = int(wechat.clock())
    xml = _push("u-pic", "event", when, pics, Event="pic_sysphoto", EventKey="6")
    assert (await wechat.post(xml)).status == 200
    deep = _nested("SendPicsInfo", 2000)
    xml = _push("u-pic", "event", when + 1, deep, Event="pic_sysphoto", EventKey="6")
    assert (await wechat.post(xml)).status == 400


@pytest.mark.parametrize("tag", ["FromUserName", "ToUserName", "MsgType", "MsgId", "Event"])
async def test_identity_field_over_128_characters_is_bad_request(wechat, db_path, tag):
    fields = {"ToUserName": "gh", "FromUserName": "u", "MsgType": "event", "Event": "CLICK",
              "MsgId": "1"}
    fields[tag] = "9" * 129
    xml = "<xml>" + "".join(f"<{t}>{v}</{t}>" for t, v in fields.items()) + "</xml>"
    assert (await wechat.post(xml)).status == 400
    assert _nothing_stored(db_path)


async def test_content_attributes_are_ignored_and_edges_stripped(make_wechat):
    wechat = await make_wechat(router=echo_router())
    odd = '<Content lang="zh"><![CDATA[  借一万 \n]]></Content>'
    plain = "<Content><![CDATA[x]]></Content>"
    xml = text_xml("u-attr", "x", int(wechat.clock())).replace(plain, odd)
    reply = await wechat.post(xml)
    assert (reply.status, reply.content) == (200, "借一万")


async def test_a_parser_bug_is_a_logged_400_never_a_500(wechat, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("parser bug")

    monkeypatch.setattr("wxloan.bot.webhook.parse_flat_xml", broken)
    with caplog.at_level(logging.ERROR, logger="wxloan.message"):
        reply = await wechat.post(text_xml("u-bug", "x", int(wechat.clock())))
    assert reply.status == 400
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "unexpected parse failure"
    ]


# -- the JSON (mini-program) parser: the same rules ------------------------------------

_JSON_HEAD = '{"ToUserName": "gh", "FromUserName": "u", "MsgType": "text", '


@pytest.mark.parametrize(
    "body",
    [
        _JSON_HEAD + '"Content": ' + "[" * 5000 + "]" * 5000 + "}",  # RecursionError
        _JSON_HEAD + '"Extra": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}",
        _JSON_HEAD + '"Content": {"a": "b"}}',
        _JSON_HEAD + '"Content": ["x"]}',
        _JSON_HEAD + '"CreateTime": NaN}',
        _JSON_HEAD + '"CreateTime": Infinity}',
        _JSON_HEAD + '"CreateTime": ' + "9" * 5000 + "}",  # over Python's int digit limit
        _JSON_HEAD + '"Content": "a", "Content": "b"}',
        _JSON_HEAD + '"Content": "x\\ud800"}',  # a lone surrogate
        '["not", "an", "object"]',
        _JSON_HEAD.encode("utf-16-le"),
        (_JSON_HEAD + '"Content": "caf\xe9"}').encode("latin-1"),
    ],
    ids=["deep-content", "deep-elsewhere", "object-content", "array-content", "nan",
         "infinity", "huge-int", "duplicate-key", "lone-surrogate", "array", "utf-16",
         "latin-1"],
)
def test_json_parser_refuses_malformed_bodies(body):
    with pytest.raises(BadRequest):
        _parse_json_fields(body.encode() if isinstance(body, str) else body)


def test_json_parser_keeps_scalars_and_drops_other_values():
    fields = _parse_json_fields(
        (_JSON_HEAD + '"Content": "😀 \\ud83d\\ude00", "CreateTime": 1e999, "MsgId": '
         '12345678901234567890, "Flag": true, "Extra": {"deep": [1, 2]}, "Nil": null}').encode()
    )
    assert fields["Content"] == "😀 😀"
    assert fields["CreateTime"] == "inf" and from_fields(fields).create_time == 0
    assert fields["MsgId"] == "12345678901234567890"
    assert not {"Flag", "Extra", "Nil"} & set(fields)
