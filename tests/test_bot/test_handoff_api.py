"""The hand-off end to end: a real signed push, a real app, the stand-in WeChat API.

Before transferring, the bot asks ``customservice/getonlinekflist``; what the stand-in
answers (agents online, nobody, an error) decides what the user is told. The
``kf_create_session`` / ``kf_close_session`` events arrive as WeChat sends them.
"""

from __future__ import annotations

import aiohttp
import pytest

from wxloan.bot import Settings
from wxloan.bot.standin import StandIn, create_standin_app
from wxloan.bot.wechat_api import ApiError, OnlineAgents, WeChatApi
from wxloan.handlers.handoff import HANDOFF_SECONDS, PICKUP_SECONDS
from wxloan.storage import open_store
from tests.conftest import rows
from tests.test_bot.support import MENU, wait_until
from tests.wechat import AES_KEY, APP_ID, TOKEN, WeChat

OA_SECRET = "oa-secret-handoff"
TRANSFER = "transfer_customer_service"


@pytest.fixture
def standin(clock) -> StandIn:
    return StandIn(apps={APP_ID: OA_SECRET}, clock=clock)


@pytest.fixture
async def api_base(aiohttp_server, standin) -> str:
    server = await aiohttp_server(create_standin_app(standin))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def oa_settings(db_path, api_base) -> Settings:
    """An Official Account with an AppSecret: the bot can ask who is online."""
    return Settings(token=TOKEN, app_id=APP_ID, app_secret=OA_SECRET, aes_key=AES_KEY,
                    db_path=db_path, api_base=api_base, expose_templates=True)


@pytest.fixture
async def oa(make_wechat, oa_settings) -> WeChat:
    return await make_wechat(oa_settings)


def session_flow(db_path, openid: str) -> str | None:
    found = rows(db_path, "SELECT flow FROM sessions WHERE openid = ?", (openid,))
    return found[0][0] if found else None


# -- what the online list decides --------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_agents_online_transfer_at_once_with_a_note(oa, standin, db_path, mode):
    standin.set_agents_online(2)
    reply = await oa.text("u-online", "转人工", mode)
    assert reply.fields["MsgType"] == TRANSFER
    assert reply.templates == ("human_handoff",)
    assert standin.agent_checks == 1
    await wait_until(lambda: bool(standin.texts_to("u-online")))
    note = standin.texts_to("u-online")[0]
    assert "转接人工客服" in note and "回到机器人" in note
    assert session_flow(db_path, "u-online") == "handoff"


async def test_nobody_online_says_so_and_the_bot_stays(oa, standin, db_path):
    standin.set_agents_online(0)
    reply = await oa.text("u-nobody", "转人工")
    assert reply.fields["MsgType"] == "text"
    assert reply.templates == ("handoff_nobody", "menu")
    assert "没有人工客服在线" in reply.content and MENU in reply.content
    assert standin.agent_checks == 1
    assert session_flow(db_path, "u-nobody") is None
    assert standin.texts_to("u-nobody") == []  # nothing pushed: the reply said it all


@pytest.mark.parametrize("errcode", [48001, -1, 40001])
async def test_an_api_error_means_cannot_tell(oa, standin, db_path, errcode):
    """Refused (48001 unauthorised), busy after every retry, or the token never valid."""
    standin.fail_agent_checks(errcode)
    reply = await oa.text("u-error", "转人工")
    assert reply.fields["MsgType"] == "text"  # told first, in the reply itself
    assert reply.templates == ("handoff_unsure",)
    assert "看不到现在有没有客服在线" in reply.content
    assert session_flow(db_path, "u-error") == "handoff"
    question = await oa.text("u-error", "我的额度怎么没了")
    assert question.fields["MsgType"] == TRANSFER


async def test_a_refused_token_means_cannot_tell(make_wechat, oa_settings, standin):
    oa = await make_wechat(oa_settings.with_overrides(app_secret="not-the-secret"))
    reply = await oa.text("u-token", "转人工")
    assert reply.templates == ("handoff_unsure",)
    assert standin.agent_checks == 0


