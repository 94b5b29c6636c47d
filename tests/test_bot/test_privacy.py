"""Personal numbers (ID, bank card, mobile) never reach a table, a log line or a reply."""

from __future__ import annotations

import json
import logging

import pytest

from wxloan.handlers.contract import Outcome, Turn
from wxloan.bot.keys import STORE
from wxloan.bot.logs import JsonFormatter
from wxloan.storage import mask_personal_data
from tests.conftest import rows
from tests.wechat import message_xml

from .support import PRIVACY, dump_all_tables, new_msg_id, router_for, say

ID_NUMBER = "11010119900307123X"
CARD = "6222 0200 1234 5678 901"
MOBILE = "13812345678"
MESSAGE = f"我的身份证{ID_NUMBER}，银行卡{CARD}，手机{MOBILE}，想借10000元"

RAW_FORMS = [
    ID_NUMBER,
    ID_NUMBER.lower(),
    ID_NUMBER[:17],
    "19900307",
    CARD,
    CARD.replace(" ", ""),
    "0200 1234 5678",
    "020012345678",
    MOBILE,
    "12345678",
]
MASKED_ID = "110101********123X"
MASKED_CARD = "6222***********8901"
MASKED_MOBILE = "138****5678"


def _assert_no_raw_number(text: str, where: str) -> None:
    for raw in RAW_FORMS:
        assert raw not in text, f"{raw!r} leaked into {where}"


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records) + caplog.text


def _remembering_router(seen: list[str]):
    """A flow that keeps what the user said in its slots and an assessment, and echoes it."""

    async def remember(turn: Turn) -> Outcome:
        seen.append(turn.text)
        return turn.goto(
            "eligibility",
            "income",
            say("你说：" + turn.text),
            slots={"said": turn.text},
            assessment=({"said": turn.text}, {"verdict": turn.text}),
        )

    return router_for(remember)


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_default_dialogue_masks_numbers_everywhere(wechat, db_path, caplog, mode):
    caplog.set_level(logging.DEBUG)
    reply = await wechat.text("user-pii", MESSAGE, mode=mode)
    assert reply.status == 200
    assert PRIVACY in reply.content
    for kind in ("身份证号", "银行卡号", "手机号"):
        assert kind in reply.content
    _assert_no_raw_number(reply.content, "the reply")
    _assert_no_raw_number(dump_all_tables(db_path), "the database")
    _assert_no_raw_number(_log_text(caplog), "the logs")
    [(stored,)] = rows(db_path, "SELECT content FROM messages WHERE direction = 'in'")
    assert stored == f"我的身份证{MASKED_ID}，银行卡{MASKED_CARD}，手机{MASKED_MOBILE}，想借10000元"


