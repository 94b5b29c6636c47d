"""``wxloan simulate``: the browser simulator's JSON API, its page, and a real browser.

The API tests drive :func:`bot.simulator.web.create_simulator_app` in front of a real
local bot (``local_bot``: a wxloan webhook and a stand-in WeChat API on loopback), so every
message is a signed push over HTTP. The browser test loads the page in headless Debian
Chromium through Playwright and leaves a screenshot in ``tests/artifacts/simulator.png``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from wxloan.bot.simulator import web as simweb
from wxloan.bot.simulator.local import LocalBot, local_bot
from wxloan.bot.simulator.protocol import sign
from wxloan.bot.simulator.remote import remote_webhook
from wxloan.bot.simulator.web import Backend, create_simulator_app, run_simulator
from tests.test_conversations import test_conversation as replay_conversation

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture
async def bot(tmp_path: Path):
    async with local_bot(tmp_path / "sim.db") as running:
        yield running


@pytest.fixture
async def sim(aiohttp_client, bot: LocalBot):
    return await aiohttp_client(await create_simulator_app(bot))


async def new_user(sim) -> str:
    resp = await sim.post("/api/reset", json={})
    assert resp.status == 200
    return str((await resp.json())["openid"])


async def send(sim, openid: str, **payload: Any) -> dict[str, Any]:
    resp = await sim.post("/api/send", json={"openid": openid, **payload})
    data = await resp.json()
    assert resp.status == 200, data
    return dict(data)


# -- the page -------------------------------------------------------------------------


async def test_page_has_the_menu_and_the_controls(sim):
    resp = await sim.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    html = await resp.text()
    for testid in (
        "chat-log",
        "message-input",
        "send-button",
        "menu-ELIGIBILITY",
        "menu-REJECTION",
        "menu-LIMIT_TIPS",
        "mode-select",
        "channel-select",
        "format-select",
        "subscribe-button",
        "image-button",
        "retry-button",
        "reset-button",
        "save-test",
        "openid",
    ):
        assert f'data-testid="{testid}"' in html, testid
    assert "能否开通" in html and "<script>" not in html  # no inline script
    openid = re.search(r'data-openid="([^"]+)"', html)
    assert openid and openid.group(1).startswith("o_sim_")
    for name, kind in (("style.css", "text/css"), ("app.js", "text/javascript")):
        static = await sim.get(f"/static/{name}")
        assert static.status == 200 and static.content_type == kind
    assert (await sim.get("/static/index.html.j2")).status == 404


def test_page_environment_escapes_everything():
    template = simweb.page_environment().from_string("{{ value }}")
    assert template.render(value="<b>&") == "&lt;b&gt;&amp;"


# -- the JSON API ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_official_account_text_gets_the_passive_reply(sim, mode):
    openid = await new_user(sim)
    data = await send(sim, openid, kind="text", text="微粒贷利率多少", mode=mode, channel="oa")
    reply = data["reply"]
    assert reply["kind"] == "text"
    assert "年化利率7.2%–18.25%" in reply["text"]
    assert 0 < reply["latency_ms"] < 4000 and reply["slow"] is False
    assert data["messages"] == [] and data["msg_id"] and data["turns"] == 1


async def test_send_answers_the_exchange_on_the_wire_and_decrypted(sim, bot):
    openid = await new_user(sim)
    data = await send(sim, openid, kind="text", text="微粒贷利率多少", mode="safe")
    request, reply = data["inspect"]["request"], data["inspect"]["reply"]
    query = request["query"]
    assert set(query) == {"timestamp", "nonce", "signature", "encrypt_type", "msg_signature"}
    assert query["signature"] == sign(bot.settings.token, query["timestamp"], query["nonce"])
    assert request["line"].startswith(f"POST {bot.base_url}/wechat?")
    assert f"msg_signature={query['msg_signature']}" in request["line"]
    assert request["encrypted"] is True and request["content_type"] == "text/xml"
    # On the wire only the envelope; decrypted, the message itself.
    assert "<Encrypt>" in request["wire"] and "微粒贷" not in request["wire"]
    assert "<Content><![CDATA[微粒贷利率多少]]></Content>" in request["plain"]
    assert f"<FromUserName><![CDATA[{openid}]]></FromUserName>" in request["plain"]
    assert reply["status"] == 200
    assert "<Encrypt>" in reply["wire"] and "年化利率" not in reply["wire"]
    assert "<MsgType><![CDATA[text]]></MsgType>" in reply["plain"]
    assert "年化利率7.2%–18.25%" in reply["plain"]
    timings = data["inspect"]["timings"]
    assert set(timings) == {"build_ms", "http_ms", "read_ms", "total_ms"}
    assert all(value >= 0 for value in timings.values())
    assert timings["total_ms"] >= timings["http_ms"] > 0


async def test_plain_and_miniprogram_exchanges_are_inspected(sim):
    openid = await new_user(sim)
    plain = (await send(sim, openid, kind="text", text="你好"))["inspect"]
    assert set(plain["request"]["query"]) == {"timestamp", "nonce", "signature"}
    assert plain["request"]["encrypted"] is False
    assert plain["request"]["wire"] == plain["request"]["plain"]
    assert plain["reply"]["wire"] == plain["reply"]["plain"]

    data = await send(sim, openid, kind="text", text="你好", channel="mp", mode="safe",
                      format="json")
    request, reply = data["inspect"]["request"], data["inspect"]["reply"]
    assert "/miniprogram?" in request["line"] and request["content_type"] == "application/json"
    assert json.loads(request["plain"])["Content"] == "你好"
    assert set(json.loads(request["wire"])) == {"ToUserName", "Encrypt"}
    assert reply["wire"] == reply["plain"] == "success"
    # The answer went through the customer-service API: its body is shown too.
    [message] = data["messages"]
    assert json.loads(message["wire"])["text"]["content"] == message["text"]

    again = await send(sim, openid, kind="retry")
    assert json.loads(again["inspect"]["request"]["plain"]) == json.loads(request["plain"])


async def test_menu_click_starts_the_questionnaire(sim):
    openid = await new_user(sim)
    data = await send(sim, openid, kind="click", key="ELIGIBILITY", mode="safe")
    assert data["reply"]["kind"] == "text"
    assert "❓你的微信支付分" in data["reply"]["text"]  # what it depends on, then one question
    data = await send(sim, openid, kind="text", text="七百八", mode="safe")
    assert "记下了：支付分780" in data["reply"]["text"] and "✅ 微粒贷" in data["reply"]["text"]


async def test_subscribe_and_image(sim):
    openid = await new_user(sim)
    welcome = await send(sim, openid, kind="subscribe")
    assert "微信借贷助手" in welcome["reply"]["text"]
    image = await send(sim, openid, kind="image")
    assert image["reply"]["kind"] == "text" and "文字" in image["reply"]["text"]


@pytest.mark.parametrize("data_format", ["json", "xml"])
@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_miniprogram_answer_arrives_through_the_inbox(sim, bot, mode, data_format):
    openid = await new_user(sim)
    data = await send(
        sim, openid, kind="text", text="微粒贷利率多少", channel="mp", mode=mode, format=data_format
    )
    assert data["reply"]["kind"] == "success"  # the HTTP answer carries nothing
    [message] = data["messages"]
    assert message["channel"] == "mp" and message["msgtype"] == "text"
    assert "年化利率7.2%–18.25%" in message["text"]
    assert message["latency_ms"] is not None and message["slow"] is False
    assert bot.standin.texts_to(openid) == [message["text"]]

    resp = await sim.get("/api/inbox", params={"openid": openid, "after": "0"})
    inbox = await resp.json()
    assert [m["text"] for m in inbox["messages"]] == [message["text"]]
    assert inbox["cursor"] == message["index"] + 1
    resp = await sim.get("/api/inbox", params={"openid": openid, "after": inbox["cursor"]})
    assert (await resp.json())["messages"] == []


async def test_miniprogram_enter_session_is_welcomed(sim):
    openid = await new_user(sim)
    data = await send(sim, openid, kind="subscribe", channel="mp", format="json")
    assert data["reply"]["kind"] == "success"
    assert any("微信借贷助手" in m["text"] for m in data["messages"])


async def test_inbox_shows_only_this_users_messages(sim):
    first, second = await new_user(sim), await new_user(sim)
    await send(sim, first, kind="text", text="你好", channel="mp")
    resp = await sim.get("/api/inbox", params={"openid": second, "after": "0"})
    assert (await resp.json())["messages"] == []


async def test_hand_off_note_arrives_through_the_inbox(sim):
    openid = await new_user(sim)
    data = await send(sim, openid, kind="text", text="转人工", mode="safe")
    assert data["reply"]["kind"] == "transfer"
    assert any("人工" in m["text"] for m in data["messages"])


async def test_retry_resends_the_same_msgid_and_gets_the_same_reply(sim, bot):
    openid = await new_user(sim)
    first = await send(sim, openid, kind="text", text="支付分七百二能开通吗", mode="safe")
    again = await send(sim, openid, kind="retry")
    assert again["retry"] is True
    assert again["msg_id"] == first["msg_id"]
    assert again["reply"]["kind"] == "text"
    assert again["reply"]["text"] == first["reply"]["text"]
    assert again["turns"] == first["turns"] == 1  # a retry is not a new turn


async def test_miniprogram_retry_is_answered_once(sim, bot):
    openid = await new_user(sim)
    await send(sim, openid, kind="text", text="你好", channel="mp", mode="safe")
    again = await send(sim, openid, kind="retry")
    assert again["reply"]["kind"] == "success"
    await asyncio.sleep(0.3)
    assert len(bot.standin.texts_to(openid)) == 1


async def test_slow_replies_are_flagged(sim, monkeypatch):
    monkeypatch.setattr(simweb, "SLOW_MS", 0.0)
    openid = await new_user(sim)
    data = await send(sim, openid, kind="text", text="你好")
    assert data["reply"]["slow"] is True
    data = await send(sim, openid, kind="text", text="你好", channel="mp")
    assert all(m["slow"] for m in data["messages"]) and data["messages"]


async def test_transcript_is_a_conversation_test(
    sim, tmp_path, make_wechat, settings, db_path, clock
):
    openid = await new_user(sim)
    await send(sim, openid, kind="subscribe", mode="safe")
    await send(sim, openid, kind="click", key="ELIGIBILITY", mode="safe")
    await send(sim, openid, kind="text", text="七百八", mode="safe")
    await send(sim, openid, kind="retry")
    await send(sim, openid, kind="text", text="没有", channel="mp", format="json")
    await send(sim, openid, kind="image", mode="safe")

    resp = await sim.get("/api/transcript", params={"openid": openid})
    assert resp.status == 200
    assert resp.content_type == "application/x-yaml"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    text = await resp.text()
    script = yaml.safe_load(text)
    assert script["mode"] == "safe"
    turns = script["turns"]
    assert [next(iter(t)) for t in turns] == ["event", "click", "send", "send", "media"]
    assert turns[1] == {
        "click": "ELIGIBILITY",
        "expect": {"contains": [turns[1]["expect"]["contains"][0]]},
    }
    assert "记下了：支付分780" in turns[2]["expect"]["contains"][0]
    assert "记下了：没有逾期" in turns[3]["expect"]["contains"][0]  # the mini-program's API answer

    # The saved file passes as a conversation test, replayed on a fresh webhook.
    saved = tmp_path / "recorded.yaml"
    saved.write_text(text, encoding="utf-8")
    await replay_conversation(saved, make_wechat, settings, db_path, clock)


async def test_reset_starts_a_new_user_with_an_empty_transcript(sim):
    openid = await new_user(sim)
    await send(sim, openid, kind="text", text="你好")
    other = await new_user(sim)
    assert other != openid
    resp = await sim.get("/api/transcript", params={"openid": other})
    assert resp.status == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "dance"},
        {"kind": "text", "text": "   "},
        {"kind": "text", "text": "x" * 2001},
        {"kind": "text", "text": "hi", "mode": "loud"},
        {"kind": "text", "text": "hi", "channel": "sms"},
        {"kind": "text", "text": "hi", "channel": "mp", "format": "csv"},
        {"kind": "click"},
        {"kind": "retry"},
        {"kind": "text", "text": "hi", "openid": "<script>"},
    ],
)
async def test_bad_requests_are_refused(sim, payload):
    body = {"openid": "o_sim_bad", **payload}
    resp = await sim.post("/api/send", json=body)
    assert resp.status == 400
    assert "error" in await resp.json()


async def test_bad_bodies_and_queries_are_refused(sim):
    resp = await sim.post(
        "/api/send", data=b"not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    resp = await sim.post("/api/send", json=["a list"])
    assert resp.status == 400
    resp = await sim.get("/api/inbox", params={"openid": "o_sim_x", "after": "many"})
    assert resp.status == 400


async def test_run_simulator_serves_until_cancelled(tmp_path, capsys):
    task = asyncio.create_task(run_simulator(port=0, db_path=tmp_path / "run.db"))
    url = None
    for _ in range(200):
        await asyncio.sleep(0.05)
        found = re.search(r"http://127\.0\.0\.1:\d+/", capsys.readouterr().out)
        if found:
            url = found.group(0)
            break
    assert url, "run_simulator printed no URL"
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        assert "微信借贷助手" in await resp.text()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stopped_simulator_removes_its_temporary_folder(tmp_path, signum):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "WXA_", "WXLOAN"))}
    env["TMPDIR"] = str(tmp_path)
    with (tmp_path / "stderr.log").open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wxloan", "simulate", "--port", "0", cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )
        try:
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
            found = re.search(r"(http://127\.0\.0\.1:\d+/) .*database (.+?)\); Ctrl-C", line)
            assert found, line + (tmp_path / "stderr.log").read_text()
            folder = Path(found.group(2)).parent
            assert folder.parent == tmp_path and folder.name.startswith("wxloan-sim-")
            async with aiohttp.ClientSession() as session, session.get(found.group(1)) as resp:
                assert resp.status == 200
            assert folder.is_dir() and (folder / "simulator.db").exists()
            proc.send_signal(signum)
            code = await asyncio.wait_for(proc.wait(), 120)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert code == 0, (tmp_path / "stderr.log").read_text()
    assert not folder.exists()
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()


# -- --url: a running wxloan instead of the built-in one -----------------------------


@contextlib.asynccontextmanager
async def remote_sim(aiohttp_client, url: str, **credentials: str):
    """The simulator in front of the running webhook at ``url`` (as ``simulate --url``)."""
    async with remote_webhook(url, **credentials) as (webhook, builder):
        yield await aiohttp_client(await create_simulator_app(Backend.remote(webhook, builder)))


@pytest.fixture
def no_inbox_wait(monkeypatch):
    """Fail at once should the simulator wait for customer-service messages."""

    async def refuse(*_: Any) -> None:
        raise AssertionError("waited for customer-service messages it cannot read")

    monkeypatch.setattr(simweb.Simulator, "wait_inbox", refuse)


async def test_url_mode_drives_a_running_webhook(aiohttp_server, aiohttp_client, settings,
                                                 no_inbox_wait):
    from wxloan.bot import create_app

    server = await aiohttp_server(create_app(settings))
    url = str(server.make_url("/wechat"))
    async with remote_sim(aiohttp_client, url, token=settings.token, aes_key=settings.aes_key,
                          app_id=settings.app_id) as sim:
        html = await (await sim.get("/")).text()
        assert 'data-remote="true"' in html and 'data-testid="remote-note"' in html
        assert re.search(r'<option value="mp"[^>]* disabled>', html)  # one channel: the URL's
        assert re.search(r'<option value="safe" selected>', html)  # the chat's default
        openid = await new_user(sim)
        data = await send(sim, openid, kind="text", text="你好", mode="safe")
        assert data["remote"] is True and "回复数字开始" in data["reply"]["text"]
        request = data["inspect"]["request"]
        assert request["line"].startswith(f"POST {url}?") and request["encrypted"]
        assert request["query"]["signature"] == sign(
            settings.token, request["query"]["timestamp"], request["query"]["nonce"])
        assert "<Encrypt>" in data["inspect"]["reply"]["wire"]
        plain = await send(sim, openid, kind="text", text="你好", mode="plain")
        assert "回复数字开始" in plain["reply"]["text"]
        again = await send(sim, openid, kind="retry")
        assert again["reply"]["text"] == plain["reply"]["text"]

        resp = await sim.post("/api/send", json={"openid": openid, "kind": "text",
                                                 "text": "你好", "channel": "mp"})
        assert resp.status == 400 and "drives only oa" in (await resp.json())["error"]
        inbox = await (await sim.get("/api/inbox", params={"openid": openid})).json()
        assert inbox["messages"] == [] and inbox["cursor"] == 0


async def test_url_mode_miniprogram_answers_are_not_waited_for(aiohttp_server, aiohttp_client,
                                                               db_path, no_inbox_wait):
    from wxloan.bot import Settings, create_app
    from wxloan.bot.simulator.local import random_aes_key
    from wxloan.bot.standin import StandIn, create_standin_app

    standin = StandIn(apps={"wxremotemp": "remote-secret"})
    api = await aiohttp_server(create_standin_app(standin))
    settings = Settings(
        token="oa-token", app_id="wxremoteoa", db_path=db_path, wxa_token="mp-token",
        wxa_app_id="wxremotemp", wxa_app_secret="remote-secret", wxa_aes_key=random_aes_key(),
        api_base=str(api.make_url("")).rstrip("/"),
    )
    server = await aiohttp_server(create_app(settings))
    url = str(server.make_url("/miniprogram"))
    async with remote_sim(aiohttp_client, url, token="mp-token", aes_key=settings.wxa_aes_key,
                          app_id="wxremotemp") as sim:
        html = await (await sim.get("/")).text()
        assert re.search(r'<option value="oa"[^>]* disabled>', html)
        assert re.search(r'<option value="mp" selected>', html)
        openid = await new_user(sim)
        data = await send(sim, openid, kind="text", text="你好", channel="mp", mode="safe",
                          format="json")
        assert data["reply"]["kind"] == "success" and data["messages"] == []
        assert data["remote"] is True and data["turns"] == 1
        assert set(json.loads(data["inspect"]["request"]["wire"])) == {"ToUserName", "Encrypt"}


async def test_url_mode_without_an_aes_key_is_plaintext_only(aiohttp_server, aiohttp_client,
                                                             settings, monkeypatch):
    from wxloan.bot import create_app

    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY", raising=False)
    server = await aiohttp_server(create_app(settings))
    async with remote_sim(aiohttp_client, str(server.make_url("/wechat")),
                          token=settings.token) as sim:
        html = await (await sim.get("/")).text()
        assert re.search(r'<option value="plain" selected>', html)
        assert re.search(r'<option value="safe"[^>]* disabled>', html)
        openid = await new_user(sim)
        resp = await sim.post("/api/send", json={"openid": openid, "kind": "text",
                                                 "text": "你好", "mode": "safe"})
        assert resp.status == 400 and "--aes-key" in (await resp.json())["error"]
        assert "回复数字开始" in (await send(sim, openid, kind="text", text="你好"))["reply"]["text"]


async def test_url_mode_names_a_webhook_it_cannot_reach(aiohttp_client, unused_tcp_port):
    url = f"http://127.0.0.1:{unused_tcp_port}/wechat"
    async with remote_sim(aiohttp_client, url, token="t") as sim:
        openid = await new_user(sim)
        resp = await sim.post("/api/send", json={"openid": openid, "kind": "text", "text": "你好"})
        assert resp.status == 502
        assert "cannot reach" in (await resp.json())["error"]


async def test_url_mode_refuses_what_the_chat_refuses(monkeypatch, tmp_path):
    from wxloan.bot.errors import ConfigError

    monkeypatch.delenv("WECHAT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="--token"):
        await run_simulator(port=0, url="http://127.0.0.1:9/wechat")
    with pytest.raises(ConfigError, match="http://"):
        await run_simulator(port=0, url="ftp://example/wechat", token="t")
    with pytest.raises(ConfigError, match="--db"):
        await run_simulator(port=0, url="http://127.0.0.1:9/wechat", token="t",
                            db_path=tmp_path / "x.db")


def test_simulate_has_the_chats_url_flags():
    from wxloan.bot import cli

    args = cli._parser().parse_args(
        ["simulate", "--port", "0", "--url", "http://h/wechat", "--token", "t", "--aes-key", "k",
         "--app-id", "wx1"])
    assert (args.url, args.token, args.aes_key, args.app_id) == ("http://h/wechat", "t", "k", "wx1")
    assert cli._parser().parse_args(["simulate"]).url is None


# -- a real browser -------------------------------------------------------------------


async def test_browser_session(bot, aiohttp_server, monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (Debian package 'chromium')")
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="the 'playwright' Python package is not installed"
    )
    expect = playwright_api.expect

    server = await aiohttp_server(await create_simulator_app(bot), host="127.0.0.1")
    url = str(server.make_url("/"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 1040, "height": 820}, locale="zh-CN", accept_downloads=True
            )
            page = await context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            await page.goto(url)
            await expect(page.locator("body")).to_have_attribute("data-ready", "true")
            bot_bubbles = page.get_by_test_id("bubble-bot")

            # Official Account, plaintext: a question and its passive reply.
            await page.get_by_test_id("message-input").fill("微粒贷利率多少")
            await page.get_by_test_id("send-button").click()
            await expect(page.get_by_test_id("bubble-user").last).to_have_text("微粒贷利率多少")
            await expect(bot_bubbles).to_have_count(1)
            await expect(bot_bubbles.last).to_contain_text("年化利率7.2%–18.25%")
            await expect(page.get_by_test_id("latency").last).to_contain_text("被动回复")

            # The menu: ELIGIBILITY starts the questionnaire; answer it in safe mode.
            await page.get_by_test_id("menu-ELIGIBILITY").click()
            await expect(bot_bubbles).to_have_count(2)
            await expect(bot_bubbles.last).to_contain_text("你的微信支付分")
            await page.get_by_test_id("mode-select").select_option("safe")
            await page.get_by_test_id("message-input").fill("七百八")
            await page.get_by_test_id("message-input").press("Enter")
            await expect(bot_bubbles).to_have_count(3)
            await expect(bot_bubbles.last).to_contain_text("记下了：支付分780")

            # Mini-program, JSON: the answer comes through the customer-service API.
            await page.get_by_test_id("channel-select").select_option("mp")
            await expect(page.get_by_test_id("format-select")).to_be_enabled()
            await page.get_by_test_id("format-select").select_option("json")
            await expect(page.get_by_test_id("channel-label")).to_contain_text("小程序")
            await page.get_by_test_id("message-input").fill("没有")
            await page.get_by_test_id("send-button").click()
            await expect(bot_bubbles).to_have_count(4)
            await expect(bot_bubbles.last).to_contain_text("记下了：没有逾期")
            await expect(page.get_by_test_id("latency").last).to_contain_text("客服消息接口")
            await expect(page.get_by_test_id("system-note").last).to_contain_text("success")
            await expect(page.get_by_test_id("slow-warning")).to_have_count(0)

            # 保存为测试: the download is the conversation-test YAML.
            save = page.get_by_test_id("save-test")
            await expect(save).to_have_attribute("aria-disabled", "false")
            async with page.expect_download() as download_info:
                await save.click()
            download = await download_info.value
            assert download.suggested_filename.endswith(".yaml")
            script = yaml.safe_load(Path(await download.path()).read_text(encoding="utf-8"))
            assert [next(iter(t)) for t in script["turns"]] == ["send", "click", "send", "send"]
            assert script["turns"][1]["click"] == "ELIGIBILITY"
            assert "记下了：没有逾期" in script["turns"][3]["expect"]["contains"][0]
            assert script["mode"] == "safe"
            await page.screenshot(path=str(ARTIFACTS / "simulator.png"))

            # Nothing the page shows is markup: a reply-like text with tags stays text.
            await page.get_by_test_id("message-input").fill("<b>粗体</b>")
            await page.get_by_test_id("send-button").click()
            await expect(page.get_by_test_id("bubble-user").last).to_have_text("<b>粗体</b>")
            await expect(bot_bubbles).to_have_count(5)

            # A new user: an empty chat, a new openid, nothing to save yet.
            old = await page.get_by_test_id("openid").text_content()
            await page.get_by_test_id("reset-button").click()
            await expect(page.get_by_test_id("openid")).not_to_have_text(old or "")
            await expect(bot_bubbles).to_have_count(0)
            await expect(save).to_have_attribute("aria-disabled", "true")

            # A reply over the limit gets a visible warning under its bubble.
            monkeypatch.setattr(simweb, "SLOW_MS", 0.0)
            await page.get_by_test_id("channel-select").select_option("oa")
            await page.get_by_test_id("subscribe-button").click()
            await expect(bot_bubbles).to_have_count(1)
            await expect(bot_bubbles.last).to_contain_text("微信借贷助手")
            await expect(page.get_by_test_id("slow-warning")).to_be_visible()
            await expect(page.get_by_test_id("slow-warning")).to_contain_text("5 秒")
            await page.screenshot(path=str(ARTIFACTS / "simulator-slow.png"))
            await context.close()
        finally:
            await browser.close()
    assert errors == []
    assert (ARTIFACTS / "simulator.png").stat().st_size > 10_000


@contextlib.asynccontextmanager
async def chromium_page(url: str, errors: list[str], **context_options: Any):
    """A fresh Chromium page at ``url``, ready; page errors and console errors collected."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (Debian package 'chromium')")
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="the 'playwright' Python package is not installed"
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            options = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
            context = await browser.new_context(**{**options, **context_options})
            page = await context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            await page.goto(url)
            await playwright_api.expect(page.locator("body")).to_have_attribute(
                "data-ready", "true"
            )
            yield page
            await context.close()
        finally:
            await browser.close()