async def test_without_an_app_secret_the_bot_cannot_tell_and_never_calls(make_wechat,
                                                                          oa_settings,
                                                                          standin):
    oa = await make_wechat(oa_settings.with_overrides(app_secret=""))
    reply = await oa.text("u-nosecret", "转人工")
    assert reply.fields["MsgType"] == "text" and reply.templates == ("handoff_unsure",)
    assert standin.agent_checks == 0 and standin.token_requests == 0


async def test_a_bot_identity_question_asks_nobody_and_transfers_nothing(oa, standin):
    reply = await oa.text("u-bot", "你是机器人吗")
    assert reply.fields["MsgType"] == "text" and reply.templates == ("bot_identity",)
    assert standin.agent_checks == 0


# -- after the transfer: WeChat's session events, and nobody picking up -----------------


async def test_the_agent_session_events_parse_and_steer_the_hand_off(oa, standin, clock,
                                                                     db_path):
    await oa.text("u-agent", "转人工")
    created = await oa.event("u-agent", "kf_create_session", KfAccount="kf0@standin")
    assert created.body == "success"
    clock.advance(PICKUP_SECONDS + 60)  # past the pick-up wait: the agent has it
    during = await oa.text("u-agent", "好的，我说一下情况")
    assert during.fields["MsgType"] == TRANSFER
    closed = await oa.event("u-agent", "kf_close_session", KfAccount="kf0@standin")
    assert closed.body == "success"
    assert session_flow(db_path, "u-agent") is None
    back = await oa.text("u-agent", "你好")
    assert back.fields["MsgType"] == "text" and MENU in back.content


async def test_nobody_picking_up_brings_the_bot_back(oa, standin, clock, db_path):
    await oa.text("u-wait", "转人工")
    waiting = await oa.text("u-wait", "有人吗")
    assert waiting.fields["MsgType"] == TRANSFER
    clock.advance(PICKUP_SECONDS)
    reply = await oa.text("u-wait", "日利率多少")
    assert reply.fields["MsgType"] == "text"
    assert reply.templates == ("handoff_timeout", "faq_rates")
    assert session_flow(db_path, "u-wait") is None


async def test_back_to_the_bot_at_once(oa, standin, db_path):
    await oa.text("u-back", "转人工")
    reply = await oa.text("u-back", "回到机器人")
    assert reply.fields["MsgType"] == "text" and reply.templates == ("handoff_ended",)
    assert session_flow(db_path, "u-back") is None


async def test_the_window_still_ends_after_thirty_minutes(oa, standin, clock):
    await oa.text("u-window", "转人工")
    await oa.event("u-window", "kf_create_session", KfAccount="kf0@standin")
    clock.advance(HANDOFF_SECONDS)
    reply = await oa.text("u-window", "你好")
    assert reply.fields["MsgType"] == "text" and MENU in reply.content


# -- the directory itself ----------------------------------------------------------------


async def test_the_directory_cannot_tell_before_it_is_bound_or_for_another_channel():
    directory = OnlineAgents("official_account")
    assert await directory.online_count("official_account") is None
    assert await directory.online_count("miniprogram") is None


async def test_the_client_reads_the_online_list(standin, api_base, db_path, clock):
    """getonlinekflist over GET with the token: counted, refreshed, refused, per channel."""
    standin.set_agents_online(3)
    store = await open_store(db_path)
    try:
        async with aiohttp.ClientSession() as http:
            api = WeChatApi(session=http, store=store, api_base=api_base, app_id=APP_ID,
                            app_secret=OA_SECRET, clock=clock)
            assert await api.online_agents() == 3
            standin.expire_tokens()  # 40001: refreshed once, asked again
            assert await api.online_agents() == 3 and standin.token_requests == 2
            standin.fail_agent_checks(48001)
            with pytest.raises(ApiError, match="48001"):
                await api.online_agents()
            directory = OnlineAgents("official_account")
            directory.bind(api)
            assert await directory.online_count("official_account") is None
            standin.fail_agent_checks(None)
            standin.set_agents_online(0)
            assert await directory.online_count("official_account") == 0
            assert await directory.online_count("miniprogram") is None
            directory.bind(None)
            assert await directory.online_count("official_account") is None
    finally:
        await store.close()
