"""Every message and event type WeChat pushes gets the right answer (default dialogue)."""

from __future__ import annotations

import pytest

from tests.conftest import rows
from tests.wechat import message_xml

from .support import (
    EMPTY_VOICE,
    MEDIA,
    MENU,
    NOT_UNDERSTOOD,
    WELCOME,
    count,
    echo_router,
    new_msg_id,
)


def _voice(openid: str, when: int, recognition: str | None) -> str:
    fields = {"MediaId": "media-voice-1", "Format": "amr", "MsgId": new_msg_id()}
    if recognition is not None:
        fields["Recognition"] = recognition
    return message_xml(openid, "voice", when, **fields)


async def test_text_gets_the_dialogue_reply(wechat, db_path):
    reply = await wechat.text("user-t", "随便聊聊")
    assert reply.status == 200
    assert NOT_UNDERSTOOD in reply.content and MENU in reply.content
    assert reply.fields["FromUserName"] == "gh_test_account"
    assert rows(db_path, "SELECT direction, msg_type, content FROM messages ORDER BY id") == [
        ("in", "text", "随便聊聊"),
        ("out", "text", reply.content),
    ]


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_voice_with_recognition_is_answered_like_that_text(wechat, mode):
    typed = await wechat.text("user-v1", "随便聊聊", mode=mode)
    spoken = await wechat.post(_voice("user-v2", int(wechat.clock()), "随便聊聊"), mode=mode)
    assert spoken.status == 200
    assert spoken.content == typed.content
    assert EMPTY_VOICE not in spoken.content


async def test_voice_recognition_reaches_the_handler_as_text(make_wechat, db_path):
    calls: list[str] = []
    wechat = await make_wechat(router=echo_router(calls=calls))
    reply = await wechat.post(_voice("user-v", int(wechat.clock()), "借一万分十二期"))
    assert reply.content == "借一万分十二期"
    assert calls == ["借一万分十二期"]
    assert rows(db_path, "SELECT msg_type, content FROM messages WHERE direction='in'") == [
        ("voice", "借一万分十二期")
    ]


@pytest.mark.parametrize("recognition", ["", "   ", None])
async def test_voice_without_recognition_asks_for_text(wechat, recognition):
    reply = await wechat.post(_voice("user-v", int(wechat.clock()), recognition))
    assert reply.status == 200
    assert EMPTY_VOICE in reply.content
    assert NOT_UNDERSTOOD not in reply.content


MEDIA_MESSAGES = {
    "image": ("图片", {"PicUrl": "http://mmbiz.example/p.jpg", "MediaId": "m1"}),
    "video": ("视频", {"MediaId": "m2", "ThumbMediaId": "t2"}),
    "shortvideo": ("视频", {"MediaId": "m3", "ThumbMediaId": "t3"}),
    "location": (
        "位置",
        {
            "Location_X": "23.134521",
            "Location_Y": "113.358803",
            "Scale": 20,
            "Label": "广州市天河区",
        },
    ),
    "link": ("链接", {"Title": "标题", "Description": "描述", "Url": "http://example.com/a"}),
    "file": (
        "文件",
        {
            "Title": "a.pdf",
            "Description": "d",
            "FileKey": "k",
            "FileMd5": "0" * 32,
            "FileTotalLen": 1024,
        },
    ),
}


@pytest.mark.parametrize("msg_type", sorted(MEDIA_MESSAGES))
async def test_media_gets_polite_text_only_reply(wechat, db_path, msg_type):
    noun, fields = MEDIA_MESSAGES[msg_type]
    xml = message_xml("user-m", msg_type, int(wechat.clock()), MsgId=new_msg_id(), **fields)
    reply = await wechat.post(xml)
    assert reply.status == 200
    assert MEDIA in reply.content
    assert reply.content.startswith(noun)
    assert rows(db_path, "SELECT msg_type FROM messages WHERE direction='in'") == [(msg_type,)]


@pytest.mark.parametrize(
    ("event", "extra"),
    [
        ("subscribe", {}),
        ("subscribe", {"EventKey": "qrscene_123", "Ticket": "TICKET"}),
        ("SCAN", {"EventKey": "123", "Ticket": "TICKET"}),
    ],
    ids=["subscribe", "subscribe-qrscene", "scan"],
)
async def test_follow_and_scan_get_the_welcome(wechat, event, extra):
    reply = await wechat.event("user-e", event, **extra)
    assert reply.status == 200
    assert WELCOME in reply.content
    assert MENU in reply.content


async def test_subscribe_via_qr_scene_logs_the_scene_id(wechat, db_path):
    await wechat.event("user-e", "subscribe", EventKey="qrscene_123", Ticket="T")
    assert rows(db_path, "SELECT msg_type, content FROM messages WHERE direction='in'") == [
        ("event", "subscribe:123")
    ]


async def test_unsubscribe_answers_success_and_deletes_the_session(wechat, db_path):
    await wechat.text("user-u", "你好")
    assert count(db_path, "sessions", "openid = ?", ("user-u",)) == 1
    reply = await wechat.event("user-u", "unsubscribe")
    assert reply.status == 200
    assert reply.body == "success"
    assert count(db_path, "sessions", "openid = ?", ("user-u",)) == 0


async def test_unsubscribe_leaves_other_users_sessions(wechat, db_path):
    await wechat.text("user-a", "你好")
    await wechat.text("user-b", "你好")
    await wechat.event("user-a", "unsubscribe")
    assert rows(db_path, "SELECT openid FROM sessions") == [("user-b",)]


async def test_click_on_unknown_key_shows_the_menu(wechat):
    reply = await wechat.event("user-c", "CLICK", EventKey="NO_SUCH_BUTTON")
    assert reply.status == 200
    assert MENU in reply.content
    assert WELCOME not in reply.content


@pytest.mark.parametrize(
    ("event", "extra"),
    [
        ("LOCATION", {"Latitude": "23.137466", "Longitude": "113.352425", "Precision": "119.3"}),
        ("VIEW", {"EventKey": "https://example.com/page"}),
        ("TEMPLATESENDJOBFINISH", {"Status": "success"}),
        ("some_future_event", {}),
    ],
)
async def test_other_events_answer_success(wechat, db_path, event, extra):
    reply = await wechat.event("user-o", event, **extra)
    assert reply.status == 200
    assert reply.body == "success"
    # It is still recorded, so a retry is recognised.
    assert count(db_path, "processed") == 1


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_unknown_msg_type_answers_success(wechat, mode):
    xml = message_xml("user-x", "hologram", int(wechat.clock()), MsgId=new_msg_id(), Data="?")
    reply = await wechat.post(xml, mode=mode)
    assert reply.status == 200
    assert reply.body == "success"


async def test_message_without_sender_is_bad_request(wechat, db_path):
    xml = (
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x]]></Content></xml>"
    )
    reply = await wechat.post(xml)
    assert reply.status == 400
    assert count(db_path, "messages") == 0