async def test_browser_menu_history_and_miniprogram(bot, aiohttp_server):
    from playwright.async_api import expect

    server = await aiohttp_server(await create_simulator_app(bot), host="127.0.0.1")
    errors: list[str] = []
    async with chromium_page(str(server.make_url("/")), errors) as page:
        user_bubbles = page.get_by_test_id("bubble-user")
        bot_bubbles = page.get_by_test_id("bubble-bot")
        box = page.get_by_test_id("message-input")

        # A menu click shows no user bubble, as in WeChat: only the answer appears.
        await page.get_by_test_id("menu-ELIGIBILITY").click()
        await expect(bot_bubbles).to_have_count(1)
        await expect(bot_bubbles.last).to_contain_text("你的微信支付分")
        await expect(user_bubbles).to_have_count(0)

        # ↑/↓ walk the sent messages like a shell's history, back to the draft.
        for text in ("七百八", "怎么提额"):
            await box.fill(text)
            await box.press("Enter")
            await expect(user_bubbles.last).to_have_text(text)
        await expect(bot_bubbles).to_have_count(3)
        await box.fill("草稿")
        await box.press("ArrowUp")
        await expect(box).to_have_value("怎么提额")
        await box.press("ArrowUp")
        await expect(box).to_have_value("七百八")
        await box.press("ArrowUp")  # the oldest stays
        await expect(box).to_have_value("七百八")
        await box.press("ArrowDown")
        await expect(box).to_have_value("怎么提额")
        await box.press("ArrowDown")
        await expect(box).to_have_value("草稿")
        await box.press("ArrowUp")
        await box.press("Enter")  # a recalled message is sent again
        await expect(user_bubbles).to_have_count(3)
        await expect(user_bubbles.last).to_have_text("怎么提额")
        await expect(bot_bubbles).to_have_count(4)

        # The mini-program has no Official Account menu.
        menu = page.get_by_test_id("menu")
        await expect(menu).to_be_visible()
        await page.get_by_test_id("channel-select").select_option("mp")
        await expect(menu).to_be_hidden()
        await page.get_by_test_id("channel-select").select_option("oa")
        await expect(menu).to_be_visible()
    assert errors == []