async def test_handler_only_ever_sees_masked_text(make_wechat, db_path, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    wechat = await make_wechat(router=_remembering_router(seen))
    reply = await wechat.text("user-pii", MESSAGE)
    assert seen == [f"我的身份证{MASKED_ID}，银行卡{MASKED_CARD}，手机{MASKED_MOBILE}，想借10000元"]
    assert MASKED_MOBILE in reply.content and PRIVACY in reply.content
    _assert_no_raw_number(reply.content, "the reply")
    dump = dump_all_tables(db_path)
    _assert_no_raw_number(dump, "the database")
    assert MASKED_CARD in rows(db_path, "SELECT slots FROM sessions")[0][0]
    assert MASKED_ID in rows(db_path, "SELECT inputs FROM assessments")[0][0]
    assert MASKED_ID in rows(db_path, "SELECT profile FROM users")[0][0]
    _assert_no_raw_number(_log_text(caplog), "the logs")


async def test_voice_recognition_with_numbers_is_masked(make_wechat, db_path):
    seen: list[str] = []
    wechat = await make_wechat(router=_remembering_router(seen))
    xml = message_xml(
        "user-pii",
        "voice",
        int(wechat.clock()),
        MediaId="m",
        Format="amr",
        Recognition=f"我的手机号是{MOBILE}",
        MsgId=new_msg_id(),
    )
    reply = await wechat.post(xml)
    assert reply.status == 200
    assert seen == [f"我的手机号是{MASKED_MOBILE}"]
    _assert_no_raw_number(dump_all_tables(db_path), "the database")


async def test_numbers_in_a_crashing_turn_are_not_logged(make_wechat, db_path, caplog):
    caplog.set_level(logging.DEBUG)

    async def crash(turn: Turn) -> Outcome:
        raise RuntimeError("cannot handle: " + turn.text)

    wechat = await make_wechat(router=router_for(crash))
    reply = await wechat.text("user-pii", MESSAGE)
    assert reply.status == 200
    _assert_no_raw_number(_log_text(caplog), "the logs")
    _assert_no_raw_number(dump_all_tables(db_path), "the database")


async def test_full_width_mobile_never_reaches_the_database(wechat, db_path):
    full_width = "１３８１２３４５６７８"  # what a Chinese IME in full-width mode types
    reply = await wechat.text("user-pii", f"我的手机是{full_width}")
    assert reply.status == 200
    assert full_width not in dump_all_tables(db_path)
    assert PRIVACY in reply.content


async def test_text_without_personal_numbers_gets_no_privacy_notice(wechat, db_path):
    reply = await wechat.text("user-pii", "借10000元分12期，芝麻分650，2024-03-07申请的")
    assert PRIVACY not in reply.content
    assert rows(db_path, "SELECT content FROM messages WHERE direction = 'in'") == [
        ("借10000元分12期，芝麻分650，2024-03-07申请的",)
    ]


async def test_transcript_rows_are_masked(wechat):
    await wechat.text("user-pii", MESSAGE)
    transcript = await wechat.client.app[STORE].transcript("user-pii")
    text = json.dumps(transcript, ensure_ascii=False)
    _assert_no_raw_number(text, "the transcript")
    assert [row["direction"] for row in transcript] == ["in", "out"]


# -- unit: mask_personal_data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked", "kinds"),
    [
        ("身份证11010119900307123X", "身份证110101********123X", {"id"}),
        ("身份证 11010119900307123x 谢谢", "身份证 110101********123x 谢谢", {"id"}),
        ("id 110101199003071234", "id 110101********1234", {"id"}),
        ("身份证110101 19900307 123X", "身份证110101********123X", {"id"}),  # grouped 6-8-4
        ("身份证110101-19900307-123X", "身份证110101********123X", {"id"}),
        ("老身份证110101900307123", "老身份证110101******123", {"id"}),
        ("卡号6222020012345678901", "卡号6222***********8901", {"card"}),
        ("卡号6222 0200 1234 5678 901", "卡号6222***********8901", {"card"}),
        ("卡号 6222-0200-1234-5678", "卡号 6222********5678", {"card"}),
        ("手机13812345678", "手机138****5678", {"mobile"}),
        ("手机138 1234 5678", "手机138****5678", {"mobile"}),
        ("手机138-1234-5678", "手机138****5678", {"mobile"}),
        ("手机138 12345678", "手机138****5678", {"mobile"}),
        ("电话+86 13812345678", "电话138****5678", {"mobile"}),
        ("电话8613812345678", "电话138****5678", {"mobile"}),
        ("13812345678", "138****5678", {"mobile"}),
        ("两个号13812345678和15912345678", "两个号138****5678和159****5678", {"mobile"}),
        (
            MESSAGE,
            f"我的身份证{MASKED_ID}，银行卡{MASKED_CARD}，手机{MASKED_MOBILE}，想借10000元",
            {"id", "card", "mobile"},
        ),
    ],
)
def test_mask_personal_data_masks(text, masked, kinds):
    result = mask_personal_data(text)
    assert result.text == masked
    assert result.kinds == frozenset(kinds)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "我想借10000元",
        "借 50000 分 12 期",
        "额度200000，日利率0.05%",
        "芝麻分650，微信支付分720",
        "2024-03-07申请的，2024年3月7日被拒",
        "20240307",
        "2024-03-07 14:30:00",
        "账单周期 2024-03-07 2024-04-07",
        "年化18.25%，月供916.80元",
        "借12345元分24期",
        "订单号1234567890123",
        "12345678901",  # 11 digits but not a mobile prefix
        "已经脱敏的138****5678",
    ],
)
def test_mask_personal_data_leaves_ordinary_numbers_alone(text):
    result = mask_personal_data(text)
    assert result.text == text
    assert result.kinds == frozenset()


def test_amount_next_to_a_mobile_keeps_the_amount():
    result = mask_personal_data("借10000 13812345678")
    assert result.text == "借10000 138****5678"
    assert result.kinds == frozenset({"mobile"})


@pytest.mark.parametrize(
    ("text", "raw", "kind"),
    [
        (
            "手机１３８１２３４５６７８",
            "１３８１２３４５６７８",
            "mobile",
        ),  # full-width digits (IME)
        ("卡号6222　0200　1234　5678", "6222　0200　1234　5678", "card"),  # ideographic spaces
    ],
)
def test_full_width_input_is_masked_too(text, raw, kind):
    result = mask_personal_data(text)
    assert raw not in result.text
    assert kind in result.kinds


def test_mask_personal_data_is_idempotent():
    once = mask_personal_data(MESSAGE).text
    twice = mask_personal_data(once)
    assert twice.text == once
    assert twice.kinds == frozenset()
