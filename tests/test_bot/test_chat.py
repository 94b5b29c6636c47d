"""``wxloan chat`` driven through stdin, ``/save`` output replayed as a conversation test,
and ``wxloan menu push`` against the stand-in WeChat API."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from wxloan.bot.cli import main
from wxloan.bot.simulator.chat import add_arguments, run_chat
from wxloan.bot.standin import StandIn, create_standin_app
from tests.test_conversations import play

ROOT = Path(__file__).resolve().parents[2]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


async def _chat(lines: list[str], *argv: str) -> str:
    out = io.StringIO()
    await run_chat(_args(*argv), stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    return out.getvalue()


async def test_piped_lines_are_answered_with_latency():
    output = await _chat(["你好", "借1万分12期，年利率18%，每月还多少"])
    replies = re.findall(r"bot \((\d+\.\d) ms\)>", output)
    assert len(replies) == 2
    assert "回复数字开始" in output and "916.80" in output


async def test_retry_resends_the_same_message_and_gets_the_same_reply():
    output = await _chat(["1", "/retry"])
    bubbles = [b.strip() for b in re.split(r"bot \([\d.]+ ms\)>", output) if b.strip()]
    assert len(bubbles) == 2 and bubbles[0] == bubbles[1]
    assert "❓你的微信支付分" in bubbles[0]  # the first question, answered first


async def test_commands_send_events_voice_and_images():
    output = await _chat(["/subscribe", "/menu REJECTION", "/voice 怎么提额", "/image", "/quit",
                          "never sent"])
    assert "你好，我是微信借贷助手" in output  # welcome
    assert "被拒" in output  # the rejection flow started
    assert "看不了" in output  # the image
    assert "never sent" not in output


async def test_miniprogram_answers_arrive_through_the_api():
    output = await _chat(["你好"], "--miniprogram")
    assert "[success: no passive reply]" in output
    assert "bot (customer-service API)>" in output and "回复数字开始" in output


async def test_saved_session_runs_as_a_conversation_test(tmp_path, make_wechat, db_path, clock):
    saved = tmp_path / "recorded.yaml"
    await _chat(["/subscribe", "1", "没有", "六百八", "/retry", "是的", "日利率怎么算",
                 f"/save {saved}"], "--mode", "safe")
    script = yaml.safe_load(saved.read_text(encoding="utf-8"))
    assert script["mode"] == "safe"
    assert [next(iter(t)) for t in script["turns"]] == ["event"] + ["send"] * 5
    wechat = await make_wechat()
    await play(script, wechat, db_path, clock, "o_replayed", saved.name)


def test_chat_reads_stdin_as_a_real_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "WXA_", "WXLOAN"))}
    done = subprocess.run(
        [sys.executable, "-m", "wxloan", "chat", "--db", str(tmp_path / "c.db")],
        input="怎么提额\n", capture_output=True, text=True, timeout=60, cwd=ROOT, env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "提额" in done.stdout and " ms)>" in done.stdout


async def test_chat_against_a_running_webhook_by_url(aiohttp_server, settings):
    from wxloan.bot import create_app

    server = await aiohttp_server(create_app(settings))
    output = await _chat(["你好"], "--url", str(server.make_url("/wechat")), "--token",
                         settings.token, "--aes-key", settings.aes_key, "--app-id",
                         settings.app_id)
    assert "回复数字开始" in output


async def test_menu_push_creates_the_menu_through_the_api(aiohttp_server, tmp_path,
                                                          monkeypatch, capsys):
    standin = StandIn(apps={"wxmenu": "menu-secret"})
    server = await aiohttp_server(create_standin_app(standin))
    for name, value in {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "wxmenu",
                        "WECHAT_APP_SECRET": "menu-secret",
                        "WECHAT_API_BASE": str(server.make_url("")).rstrip("/"),
                        "WXLOAN_DB": str(tmp_path / "m.db")}.items():
        monkeypatch.setenv(name, value)
    import asyncio

    code = await asyncio.to_thread(main, ["menu", "push"])
    assert code == 0, capsys.readouterr().err
    keys = [b["key"] for b in standin.menus[0]["button"]]
    assert keys == ["ELIGIBILITY", "REJECTION", "LIMIT_TIPS"]
    assert "menu created" in capsys.readouterr().out