async def test_browser_inspector_shows_the_wire_and_the_plaintext(bot, aiohttp_server):
    from playwright.async_api import expect

    server = await aiohttp_server(await create_simulator_app(bot), host="127.0.0.1")
    errors: list[str] = []
    async with chromium_page(str(server.make_url("/")), errors) as page:
        box = page.get_by_test_id("message-input")
        await expect(page.get_by_test_id("settings-toggle")).to_be_hidden()  # a wide screen
        await page.get_by_test_id("mode-select").select_option("safe")
        for text, answer in (("微粒贷利率多少", "年化利率7.2%–18.25%"), ("怎么提额", "提额")):
            await box.fill(text)
            await box.press("Enter")
            await expect(page.get_by_test_id("bubble-bot").last).to_contain_text(answer)
        await expect(page.get_by_test_id("exchange-item")).to_have_count(2)

        inspector = page.get_by_test_id("inspector")
        request, reply = page.get_by_test_id("inspector-request"), page.get_by_test_id("reply-plain")
        await expect(request).to_be_hidden()
        await page.get_by_test_id("inspector-toggle").click()
        await expect(request).to_be_visible()
        # The newest exchange is selected: the signed query, the envelope, the plaintext.
        line = page.get_by_test_id("request-line")
        for part in ("POST ", "/wechat?", "timestamp=", "nonce=", "signature=",
                     "encrypt_type=aes", "msg_signature="):
            await expect(line).to_contain_text(part)
        await expect(page.get_by_test_id("request-wire")).to_contain_text("<Encrypt><![CDATA[")
        await expect(page.get_by_test_id("request-wire")).not_to_contain_text("怎么提额")
        await expect(page.get_by_test_id("request-plain")).to_contain_text(
            "<Content><![CDATA[怎么提额]]></Content>"
        )
        await expect(page.get_by_test_id("reply-wire")).to_contain_text("<Encrypt>")
        await expect(reply).to_contain_text("<MsgType><![CDATA[text]]></MsgType>")
        await expect(reply).to_contain_text("提额")
        await expect(page.get_by_test_id("reply-status")).to_have_text("HTTP 200")
        await expect(page.get_by_test_id("timing-http")).to_contain_text(" ms")

        # Clicking an earlier bubble selects its exchange.
        await page.get_by_test_id("bubble-bot").first.click()
        await expect(page.get_by_test_id("request-plain")).to_contain_text("微粒贷利率多少")
        await expect(reply).to_contain_text("年化利率7.2%–18.25%")
        await expect(page.get_by_test_id("exchange-item").first).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(page.get_by_test_id("bubble-user").first).to_have_class(re.compile("selected"))
        await page.screenshot(path=str(ARTIFACTS / "simulator-inspector.png"))
        # ... and so does an entry of the list.
        await page.get_by_test_id("exchange-item").last.click()
        await expect(page.get_by_test_id("request-plain")).to_contain_text("怎么提额")

        # Markup in a message is text in every pane, never HTML.
        await box.fill("<b>粗体</b>")
        await box.press("Enter")
        await expect(page.get_by_test_id("exchange-item")).to_have_count(3)
        await expect(page.get_by_test_id("request-plain")).to_contain_text("<b>粗体</b>")
        await expect(inspector.locator("b")).to_have_count(0)

        # Mini-program: the answer's customer-service API call is shown too.
        await page.get_by_test_id("channel-select").select_option("mp")
        await box.fill("你好")
        await box.press("Enter")
        await expect(page.get_by_test_id("exchange-item")).to_have_count(4)
        await expect(page.get_by_test_id("reply-wire")).to_have_text("success")
        await expect(page.get_by_test_id("api-message")).to_contain_text('"msgtype": "text"')
    assert errors == []


async def test_browser_phone_sized_screen_drops_the_frame(bot, aiohttp_server):
    from playwright.async_api import expect

    server = await aiohttp_server(await create_simulator_app(bot), host="127.0.0.1")
    errors: list[str] = []
    viewport = {"width": 390, "height": 844}
    async with chromium_page(
        str(server.make_url("/")), errors, viewport=viewport, is_mobile=True, has_touch=True
    ) as page:
        phone, panel = page.get_by_test_id("phone"), page.get_by_test_id("panel")
        toggle = page.get_by_test_id("settings-toggle")
        frame = await phone.evaluate(
            "(node) => { const s = getComputedStyle(node);"
            " return [s.borderTopWidth, s.borderRadius, node.getBoundingClientRect().width]; }"
        )
        assert frame == ["0px", "0px", 390]
        await expect(panel).to_be_hidden()
        await expect(page.get_by_test_id("inspector")).to_be_hidden()
        await expect(toggle).to_be_visible()
        await expect(toggle).to_have_attribute("aria-expanded", "false")

        # The settings open over the chat, and close again.
        await toggle.click()
        await expect(panel).to_be_visible()
        await expect(toggle).to_have_attribute("aria-expanded", "true")
        await page.get_by_test_id("mode-select").select_option("safe")
        await page.get_by_test_id("settings-close").click()
        await expect(panel).to_be_hidden()

        box = page.get_by_test_id("message-input")
        await box.fill("微粒贷利率多少")
        await box.press("Enter")
        await expect(page.get_by_test_id("bubble-bot").last).to_contain_text("年化利率")
        await expect(page.get_by_test_id("channel-label")).to_contain_text("安全模式")
        await page.screenshot(path=str(ARTIFACTS / "simulator-phone.png"))
        await toggle.click()
        await expect(page.get_by_test_id("inspector")).to_be_visible()
        await page.get_by_test_id("inspector-toggle").click()
        await expect(page.get_by_test_id("request-wire")).to_contain_text("<Encrypt>")
        await page.screenshot(path=str(ARTIFACTS / "simulator-phone-settings.png"))
    assert errors == []


async def test_browser_url_mode_says_what_it_cannot_read(aiohttp_server, settings):
    from playwright.async_api import expect

    from wxloan.bot import create_app

    webhook = await aiohttp_server(create_app(settings))
    async with remote_webhook(str(webhook.make_url("/wechat")), token=settings.token) as target:
        app = await create_simulator_app(Backend.remote(*target))
        server = await aiohttp_server(app, host="127.0.0.1")
        errors: list[str] = []
        async with chromium_page(str(server.make_url("/")), errors) as page:
            await expect(page.get_by_test_id("remote-note")).to_be_visible()
            await expect(page.get_by_test_id("remote-note")).to_contain_text("读不到")
            await expect(page.get_by_test_id("system-note").first).to_contain_text("读不到")
            await expect(page.get_by_test_id("webhook-url")).to_have_text(
                str(webhook.make_url("/wechat")))
            await expect(page.get_by_test_id("channel-select")).to_be_disabled()
            await expect(page.locator('[data-testid="mode-select"] option[value="safe"]')
                         ).to_be_disabled()
            await page.get_by_test_id("message-input").fill("你好")
            await page.get_by_test_id("message-input").press("Enter")
            await expect(page.get_by_test_id("bubble-bot")).to_contain_text("回复数字开始")
            await page.screenshot(path=str(ARTIFACTS / "simulator-url.png"))
        assert errors == []
